"""API conventions shared by every app: errors, pagination, tenancy, roles."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from contrib_budget import tenancy
from contrib_budget.errors import DomainError


class Pagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


def _first_code(codes) -> str:
    if isinstance(codes, dict):
        return next((_first_code(v) for v in codes.values()), "invalid")
    if isinstance(codes, list):
        return _first_code(codes[0]) if codes else "invalid"
    return str(codes)


def exception_handler(exc, context):
    """Every error has one shape: {"detail", "code", "fields"} (fields is {} when none apply)."""
    if isinstance(exc, DomainError):
        body = {"detail": exc.message, "code": exc.code, "fields": exc.fields}
        return Response(body, status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        non_field = fields.get("non_field_errors")
        response.data = {
            "detail": str(non_field[0]) if non_field else str(_("Invalid input.")),
            "code": _first_code(exc.get_codes()),
            "fields": fields,
        }
    else:
        response.data = {"detail": str(exc.detail), "code": _first_code(exc.get_codes()), "fields": {}}
    return response


class CollectiveScopedMixin:
    """Resolves the collective of `/api/v1/collectives/<collective_slug>/…` once.

    Non-members get 404. Set `required_roles` (any of them grants access) or
    `roles_by_action` (per viewset action) to restrict further; lacking the
    role gives 403.
    """

    required_roles: tuple[str, ...] = ()
    roles_by_action: dict[str, tuple[str, ...]] = {}

    @staticmethod
    def resolve(request, slug: str):
        if not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        membership = tenancy.membership_for(request.user, slug)
        request.membership = membership
        request.collective = membership.collective
        return membership

    def initial(self, request, *args, **kwargs):
        self.perform_authentication(request)
        membership = self.resolve(request, kwargs[tenancy.URL_KWARG])
        self.collective = membership.collective
        self.membership = membership
        super().initial(request, *args, **kwargs)
        roles = self.roles_by_action.get(getattr(self, "action", None), self.required_roles)
        if roles and not membership.has_role(*roles):
            raise exceptions.PermissionDenied()

