"""Filters that render frozen document data (strings) in the active language (money: money_tags)."""

from datetime import date, datetime

from django import template
from django.utils import formats

from budgets.models import OverspendPolicy, PeriodStatus
from cobudget.models import BucketStatus
from contributions.models import ContributionStatus

register = template.Library()


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
