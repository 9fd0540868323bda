"""`{% load money_tags %}{{ amount|money:collective.currency }}`: money in the active language."""

from django import template

from contrib_budget.money import format_money

register = template.Library()


@register.filter
def money(amount, currency: str) -> str:
    """An amount with its currency, formatted for the reader's language; "—" when there is none."""
    if amount is None or amount == "":
        return "—"
    return format_money(amount, currency or "EUR")
