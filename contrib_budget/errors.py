"""One exception hierarchy for business rules; the API and pages translate it."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class DomainError(Exception):
    """A business rule refused the action. Nothing was written."""

    status_code = 400
    default_code = "invalid"

    def __init__(self, message: str, code: str | None = None, fields: dict | None = None):
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


def validated_or_raise(instance, exclude: tuple[str, ...] = ()) -> None:
    """Run the model's own validation (`full_clean`); a DomainError naming the faulty fields if it fails."""
    try:
        instance.full_clean(exclude=list(exclude))
    except ValidationError as error:
        raise DomainError(_("Please correct the highlighted fields."), "invalid", fields=error.message_dict) from None
