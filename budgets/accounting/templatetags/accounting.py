"""Filters that render frozen document data (strings) in the active language."""

from datetime import date, datetime
from decimal import Decimal

from django import template
from django.utils import formats

from budgets.models import OverspendPolicy, PeriodStatus
from cobudget.models import BucketStatus
from contrib_budget.money import format_money
from contributions.models import ContributionStatus

register = template.Library()


@register.filter
def money(value, currency: str = "") -> str:
    """'1234.5' → '1 234,50' in French, '1,234.50' in English; with a currency, the way the language
    writes money: '1 234,50 €' in French, '€1,234.50' in English."""
    if value in (None, ""):
        return ""
    if currency:
        return format_money(Decimal(str(value)), currency)
    return formats.number_format(Decimal(str(value)), 2, use_l10n=True, force_grouping=True)


@register.filter
def isodate(value, format_name: str = "DATE_FORMAT") -> str:
    return formats.date_format(date.fromisoformat(value), format_name) if value else ""


@register.filter
def isodatetime(value) -> str:
    return formats.date_format(datetime.fromisoformat(value), "DATE_FORMAT") if value else ""


def _label(choices, value) -> str:
    return str(dict(choices.choices).get(value, value))


@register.filter
def period_status(value) -> str:
    return _label(PeriodStatus, value)


@register.filter
def overspend_policy(value) -> str:
    return _label(OverspendPolicy, value)


@register.filter
def contribution_status(value) -> str:
    return _label(ContributionStatus, value)


@register.filter
def bucket_status(value) -> str:
    return _label(BucketStatus, value)
