from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounting import urls as accounting_urls
from budgets import urls as budgets_urls
from cobudget import urls as cobudget_urls
from contributions import urls as contributions_urls
from members import urls as members_urls
from members.notifications import urls as notifications_urls

APPS = (members_urls, notifications_urls, budgets_urls, contributions_urls, cobudget_urls, accounting_urls)

collective_pages = [pattern for app in APPS for pattern in app.collective_urlpatterns]
collective_api = [pattern for app in APPS for pattern in app.api_urlpatterns]

api_v1 = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    *members_urls.api_root_urlpatterns,
    *contributions_urls.me_api_urlpatterns,
    *notifications_urls.me_api_urlpatterns,
    path("collectives/<slug:collective_slug>/", include(collective_api)),
]

handler404 = "contrib_budget.api.not_found"
# A lost database answers 503 wherever the request met it (contrib_budget/unavailable.py).
handler400 = "contrib_budget.unavailable.bad_request"
handler500 = "contrib_budget.unavailable.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include(api_v1)),
    path("c/<slug:collective_slug>/", include(collective_pages)),
    *members_urls.urlpatterns,
    *contributions_urls.me_urlpatterns,
    *notifications_urls.urlpatterns,
]
