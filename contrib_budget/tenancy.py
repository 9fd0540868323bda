"""The collective named in the URL is resolved once per request, here.

A person who is not a member of the collective gets 404 for every page and
endpoint under it (its existence is not disclosed); a member lacking the role
gets 403.
"""

from collections.abc import Callable
from contextvars import ContextVar, Token
from functools import wraps
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.apps import apps
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.utils import timezone

from . import scopes
from .prepared import Prepared
from .scopes import every_collective

URL_KWARG = "collective_slug"
ADMIN_PATH = "/admin/"

ViewFunction = Callable[..., HttpResponseBase]


class CollectiveRequest(HttpRequest):
    """A request for a collective page, once the middleware has resolved it. Both are instances of models the
    kernel does not import (members.Collective and settings.TENANCY_MEMBERSHIP_MODEL), hence Any."""

    collective: Any
    membership: Any
    # Given back when the request ends (contrib_budget.scopes, and the membership the request remembers).
    collective_scope_token: "Token[scopes.Scope]"
    membership_token: "Token[Any]"


def membership_model() -> type[Any]:
    """The model that says who belongs to which collective with which roles, named in the settings as
    AUTH_USER_MODEL names the user: the kernel sits below the app that defines it and does not import it."""
    return apps.get_model(settings.TENANCY_MEMBERSHIP_MODEL)


# The membership the current request was let in with (set by CollectiveMiddleware and the API's mixin, given
# back when the request ends), so that the permission checks of the services it calls read the person's roles
# from it instead of asking the database again (contrib_budget.permissions.roles_of).
_request_membership: ContextVar[Any] = ContextVar("request_membership", default=None)


def remember_membership(membership: Any) -> "Token[Any]":
    return _request_membership.set(membership)


def forget_membership(token: "Token[Any]") -> None:
    _request_membership.reset(token)


def known_membership(*, collective_id: int, user_id: int) -> Any | None:
    """The current request's membership if it is this person's in this collective, else None."""
    membership = _request_membership.get()
    if membership is not None and (membership.collective_id, membership.user_id) == (collective_id, user_id):
        return membership
    return None


def membership_saved(sender: type[Any], instance: Any, **kwargs: Any) -> None:
    """A request that changes its own person's membership reads their new roles from then on."""
    if known_membership(collective_id=instance.collective_id, user_id=instance.user_id) is not None:
        _request_membership.set(instance)


def membership_deleted(sender: type[Any], instance: Any, **kwargs: Any) -> None:
    if known_membership(collective_id=instance.collective_id, user_id=instance.user_id) is not None:
        _request_membership.set(None)


# Prepared (contrib_budget.prepared): every page of a collective runs it, and compiling it cost more than running it.
_MEMBERSHIP_BY_SLUG = Prepared(lambda slug, user_id: (
    membership_model().objects.select_related("collective").filter(collective__slug=slug, user_id=user_id)
))


def membership_for(user: AbstractBaseUser | AnonymousUser, slug: str) -> Any:
    if not user.is_authenticated:
        raise Http404
    with every_collective():  # which collective the person may enter is what this finds out
        found = _MEMBERSHIP_BY_SLUG.rows(slug=slug, user_id=user.pk)
    if not found:
        raise Http404
    membership = found[0]
    membership.user = user  # the request has loaded them already
    return membership


def collective_object_or_404(request: Any, queryset: Any, pk: Any) -> Any:
    """The object `pk` of `queryset` (rows of the request's collective), or 404; told the collective the request
    has already loaded, so what reads it through the object (a currency, a slug) does not load it again."""
    found = get_object_or_404(queryset, pk=pk)
    found.collective = request.collective
    return found


class CollectiveMiddleware:
    """Sets request.collective and request.membership for collective pages, in the collective's time zone and
    scope (contrib_budget.scopes): a request starts in no scope at all, so a page that is not a collective's
    reads collective data only where it says it reads across the person's collectives.

    API views resolve the collective themselves (contrib_budget.api), after
    DRF has authenticated the request by token or session.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        # The admin site (staff only: it checks before it reads) looks after every collective.
        unscoped = scopes.enter(scopes.EVERY if request.path.startswith(ADMIN_PATH) else None)
        try:
            return self.get_response(request)
        finally:
            scoped = getattr(request, "collective_scope_token", None)
            if scoped is not None:
                scopes.leave(scoped)
                forget_membership(cast(CollectiveRequest, request).membership_token)  # set with the scope's
            scopes.leave(unscoped)
            timezone.deactivate()

    def process_view(self, request: CollectiveRequest, view_func: ViewFunction, view_args: tuple[Any, ...],
                     view_kwargs: dict[str, Any]) -> HttpResponseBase | None:
        slug = view_kwargs.get(URL_KWARG)
        if slug is None or request.path.startswith("/api/"):
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        request.membership = membership_for(request.user, slug)
        request.collective = request.membership.collective
        request.collective_scope_token = scopes.enter(request.collective.pk)
        request.membership_token = remember_membership(request.membership)
        timezone.activate(ZoneInfo(request.collective.timezone))
        return None


def role_required(*roles: str) -> Callable[[ViewFunction], ViewFunction]:
    """Page decorator: the member must hold at least one of `roles`."""

    def decorator(view: ViewFunction) -> ViewFunction:
        @wraps(view)
        def wrapped(request: CollectiveRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.membership.has_role(*roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
