from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api, closing_views, earnings_views, views

collective_urlpatterns = [
    path("contributions/", views.contribution_list, name="contribution_list"),
    path("contributions/new/", views.contribution_declare, name="contribution_declare"),
    path("contributions/validate/", views.contributions_validate, name="contributions_validate"),
    path("contributions/<int:contribution_id>/", views.contribution_detail, name="contribution_detail"),
    path("contributions/<int:contribution_id>/attachment/", views.contribution_attachment,
         name="contribution_attachment"),
    path("contributions/<int:contribution_id>/question/", views.contribution_question, name="contribution_question"),
    path("contributions/<int:contribution_id>/amend/", views.contribution_amend, name="contribution_amend"),
    path("contributions/<int:contribution_id>/withdraw/", views.contribution_withdraw, name="contribution_withdraw"),
    path("contributions/<int:contribution_id>/validate/", views.contribution_validate, name="contribution_validate"),
    path("contributions/<int:contribution_id>/adjust/", views.contribution_adjust, name="contribution_adjust"),
    path("contributions/<int:contribution_id>/reject/", views.contribution_reject, name="contribution_reject"),
    path("periods/<int:period_id>/", views.period_detail, name="period_detail"),
    path("periods/<int:period_id>/close/", closing_views.period_close, name="period_close"),
    path("periods/<int:period_id>/decision/", closing_views.period_decision, name="period_decision"),
]

_router = SimpleRouter()
_router.register("contributions", api.ContributionViewSet, basename="api-contributions")
api_urlpatterns = [
    *_router.urls,
    path("periods/<int:period_id>/close/", api.PeriodCloseViewSet.as_view({"post": "close"}), name="api-period-close"),
]

# Mounted outside /c/ and /api/v1/collectives/ by the URL root: a person's own pages.
me_urlpatterns = [
    path("me/earnings/", earnings_views.my_earnings, name="earnings"),
]
me_api_urlpatterns = [
    path("me/earnings/", earnings_views.EarningsView.as_view(), name="api-earnings"),
]
