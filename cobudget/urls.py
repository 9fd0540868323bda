from django.urls import path
from rest_framework.routers import SimpleRouter

from . import (
    api,
    bucket_actions,
    delegation_api,
    delegation_views,
    flag_api,
    redistribution_pages,
    template_api,
    template_views,
    views,
)

collective_urlpatterns = [
    path("cobudget/", views.round_list, name="cobudget_rounds"),
    path("cobudget/new/", views.round_edit, name="cobudget_round_new"),
    path("cobudget/<int:round_id>/", views.round_detail, name="cobudget_round"),
    path("cobudget/<int:round_id>/live/", views.round_live, name="cobudget_round_live"),
    path("cobudget/<int:round_id>/edit/", views.round_edit, name="cobudget_round_edit"),
    path("cobudget/<int:round_id>/open/", views.round_open, name="cobudget_round_open"),
    path("cobudget/<int:round_id>/close/", views.round_close, name="cobudget_round_close"),
    path("cobudget/<int:round_id>/close-first-window/", redistribution_pages.round_close_first_window,
         name="cobudget_round_close_first"),
    path("cobudget/<int:round_id>/results/", views.round_results, name="cobudget_round_results"),
    path("cobudget/<int:round_id>/delegation/", delegation_views.round_delegate, name="cobudget_round_delegate"),
    path("cobudget/<int:round_id>/delegation/revoke/", delegation_views.round_delegation_revoke,
         name="cobudget_round_delegation_revoke"),
    path("cobudget/<int:round_id>/buckets/new/", views.bucket_edit, name="cobudget_bucket_new"),
    path("cobudget/buckets/<int:bucket_id>/", views.bucket_detail, name="cobudget_bucket"),
    path("cobudget/buckets/<int:bucket_id>/image/", views.bucket_image, name="cobudget_bucket_image"),
    path("cobudget/buckets/<int:bucket_id>/edit/", views.bucket_edit, name="cobudget_bucket_edit"),
    path("cobudget/buckets/<int:bucket_id>/allocate/", bucket_actions.bucket_allocate, name="cobudget_bucket_allocate"),
    path("cobudget/buckets/<int:bucket_id>/support/", bucket_actions.bucket_support, name="cobudget_bucket_support"),
    path("cobudget/buckets/<int:bucket_id>/support/withdraw/", bucket_actions.bucket_support_withdraw,
         name="cobudget_bucket_support_withdraw"),
    path("cobudget/buckets/<int:bucket_id>/action/<slug:name>/", bucket_actions.bucket_action,
         name="cobudget_bucket_action"),
    path("cobudget/buckets/<int:bucket_id>/comment/", bucket_actions.bucket_comment, name="cobudget_bucket_comment"),
    path("cobudget/buckets/<int:bucket_id>/flag/", bucket_actions.bucket_flag, name="cobudget_bucket_flag"),
    path("cobudget/flags/<int:bucket_flag_id>/resolve/", bucket_actions.bucket_flag_resolve,
         name="cobudget_flag_resolve"),
    path("cobudget/buckets/<int:bucket_id>/envelope/", bucket_actions.bucket_envelope, name="cobudget_bucket_envelope"),
    path("cobudget/templates/", template_views.template_list, name="cobudget_templates"),
    path("cobudget/<int:round_id>/save-as-template/", template_views.template_save,
         name="cobudget_round_save_template"),
    path("cobudget/templates/<int:round_template_id>/", template_views.template_edit, name="cobudget_template"),
    path("cobudget/templates/<int:round_template_id>/run/", template_views.template_run,
         name="cobudget_template_run"),
    path("cobudget/templates/<int:round_template_id>/delete/", template_views.template_delete,
         name="cobudget_template_delete"),
    path("cobudget/buckets/<int:bucket_id>/carry-over/", template_views.bucket_carry_over,
         name="cobudget_bucket_carry_over"),
]

_router = SimpleRouter()
_router.register("rounds", api.RoundViewSet, basename="api-cobudget-rounds")
_router.register("buckets", api.BucketViewSet, basename="api-cobudget-buckets")
api_urlpatterns = [
    path("buckets/<int:bucket_id>/flags/", flag_api.BucketFlagViewSet.as_view({"get": "list"}),
         name="api-cobudget-bucket-flags"),
    path("flags/<int:bucket_flag_id>/resolve/", flag_api.BucketFlagViewSet.as_view({"post": "resolve_flag"}),
         name="api-cobudget-flag-resolve"),
    path("rounds/<int:round_id>/delegation/", delegation_api.RoundDelegationViewSet.as_view(
        {"get": "retrieve", "post": "create", "delete": "destroy"}), name="api-cobudget-round-delegation"),
    path("round-templates/", template_api.RoundTemplateViewSet.as_view({"get": "list", "post": "create"}),
         name="api-cobudget-round-templates"),
    path("round-templates/<int:round_template_id>/", template_api.RoundTemplateViewSet.as_view(
        {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}), name="api-cobudget-round-template"),
    path("round-templates/<int:round_template_id>/run/", template_api.RoundTemplateViewSet.as_view(
        {"post": "run"}), name="api-cobudget-round-template-run"),
    path("buckets/<int:bucket_id>/carry-over/", template_api.BucketCarryOverViewSet.as_view({"post": "carry_over"}),
         name="api-cobudget-bucket-carry-over"),
    *_router.urls,
]
