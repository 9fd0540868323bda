"""Exact money: one rounding helper and largest-remainder splits."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache
from typing import Sequence

from babel.numbers import format_currency, format_decimal
from django.utils.translation import get_language, to_locale
from django.utils.translation import gettext as _

from .errors import DomainError

CENT = Decimal("0.01")
# An amount as a person or a client sent it (parse_money checks it), or as the code already holds it.
MoneyInput = Decimal | str | int

ZERO = Decimal("0.00")

# The most one amount of each kind may be. Every money column is NUMERIC(14, 2), up to
# 999 999 999 999.99; each maximum stays well below, so a total of a few such amounts
# still fits (tests/test_money.py checks every money column holds its kind's maximum).
MAX_DECLARATION = Decimal("1000000.00")  # a declaration: its amount, hourly rate, adjusted amount
MAX_BUDGET_AMOUNT = Decimal("1000000000.00")  # a budget: per period, rate level, envelope, deficit decision
MAX_FUNDING = Decimal("1000000000.00")  # money received into a budget
MAX_ENVELOPE = Decimal("1000000000.00")  # a cobudget round's envelopes (each, or the weighted total), floor, cap
MAX_BUCKET_GOAL = Decimal("1000000000.00")  # a bucket's budget line, minimum and maximum goals
MAX_ALLOCATION = Decimal("1000000000.00")  # what a member gives a bucket (or takes back), the per-member limit


def to_money(value: Decimal | int | str) -> Decimal:
    """Round a value to the cent, half away from zero."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def has_at_most_two_decimals(value: Decimal) -> bool:
    return value.is_finite() and value == value.quantize(CENT)


def split_largest_remainder(
    total: Decimal, weights: Sequence[Decimal], *, rotation: int = 0
) -> list[Decimal]:
    """Share `total` in proportion to `weights`; the parts always sum to `total`.

    Each part is first rounded down (towards minus infinity) to the cent, in
    exact rational arithmetic; the cents left over go to the largest
    remainders. Equal remainders are ordered from position `rotation`
    onwards, so a caller that advances `rotation` from one split to the next
    hands the odd cent to a different person each time.
    """
    total = to_money(total)
    if not weights:
        if total:
            raise ValueError("Cannot split a non-zero amount among no parts.")
        return []
    if any(w < 0 for w in weights):
        raise ValueError("Weights must not be negative.")
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        if total:
            raise ValueError("Cannot split a non-zero amount by zero weights.")
        return [Decimal("0.00")] * len(weights)

    cents_total = int(total / CENT)
    exact = [cents_total * Fraction(w) / Fraction(weight_sum) for w in weights]
    floors = [e.numerator // e.denominator for e in exact]
    left_over = cents_total - sum(floors)
    count = len(weights)
    order = sorted(
        range(count),
        key=lambda i: (-(exact[i] - floors[i]), (i - rotation) % count),
    )
    for i in order[:left_over]:
        floors[i] += 1
    return [Decimal(c) * CENT for c in floors]


def format_money(amount: Decimal | int | str, currency: str | None = None, language: str | None = None) -> str:
    """An amount in the collective's currency, written the way the active language writes money.

    Decimal("1234.56"), "EUR" -> "1 234,56 €" in French, "€1,234.56" in English;
    without a currency, the amount alone: "1 234,56" in French, "1,234.56" in English.
    """
    return _formatted(str(to_money(amount)), currency, language or get_language() or "fr")


# A page writes the same amounts again and again (goals, envelopes, zero), and so do the pages after it; babel
# takes about 25 µs to write one. Keyed by the amount's text, so that -0.00 and 0.00 stay apart.
@lru_cache(maxsize=4096)
def _formatted(amount: str, currency: str | None, language: str) -> str:
    if currency is None:
        return format_decimal(Decimal(amount), format="#,##0.00", locale=to_locale(language))
    return format_currency(Decimal(amount), currency, locale=to_locale(language))


def format_rate(amount: Decimal | int | str, currency: str | None = None) -> str:
    """An hourly rate in the active language: Decimal("22"), "EUR" -> "22,00 €/h" in French, "€22.00/h" in English."""
    return _("%(amount)s/h") % {"amount": format_money(amount, currency)}


def parse_money(
    value: object, field: str, *, positive: bool = False, signed: bool = False, maximum: Decimal | None = None
) -> Decimal:
    """An amount from input, checked: a finite decimal with at most two places, not negative unless
    `signed` (not zero either when `positive`), at most `maximum` in size. Otherwise a DomainError that
    names `field`."""

    def refused(message: str, code: str) -> DomainError:
        return DomainError(message, code, fields={field: [message]})

    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise refused(_("Enter an amount such as 12.50."), "invalid_amount") from None
    if not amount.is_finite():
        raise refused(_("Enter an amount such as 12.50."), "invalid_amount")
    if amount < 0 and not signed:
        raise refused(_("An amount cannot be negative."), "negative_amount")
    if positive and amount == 0:
        raise refused(_("The amount must be greater than zero."), "zero_amount")
    if not has_at_most_two_decimals(amount):
        raise refused(_("An amount has at most two decimals (cents)."), "amount_precision")
    if maximum is not None and abs(amount) > maximum:
        raise refused(_("An amount cannot exceed %(max)s.") % {"max": format_money(maximum)}, "amount_too_large")
    return to_money(amount)
