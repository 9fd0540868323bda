"""Rates, durations and the history of a declaration, in the reader's language (money: money_tags)."""

from django import template
from django.utils.translation import gettext as _

from contrib_budget.money import format_rate
from contrib_budget.templatetags.money_tags import money

register = template.Library()

HISTORY = {
    "contribution.declared": lambda after, m: _("declared %(amount)s") % {"amount": m(after.get("amount"))},
    "contribution.amended": lambda after, m: _("amended the declaration (now %(amount)s)") % {
        "amount": m(after.get("amount"))},
    "contribution.question": lambda after, m: _("asked a question"),
    "contribution.reply": lambda after, m: _("replied"),
    "contribution.approved": lambda after, m: _("approved (%(approvals)s of %(required)s approvals needed)") % {
        "approvals": after.get("approvals"), "required": after.get("required")},
    "contribution.validated": lambda after, m: _("validated %(amount)s") % {
        "amount": m(after.get("validated_amount"))},
    "contribution.adjusted": lambda after, m: _("adjusted to %(amount)s: %(reason)s") % {
        "amount": m(after.get("validated_amount")), "reason": after.get("decision_reason")},
    "contribution.rejected": lambda after, m: _("rejected: %(reason)s") % {"reason": after.get("decision_reason")},
    "contribution.withdrawn": lambda after, m: _("withdrew the declaration"),
}


@register.filter
def rate(amount, currency: str = "EUR") -> str:
    """22, "EUR" -> "22,00 €/h" in French, "€22.00/h" in English."""
    if amount is None or amount == "":
        return "—"
    return format_rate(amount, currency or "EUR")


@register.filter
def duration(minutes) -> str:
    """95 -> "1 h 35"; 30 -> "30 min"."""
    minutes = int(minutes or 0)
    hours, rest = divmod(minutes, 60)
    if not hours:
        return _("%(minutes)d min") % {"minutes": rest}
    return _("%(hours)d h %(minutes)02d") % {"hours": hours, "minutes": rest} if rest else _("%(hours)d h") % {
        "hours": hours}


@register.filter
def history_sentence(event, currency: str = "EUR") -> str:
    """One audit event of a declaration, as a sentence."""
    describe = HISTORY.get(event.action)
    if describe is None:
        return event.action
    return describe(event.after or {}, lambda amount: money(amount, currency))



@register.filter
def explanation(payout) -> str:
    """Why a payout granted what it granted, in the reader's language."""
    from budgets.explanations import payout_explanation

    return payout_explanation(payout)
