"""`{% load money_tags %}{{ amount|money:collective.currency }}`: money in the active language."""

from decimal import Decimal

from django import template
from django.utils import formats

from contrib_budget.money import format_money

register = template.Library()

# Tells `{{ amount|money }}` (the figure alone, as in the accountant's tables) from
# `{{ amount|money:currency }}` with an empty currency (which falls back to euros).
NO_CURRENCY = object()


@register.filter
def money(amount, currency=NO_CURRENCY) -> str:
    """An amount with its currency, formatted for the reader's language: "12,50 €" in French, "€12.50" in
    English; without a currency argument, the figure alone: "1 234,50" / "1,234.50"; "—" when there is none."""
    if amount is None or amount == "":
        return "—"
    if currency is NO_CURRENCY:
        return formats.number_format(Decimal(str(amount)), 2, use_l10n=True, force_grouping=True)
    return format_money(amount, currency or "EUR")
