from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api, bank_api, bank_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("collectives/new/", views.collective_create, name="collective_create"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("invitations/<str:token>/decline/", views.invitation_decline, name="invitation_decline"),
    path("settings/", views.settings_index, name="settings"),
    path("settings/tokens/", views.tokens, name="tokens"),
    path("settings/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]

collective_urlpatterns = [
    path("", views.collective_dashboard, name="collective_dashboard"),
    path("settings/", views.collective_settings, name="collective_settings"),
    path("me/bank-details/", bank_views.bank_details, name="bank_details"),
    path("members/", views.members, name="members"),
    path("members/invite/", views.member_invite, name="member_invite"),
    path("members/search/", views.member_search, name="member_search"),
    path("members/<int:membership_id>/roles/", views.membership_roles, name="membership_roles"),
    path("members/<int:membership_id>/remove/", views.membership_remove, name="membership_remove"),
    path("invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("audit/", views.audit_log, name="audit_log"),
    path("audit/csv/", views.audit_log_csv, name="audit_log_csv"),
    path("audit/people/", views.audit_people, name="audit_people"),
]

api_root_urlpatterns = [
    path("auth/token/", api.ObtainTokenView.as_view(), name="api-token"),
    path("collectives/", api.CollectiveViewSet.as_view({"get": "list", "post": "create"}), name="api-collectives"),
    path(
        "collectives/<slug:collective_slug>/",
        api.CollectiveViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="api-collective",
    ),
    path("me/invitations/", api.MyInvitationViewSet.as_view({"get": "list"}), name="api-my-invitations"),
    path("me/invitations/<int:pk>/accept/", api.MyInvitationViewSet.as_view({"post": "accept"}),
         name="api-my-invitation-accept"),
    path("me/invitations/<int:pk>/decline/", api.MyInvitationViewSet.as_view({"post": "decline"}),
         name="api-my-invitation-decline"),
]

_collective_router = SimpleRouter()
_collective_router.register("members", api.MemberViewSet, basename="api-members")
api_urlpatterns = [
    *_collective_router.urls,
    path("me/bank-details/", bank_api.MyBankDetailsView.as_view(), name="api-my-bank-details"),
    path("members/<int:membership_id>/bank-details/", bank_api.MemberBankDetailsViewSet.as_view({"get": "retrieve"}),
         name="api-member-bank-details"),
]
