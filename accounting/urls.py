from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api, documents, views
from .incoming import api as incoming_api
from .incoming import views as incoming_views

collective_urlpatterns = [
    path("accounting/", views.index, name="accounting_index"),
    path("accounting/exports/", views.export_create, name="accounting_export_create"),
    path("accounting/exports/list/", views.exports_list, name="accounting_exports_list"),
    path("accounting/exports/<int:export_id>/download/", views.export_download, name="accounting_export_download"),
    path("accounting/exports/<int:export_id>/retry/", views.export_retry, name="accounting_export_retry"),
    path("accounting/chart/", views.chart, name="accounting_chart"),
    path("accounting/periods/<int:period_id>/lock/", views.period_lock, name="accounting_period_lock"),
    path("accounting/statements/person/", views.personal_statement, name="accounting_personal_statement"),
    path("accounting/bank-statement/", views.bank_statement, name="accounting_bank_statement"),
    path("fundings/import/", incoming_views.funding_import_upload, name="funding_import_upload"),
    path("fundings/import/<int:funding_import_id>/", incoming_views.funding_import_detail,
         name="funding_import_detail"),
]

_router = SimpleRouter()
_router.register("exports", api.ExportViewSet, basename="api-export")

api_urlpatterns = [
    *_router.urls,
    path("accounting/bank-statement/", api.BankStatementViewSet.as_view({"post": "upload"}),
         name="api-bank-statement"),
    path("fundings/imports/", incoming_api.FundingImportViewSet.as_view({"post": "create"}),
         name="api-funding-imports"),
    path("fundings/imports/<int:funding_import_id>/", incoming_api.FundingImportViewSet.as_view({"get": "retrieve"}),
         name="api-funding-import"),
    path("fundings/imports/<int:funding_import_id>/apply/", incoming_api.FundingImportViewSet.as_view(
        {"post": "apply"}), name="api-funding-import-apply"),
    path("periods/<int:period_id>/lock/", api.PeriodLockViewSet.as_view({"post": "lock"}), name="api-period-lock"),
    path("periods/<int:period_id>/statement.pdf", documents.DocumentViewSet.as_view({"get": "period_statement"}),
         name="api-period-statement"),
    path("members/<int:membership_id>/statement.pdf",
         documents.DocumentViewSet.as_view({"get": "personal_statement"}), name="api-member-statement"),
    path("rounds/<int:round_id>/results.pdf", documents.DocumentViewSet.as_view({"get": "round_results"}),
         name="api-round-results"),
    path("documents/<int:issued_document_id>.pdf", documents.DocumentViewSet.as_view({"get": "rebuild"}),
         name="api-document"),
]
