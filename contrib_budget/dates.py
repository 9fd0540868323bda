"""The dates a person may type: within a sane window, the same for the API, the pages and the services.

Year 1 or 9999 is a typing mistake, and dates that far out overflow date arithmetic (periods, time zones).
"""

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)


def in_window(value: date | datetime) -> bool:
    day = value.date() if isinstance(value, datetime) else value
    return EARLIEST <= day <= LATEST


def validate_date_window(value) -> None:
    """Refuse a date (or date and time) outside EARLIEST…LATEST."""
    if value is None:
        return
    if not isinstance(value, date) or not in_window(value):
        raise ValidationError(
            _("Choose a date between %(earliest)s and %(latest)s."), code="date_out_of_range",
            params={"earliest": date_format(EARLIEST), "latest": date_format(LATEST)},
        )
