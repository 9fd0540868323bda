"""Why a payout granted what it granted, in the reader's language."""

from decimal import Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from contrib_budget.money import format_money


def _percent(value) -> str:
    return number_format(Decimal(value), decimal_pos=2, use_l10n=True)


def explanation_text(code: str, params: dict, currency: str | None = None) -> str:
    """The sentence that explains a granted amount, in the reader's language."""
    p = params or {}

    def _money(value) -> str:
        return format_money(value, currency)

    if code == "granted_in_full":
        return _("Granted in full.")
    if code == "pro_rata":
        return _("Scaled to %(ratio)s%% because requests (%(requested)s) exceeded the money available "
                 "(%(available)s).") % {"ratio": _percent(p["ratio"]), "requested": _money(p["requested"]),
                                        "available": _money(p["available"])}
    if code == "services_first_full":
        return _("Agreed services were paid first: granted in full.")
    if code == "services_first_scaled":
        return _("Agreed services were paid first, but even they (%(requested)s) exceeded the money available "
                 "(%(available)s): scaled to %(ratio)s%%.") % {
            "ratio": _percent(p["ratio"]), "requested": _money(p["requested"]), "available": _money(p["available"])}
    if code == "services_first_rest":
        return _("Agreed services were paid first (%(services)s); the rest (%(rest)s) was shared pro rata: "
                 "scaled to %(ratio)s%%.") % {
            "services": _money(p["services"]), "rest": _money(p["rest"]), "ratio": _percent(p["ratio"])}
    if code == "services_first_nothing_left":
        return _("Agreed services were paid first (%(services)s) and used all the money available "
                 "(%(available)s): nothing was left for this declaration.") % {
            "services": _money(p["services"]), "available": _money(p["available"])}
    if code == "decision_pro_rata":
        return _("Decided by the coordinators: shared pro rata, scaled to %(ratio)s%% because requests "
                 "(%(requested)s) exceeded the money available (%(available)s).") % {
            "ratio": _percent(p["ratio"]), "requested": _money(p["requested"]), "available": _money(p["available"])}
    if code == "decision_amount":
        note = p.get("note")
        if note:
            return _("Decided by the coordinators: an amount set for each declaration. %(note)s") % {"note": note}
        return _("Decided by the coordinators: an amount set for each declaration.")
    if code == "decision_top_up":
        return _("Decided by the coordinators: a top-up funding (%(amount)s) covered the gap; granted in full.") % {
            "amount": _money(p["amount"])}
    return code


def payout_explanation(payout) -> str:
    """Why a payout granted what it granted; when the coordinators adjusted the declaration, that comes first
    (with their reason), since the grant was computed from the adjusted amount."""
    currency = payout.collective.currency
    text = explanation_text(payout.explanation_code, payout.explanation_params, currency)
    if payout.reversed_amount:
        # The grant was computed, then reversed: say both, the reversal last.
        text = " ".join([text, _("%(amount)s reversed by the coordinators: %(reason)s") % {
            "amount": format_money(payout.reversed_amount, currency), "reason": payout.reversal_reason}])
    contribution = payout.contribution
    if contribution.amount == payout.requested:
        return text
    reason = contribution.decision_reason.strip()
    if reason and reason[-1] not in ".!?…":
        reason += "."
    adjusted = _("Adjusted by the coordinators from %(declared)s to %(validated)s: %(reason)s") % {
        "declared": format_money(contribution.amount, currency), "validated": format_money(payout.requested, currency),
        "reason": reason}
    return f"{adjusted.rstrip()} {text}"
