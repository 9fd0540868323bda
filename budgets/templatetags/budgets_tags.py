from django import template

from .. import outcomes

register = template.Library()


@register.simple_tag
def period_close_question(period, currency: str) -> str:
    return outcomes.period_close_question(period, currency)


@register.simple_tag
def period_close_warning(period) -> str:
    return outcomes.period_close_warning(period)


@register.simple_tag
def period_lock_question(period, currency: str) -> str:
    """`period` is annotated by `accounting.selectors.periods_with_settlement`."""
    return outcomes.period_lock_question(period, paid_total=period.granted_total, currency=currency)


@register.simple_tag
def funding_cancel_question(funding, currency: str) -> str:
    return outcomes.funding_cancel_question(funding, currency)
