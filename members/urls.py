from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api, views

urlpatterns = [
    path("", views.home, name="home"),
]

collective_urlpatterns = [
    path("", views.collective_dashboard, name="collective_dashboard"),
]

api_root_urlpatterns = [
    path("auth/token/", api.ObtainTokenView.as_view(), name="api-token"),
    path("collectives/", api.CollectiveViewSet.as_view({"get": "list", "post": "create"}), name="api-collectives"),
    path(
        "collectives/<slug:collective_slug>/",
        api.CollectiveViewSet.as_view({"get": "retrieve", "patch": "partial_update"}),
        name="api-collective",
    ),
]

_collective_router = SimpleRouter()
_collective_router.register("members", api.MemberViewSet, basename="api-members")
api_urlpatterns = _collective_router.urls
