"""The collective named in the URL is resolved once per request, here.

A person who is not a member of the collective gets 404 for every page and
endpoint under it (its existence is not disclosed); a member lacking the role
gets 403.
"""

from functools import wraps
from zoneinfo import ZoneInfo

from django.apps import apps
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

URL_KWARG = "collective_slug"


def membership_model():
    """The model that says who belongs to which collective with which roles, named in the settings as
    AUTH_USER_MODEL names the user: the kernel sits below the app that defines it and does not import it."""
    return apps.get_model(settings.TENANCY_MEMBERSHIP_MODEL)


def membership_for(user, slug: str):
    if not user.is_authenticated:
        raise Http404
    Membership = membership_model()
    try:
        return Membership.objects.select_related("collective", "user").get(
            collective__slug=slug, user=user
        )
    except Membership.DoesNotExist:
        raise Http404 from None


class CollectiveMiddleware:
    """Sets request.collective and request.membership for collective pages, in the collective's time zone.

    API views resolve the collective themselves (contrib_budget.api), after
    DRF has authenticated the request by token or session.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    def process_view(self, request, view_func, view_args, view_kwargs):
        slug = view_kwargs.get(URL_KWARG)
        if slug is None or request.path.startswith("/api/"):
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        request.membership = membership_for(request.user, slug)
        request.collective = request.membership.collective
        timezone.activate(ZoneInfo(request.collective.timezone))
        return None


def role_required(*roles: str):
    """Page decorator: the member must hold at least one of `roles`."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.membership.has_role(*roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
