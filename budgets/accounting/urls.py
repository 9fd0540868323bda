from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api, documents, views

collective_urlpatterns = [
    path("accounting/", views.index, name="accounting_index"),
    path("accounting/exports/", views.export_create, name="accounting_export_create"),
    path("accounting/exports/list/", views.exports_list, name="accounting_exports_list"),
    path("accounting/exports/<int:export_id>/download/", views.export_download, name="accounting_export_download"),
    path("accounting/chart/", views.chart, name="accounting_chart"),
    path("accounting/periods/<int:period_id>/lock/", views.period_lock, name="accounting_period_lock"),
]

_router = SimpleRouter()
_router.register("exports", api.ExportViewSet, basename="api-export")

api_urlpatterns = [
    *_router.urls,
    path("periods/<int:period_id>/lock/", api.PeriodLockView.as_view(), name="api-period-lock"),
    path("periods/<int:period_id>/statement.pdf", documents.PeriodStatementView.as_view(),
         name="api-period-statement"),
    path("members/<int:membership_id>/statement.pdf", documents.PersonalStatementView.as_view(),
         name="api-member-statement"),
    path("documents/<int:document_id>.pdf", documents.IssuedDocumentView.as_view(), name="api-document"),
]
