"""What budgets tell people: closings to contributors, deficits and arrived fundings to coordinators,
payouts to their payee."""

from collections import defaultdict
from decimal import Decimal

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from members.models import Role
from members.notifications.kinds import Kind, formatted, register
from members.notifications.services import Notice, notify, notify_each
from members.selectors import member_ids_with_role

from .explanations import explanation_text
from .models import Budget, Funding, Period

PERIOD_DATES = ("starts_on", "ends_on")


def _period_closed_text(params: dict, currency: str) -> str:
    values = formatted(params, currency, money=("requested", "granted"), dates=PERIOD_DATES)
    text = _("“%(budget)s”, period from %(starts_on)s to %(ends_on)s, is closed: you requested %(requested)s "
             "and were granted %(granted)s.") % values
    explanations = dict.fromkeys(explanation_text(code, code_params, currency)
                                 for code, code_params in params.get("explanations", []))
    return " ".join([text, *explanations])


def _ledger_text(params: dict, currency: str) -> str:
    return ngettext(
        "The nightly check of the books of %(collective)s found %(count)s broken rule: the administrators are told; "
        "tell them what changed recently.",
        "The nightly check of the books of %(collective)s found %(count)s broken rules: the administrators are "
        "told; tell them what changed recently.",
        params["count"],
    ) % params


register(
    Kind("period.closed", gettext_lazy("Closings of periods I declared in"), render=_period_closed_text),
    Kind("period.deficit", gettext_lazy("Periods in deficit (coordinators)"),
         gettext_lazy("“%(budget)s”, period from %(starts_on)s to %(ends_on)s: the requests (%(requested)s) exceed "
                      "the money available (%(available)s). The coordinators must decide how to close it."),
         money=("requested", "available"), dates=PERIOD_DATES),
    Kind("payout.payable", gettext_lazy("My payouts becoming payable"),
         gettext_lazy("%(amount)s granted to you in “%(budget)s” is now payable: its money has arrived."),
         money=("amount",)),
    Kind("payout.paid", gettext_lazy("My payouts paid"),
         gettext_lazy("%(amount)s was paid to you on %(paid_on)s (%(budget)s)."), money=("amount",),
         dates=("paid_on",)),
    Kind("payout.reversed", gettext_lazy("Grants to me reversed"),
         gettext_lazy("The grant of %(amount)s to you in “%(budget)s” was reversed: %(reason)s"), money=("amount",)),
    Kind("payout.corrected", gettext_lazy("Corrections of my paid payouts"),
         gettext_lazy("A payout paid to you in “%(budget)s” was %(amount)s too large (%(reason)s): it will be "
                      "withheld from your next payment."), money=("amount",)),
    Kind("ledger.violation", gettext_lazy("Failed checks of the books (coordinators)"), render=_ledger_text),
    Kind("funding.received", gettext_lazy("Fundings received (coordinators)"),
         gettext_lazy("The funding of %(amount)s from %(source)s to “%(budget)s” is received."), money=("amount",),
         email="daily"),
)


def _period_params(period: Period) -> dict:
    return {"budget": period.budget.name, "starts_on": period.starts_on.isoformat(),
            "ends_on": period.ends_on.isoformat()}


def _payouts_anchor(period: Period) -> str:
    """The period's payouts page, up to the id of the payout to show: `f"{anchor}{payout.pk}"`."""
    return reverse("period_payouts", args=[period.collective.slug, period.pk]) + "#payout-"


def period_closed_notify(*, period: Period, grants, authors: dict[int, int], payout_ids: dict[int, int],
                         actor) -> None:
    """Each contributor of the closed period: what they requested, what they were granted, and why."""
    per_person: dict[int, dict] = defaultdict(lambda: {"requested": Decimal(0), "granted": Decimal(0),
                                                       "explanations": [], "first": None})
    for grant in grants:
        mine = per_person[authors[grant.contribution_id]]
        mine["requested"] += grant.requested
        mine["granted"] += grant.granted
        # Stored once per person and kind: a closing gives most of its grants the same explanation.
        explanation = [grant.code, grant.params]
        if explanation not in mine["explanations"]:
            mine["explanations"].append(explanation)
        mine["first"] = mine["first"] or payout_ids[grant.contribution_id]
    base, anchor = _period_params(period), _payouts_anchor(period)
    notify_each(collective=period.collective, kind="period.closed", actor=actor, notices=[
        Notice(person_id, {**base, "requested": str(mine["requested"]), "granted": str(mine["granted"]),
                           "explanations": mine["explanations"]}, f"{anchor}{mine['first']}")
        for person_id, mine in per_person.items()
    ])


def period_deficit_notify(*, period: Period, requested: Decimal, available: Decimal, actor) -> None:
    notify(collective=period.collective, kind="period.deficit", actor=actor,
           recipients=member_ids_with_role(period.collective, Role.COORDINATOR),
           params={**_period_params(period), "requested": str(requested), "available": str(available)},
           url=reverse("period_decision", args=[period.collective.slug, period.pk]))


def funding_received_notify(*, funding: Funding, actor) -> None:
    budget: Budget = funding.budget
    notify(collective=budget.collective, kind="funding.received", actor=actor,
           recipients=member_ids_with_role(budget.collective, Role.COORDINATOR),
           params={"amount": str(funding.amount), "source": funding.source, "budget": budget.name},
           url=reverse("budget_detail", args=[budget.collective.slug, budget.pk]) + f"#funding-{funding.pk}")


def payouts_notify(*, kind: str, payouts, amounts: dict[int, Decimal], actor, **params) -> None:
    """Each payee once, for the sum of their payouts (`amounts`: payout id → amount)."""
    per_person: dict[int, list] = defaultdict(list)
    for payout in payouts:
        per_person[payout.person_id].append(payout)
    notices = []
    for person_id, mine in per_person.items():
        first = mine[0]
        budgets = ", ".join(dict.fromkeys(payout.period.budget.name for payout in mine))
        total = sum((amounts[payout.pk] for payout in mine), Decimal(0))
        notices.append(Notice(person_id, {**params, "amount": str(total), "budget": budgets},
                              f"{_payouts_anchor(first.period)}{first.pk}"))
    if notices:
        notify_each(collective=first.collective, kind=kind, notices=notices, actor=actor)


def ledger_violation_notify(*, collective, problems: list[str], today) -> None:
    notify(collective=collective, kind="ledger.violation",
           recipients=member_ids_with_role(collective, Role.COORDINATOR),
           params={"collective": collective.name, "count": len(problems)},
           url=reverse("accounting_index", args=[collective.slug]), occasion=f"ledger.violation:{today.isoformat()}")
