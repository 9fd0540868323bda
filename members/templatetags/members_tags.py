import re
from datetime import date, datetime
from decimal import Decimal

from django import template
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from members.selectors import audit_action_label
from members.selectors import role_labels as _role_labels

register = template.Library()


@register.filter
def role_labels(roles) -> str:
    """["coordinator", "member"] -> "coordinator, member" in the active language."""
    return ", ".join(_role_labels(roles or []))


@register.filter
def audit_action(action: str) -> str:
    return audit_action_label(action)


@register.filter
def audit_values(value) -> list[tuple[str, object]]:
    """An audit before/after snapshot as (field, value) pairs, lists joined."""
    if value is None:
        return []
    items = value.items() if isinstance(value, dict) else [("", value)]
    return [(key, _audit_value(v)) for key, v in items]


_DECIMAL = re.compile(r"-?\d+\.\d+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*")


def _audit_value(value) -> object:
    """A recorded value in the reader's language: amounts "1 234,50", dates and times in the local format."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(str(_audit_value(item)) for item in value)
    if not isinstance(value, str):
        return value
    if _DECIMAL.fullmatch(value):
        places = len(value.split(".")[1])
        return formats.number_format(Decimal(value), places, use_l10n=True, force_grouping=True)
    if _DATE.fullmatch(value):
        return formats.date_format(date.fromisoformat(value), "SHORT_DATE_FORMAT")
    if _DATETIME.fullmatch(value):
        moment = datetime.fromisoformat(value)
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return formats.date_format(moment, "SHORT_DATETIME_FORMAT")
    return value
