"""One exception hierarchy for business rules; the API and pages translate it."""

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from . import dates, text

_Value = TypeVar("_Value")


class DomainError(Exception):
    """A business rule refused the action. Nothing was written."""

    status_code = 400
    default_code = "invalid"

    def __init__(self, message: str, code: str | None = None, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.fields = fields or {}


class Forbidden(DomainError):
    status_code = 403
    default_code = "forbidden"


class NotFound(DomainError):
    status_code = 404
    default_code = "not_found"


class Conflict(DomainError):
    status_code = 409
    default_code = "conflict"


def checked(field: str, value: _Value, *validators: Callable[[_Value], None]) -> _Value:
    """`value`, once every validator accepts it; otherwise a DomainError naming `field`.

    For what a service receives from a person outside a model's full_clean, e.g.
    `checked("source", source, text.single_line(150))` or `checked("paid_on", paid_on, dates.validate_date_window)`.
    """
    for validator in validators:
        try:
            validator(value)
        except ValidationError as error:
            raise DomainError(error.messages[0], error.code or "invalid", fields={field: error.messages}) from None
    return value


def input_errors(instance: models.Model, exclude: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """What a person typed into `instance` that the kernel's input rules refuse, by field: control characters
    (CharField: single line; TextField: multi-line, MULTI_LINE_MAX at most) and dates outside the sane window."""
    errors: dict[str, list[str]] = {}
    for field in instance._meta.concrete_fields:
        if field.name in exclude or not field.editable or field.choices:
            continue
        value = field.value_from_object(instance)
        if value in (None, ""):
            continue
        validator: Callable[[Any], None]
        if isinstance(field, models.TextField):
            validator = text.multi_line(field.max_length or text.MULTI_LINE_MAX)
        elif isinstance(field, models.CharField):
            validator = text.validate_single_line
        elif isinstance(field, models.DateField):  # DateTimeField included
            validator = dates.validate_date_window
        else:
            continue
        try:
            validator(value)
        except ValidationError as error:
            errors[field.name] = error.messages
    return errors


def validated_or_raise(instance: models.Model, exclude: tuple[str, ...] = (), *, validate_unique: bool = True) -> None:
    """Run the model's own validation (`full_clean`) and the kernel's input rules (`input_errors`);
    a DomainError naming the faulty fields if either fails."""
    errors = input_errors(instance, exclude)
    try:
        instance.full_clean(exclude=list(exclude), validate_unique=validate_unique)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, messages)
    if errors:
        raise DomainError(_("Please correct the highlighted fields."), "invalid", fields=errors)
