"""The kinds of notification (their codes are the API's contract) and how each is worded.

Each app registers the kinds it records, from its `notifications` module
imported when the app is ready: a label for the settings page, the sentence
(with the names of its money parameters, written in the reader's language and
the collective's currency, and of its dates) or a function that renders it,
and the email default.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.utils.formats import date_format
from django.utils.functional import Promise

from contrib_budget.money import format_money

from .models import EmailMode

Renderer = Callable[[dict, str], str]


@dataclass(frozen=True)
class Kind:
    code: str
    label: Promise
    sentence: Promise | None = None
    money: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    email: str = EmailMode.INSTANT
    render: Renderer | None = None

    def text(self, params: dict, currency: str) -> str:
        if self.render is not None:
            return self.render(params, currency)
        return str(self.sentence) % formatted(params, currency, money=self.money, dates=self.dates)


def formatted(params: dict, currency: str, *, money: tuple[str, ...] = (), dates: tuple[str, ...] = ()) -> dict:
    """The parameters written for the reader: amounts in their language with the currency, dates (ISO dates, or
    date-times already in the collective's time zone) in their format."""
    values = dict(params)
    for key in money:
        values[key] = format_money(params[key], currency)
    for key in dates:
        moment = datetime.fromisoformat(params[key])
        values[key] = (date_format(moment, "SHORT_DATETIME_FORMAT") if "T" in params[key]
                       else date_format(moment.date(), "DATE_FORMAT"))
    return values


_kinds: dict[str, Kind] = {}


def register(*kinds: Kind) -> None:
    for kind in kinds:
        _kinds[kind.code] = kind


def kind_of(code: str) -> Kind | None:
    return _kinds.get(code)


def all_kinds() -> list[Kind]:
    return sorted(_kinds.values(), key=lambda kind: kind.code)


def notification_text(code: str, params: dict, currency: str) -> str:
    """The sentence of a notification in the active language; a kind no longer known shows its code."""
    kind = kind_of(code)
    return kind.text(params, currency) if kind is not None else code
