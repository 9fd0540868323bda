"""Irreversible budget actions told in figures: what the confirmation dialog says they will do, and what the
message after says they did. One place, so that the page and its outcome never tell two stories."""

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from contrib_budget.money import ZERO, format_money

from .models import Period


def _span(period: Period) -> str:
    starts = date_format(period.starts_on, "SHORT_DATE_FORMAT")
    if period.ends_on.year == 9999:
        return _("from %(start)s") % {"start": starts}
    return f"{starts} – {date_format(period.ends_on, 'SHORT_DATE_FORMAT')}"


def period_close_question(period: Period, currency: str) -> str:
    """`period` carries the figures of `selectors.with_figures`."""
    figures = {"span": _span(period), "validated": format_money(period.validated, currency),
               "available": format_money(period.available_now, currency)}
    question = _("Closing the period %(span)s grants its validated declarations: %(validated)s validated, "
                 "%(available)s available. The grants are computed once and cannot be changed afterwards.") % figures
    if period.validated > period.available_now:
        question += " " + _("The requests exceed the money available: you will be asked how to share it.")
    return question


def period_close_warning(period: Period) -> str:
    """A stronger warning when the period has not ended yet: what closing early gives up."""
    days_left = (period.ends_on - timezone.localdate()).days
    if days_left < 0:
        return ""
    return ngettext(
        "This period is not over: it runs until %(end)s (%(days)s day left). Once it is closed, no declaration can "
        "be made for it.",
        "This period is not over: it runs until %(end)s (%(days)s days left). Once it is closed, no declaration can "
        "be made for it.", days_left + 1) % {"end": date_format(period.ends_on, "SHORT_DATE_FORMAT"),
                                             "days": days_left + 1}


def period_closed_outcome(period: Period, *, grants: int, currency: str) -> str:
    return ngettext(
        "Period %(span)s closed: %(count)s declaration granted, %(granted)s of %(available)s available.",
        "Period %(span)s closed: %(count)s declarations granted, %(granted)s of %(available)s available.",
        grants) % {"span": _span(period), "count": grants, "granted": format_money(period.granted, currency),
                   "available": format_money(period.available_now, currency)}


def payouts_paid_outcome(payouts: list, *, currency: str) -> str:
    total = sum((payout.granted for payout in payouts), ZERO)
    return ngettext("%(count)s payout marked paid: %(total)s in total.",
                    "%(count)s payouts marked paid: %(total)s in total.", len(payouts)) % {
        "count": len(payouts), "total": format_money(total, currency)}


def period_lock_question(period: Period, *, paid_total, currency: str) -> str:
    return _("Locking the period %(span)s of %(budget)s is final: its %(paid)s of payouts, its grants and its "
             "ledger entries can never change afterwards, not even by a correction.") % {
        "span": _span(period), "budget": period.budget.name,
        "paid": format_money(paid_total, currency)}


def period_locked_outcome(period: Period, *, paid_total, currency: str) -> str:
    return _("Period %(span)s of %(budget)s locked, with %(paid)s of payouts paid.") % {
        "span": _span(period), "budget": period.budget.name,
        "paid": format_money(paid_total, currency)}


def funding_cancel_question(funding, currency: str) -> str:
    return _("Cancelling the funding from %(source)s takes its %(amount)s (%(status)s) out of the budget: its "
             "entries in the books are reversed and it no longer counts. This cannot be undone.") % {
        "source": funding.source, "amount": format_money(funding.amount, currency),
        "status": funding.get_status_display()}


def funding_cancelled_outcome(funding, currency: str) -> str:
    return _("The funding from %(source)s is cancelled: %(amount)s taken out of %(budget)s.") % {
        "source": funding.source, "amount": format_money(funding.amount, currency), "budget": funding.budget.name}
