"""API conventions shared by every app: errors, pagination, tenancy, roles, and the fields that parse what
people send (text without control characters and bounded, dates in a sane window, strings never coerced)."""

import copy
from typing import ClassVar

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions, pagination, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from contrib_budget import dates, scopes, tenancy, text
from contrib_budget.errors import DomainError
from contrib_budget.parsers import RequestTooLarge


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
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, SuspiciousOperation):
        # Too many fields or files, a malformed multipart body…: the request is refused, not the server.
        exc = exceptions.ParseError()
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


def not_found(request, exception=None):
    """The project's 404 handler (`handler404`). Under /api/ a path that names nothing, such as an id that is not a
    number or a slug with characters no slug has, answers in the API's error shape like the API's other 404s;
    pages keep the 404 page."""
    if request.path.startswith("/api/"):
        detail = exceptions.NotFound.default_detail
        return JsonResponse({"detail": str(detail), "code": exceptions.NotFound.default_code, "fields": {}},
                            status=404)
    return defaults.page_not_found(request, exception)


class CollectiveScopeMixin:
    """An API view whose request, once it knows its collective, reads inside that collective's scope."""

    def enter_collective_scope(self, collective, membership=None) -> None:
        """The rest of the request reads inside the collective's scope (contrib_budget.scopes) and, given the
        membership it was let in with, reads the person's roles from it (contrib_budget.tenancy)."""
        self.scope_token = scopes.enter(collective.pk)
        self.membership_token = tenancy.remember_membership(membership)

    def finalize_response(self, request, response, *args, **kwargs):
        token = getattr(self, "scope_token", None)
        if token is not None:
            scopes.leave(token)
            tenancy.forget_membership(self.membership_token)
            self.scope_token = None
        return super().finalize_response(request, response, *args, **kwargs)


class CollectiveScopedMixin(CollectiveScopeMixin):
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
        # A token's authentication may have read the membership with it (members.authentication).
        found = getattr(request.successful_authenticator, "membership", None)
        membership = found if found is not None else tenancy.membership_for(request.user, slug)
        request.membership = membership
        request.collective = membership.collective
        return membership

    def initial(self, request, *args, **kwargs):
        self.perform_authentication(request)
        membership = self.resolve(request, kwargs[tenancy.URL_KWARG])
        self.collective = membership.collective
        self.membership = membership
        self.enter_collective_scope(self.collective, membership)
        super().initial(request, *args, **kwargs)
        roles = self.roles_by_action.get(getattr(self, "action", None), self.required_roles)
        if roles and not membership.has_role(*roles):
            raise exceptions.PermissionDenied()


# ---------------------------------------------------------------------------
# Fields for what people send. Every app's serializers use these (or `ModelSerializer` below, which maps
# model fields onto them), so the rules of contrib_budget.text and contrib_budget.dates hold at the door.

class StrictCharField(serializers.CharField):
    """A string: a number or a boolean is refused, not turned into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class SingleLineField(text.TextField, StrictCharField):
    """A name, title, source or reference: one line, no control character, SINGLE_LINE_MAX at most by default."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                self.check_text(data)
            except DjangoValidationError as error:
                raise serializers.ValidationError(error.messages, code=error.code) from None
        return super().to_internal_value(data)


class MultiLineField(SingleLineField):
    """A description, comment, reason or guideline: line breaks and tabs allowed, MULTI_LINE_MAX by default."""

    multi_line = True
    default_max_length = text.MULTI_LINE_MAX


class StrictSlugField(serializers.SlugField, StrictCharField):
    pass


class StrictEmailField(serializers.EmailField, StrictCharField):
    pass


class DecimalField(serializers.DecimalField):
    """An amount: an empty string is refused, not read as null (JSON sends null for no amount; an empty field
    of an HTML form or multipart body still means none, as DRF reads it before this check)."""

    def validate_empty_values(self, data):
        if isinstance(data, str) and not data.strip():
            self.fail("invalid")
        return super().validate_empty_values(data)


class DateField(serializers.DateField):
    """A date between dates.EARLIEST and dates.LATEST."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(dates.validate_date_window)


class DateTimeField(serializers.DateTimeField):
    """A date and time between dates.EARLIEST and dates.LATEST."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators.append(dates.validate_date_window)


# Model fields become the fields above: CharField single-line, TextField multi-line, dates in the window.
# (A comment, not a docstring: the OpenAPI schema would show it as the description of every serializer.)
class ModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: SingleLineField,
        models.TextField: MultiLineField,
        models.SlugField: StrictSlugField,
        models.EmailField: StrictEmailField,
        models.DecimalField: DecimalField,
        models.DateField: DateField,
        models.DateTimeField: DateTimeField,
    }
    # The fields a model serializer builds from its model depend on its class alone, and building them (the
    # model's fields, relations and constraints read again) costs about a millisecond a serializer, a request's
    # largest share of DRF. Each class builds them once; every serializer gets its own copy, as DRF copies the
    # declared fields.
    _fields_built: ClassVar[dict[type, dict[str, serializers.Field]]] = {}

    def get_fields(self) -> dict[str, serializers.Field]:
        built = self._fields_built.get(type(self))
        if built is None:
            built = self._fields_built[type(self)] = super().get_fields()
        return copy.deepcopy(built)
