"""The budgets on the collective's home (members/dashboard.py), and their lines in "what waits for me".

Panels: each running budget's money (received, promised, granted, left) and the open periods' requests against
their money. Waiting lines: decisions on periods in deficit and periods to close (coordinators), payouts to pay
(accountants; coordinators where nobody is accountant), periods to lock (accountants). Each is a fixed number
of queries, whatever the number of budgets and periods.
"""

from datetime import date, timedelta

from django.db.models import Count, DateField, Exists, ExpressionWrapper, F, Min, OuterRef, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from contrib_budget.money import format_money
from contrib_budget.prepared import Prepared
from members import dashboard
from members.models import Collective, Membership, Role
from members.selectors import WaitingItem, by_collective_name, collectives_where, per_collective, waiting_provider

from . import charts, selectors
from .models import NET_AMOUNT, PAYABLE, Budget, Payout, Period, PeriodStatus

SHOWN_BUDGETS = 6
SHOWN_PERIODS = 4


def _budgets_running_or_holding_money(collective_id: int, today: date):
    return (selectors.with_money(Budget.objects.filter(collective_id=collective_id))
            .alias(left=F("received_total") + F("pledged_total") - F("granted_total"))
            .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today) | ~Q(left=0))
            .order_by("name", "id")[:SHOWN_BUDGETS + 1])


# Prepared (contrib_budget.prepared), as the panels' other queries: compiling them cost more than running them.
_BUDGETS_RUNNING_OR_HOLDING_MONEY = Prepared(_budgets_running_or_holding_money)


def _money(collective: Collective, membership: Membership) -> dict | None:
    """The budgets still running, or that still hold money, each as a gauge."""
    budgets = _BUDGETS_RUNNING_OR_HOLDING_MONEY.rows(collective_id=collective.pk, today=timezone.localdate())
    is_coordinator = membership.has_role(Role.COORDINATOR)
    if not budgets and not is_coordinator:
        return None
    for budget in budgets:
        budget.gauge = charts.budget_money_gauge(budget, currency=collective.currency)
    return {"budgets": budgets[:SHOWN_BUDGETS], "more": len(budgets) > SHOWN_BUDGETS,
            "is_coordinator": is_coordinator}


def _periods_under_way(collective_id: int, today: date):
    under_way = (Period.objects.filter(collective_id=collective_id, starts_on__lte=today,
                                       status__in=(PeriodStatus.OPEN, PeriodStatus.DEFICIT))
                 .order_by("ends_on", "budget__name", "id"))
    return selectors.with_demand(Period.objects.filter(collective_id=collective_id,
                                                       pk__in=under_way.values("pk")[:SHOWN_PERIODS + 1])
                                 .order_by("ends_on", "budget__name", "id"))


_PERIODS_UNDER_WAY = Prepared(_periods_under_way)


def _open_periods(collective: Collective, membership: Membership) -> dict | None:
    """The periods under way (started, not closed), the soonest ending first: requests against money."""
    periods = selectors.figures_of(_PERIODS_UNDER_WAY.rows(collective_id=collective.pk, today=timezone.localdate()))
    if not periods:
        return None
    more, periods = len(periods) > SHOWN_PERIODS, periods[:SHOWN_PERIODS]
    for period in periods:
        period.name = charts.period_name(period)
        period.bar = charts.period_requests_bar(period, currency=collective.currency)
        period.gap = max(period.requested, period.validated) - period.available_now
    return {"periods": periods, "more": more}


dashboard.register(
    dashboard.Panel("budgets.money", 20, "budgets/dashboard/_money.html", _money),
    dashboard.Panel("budgets.periods", 30, "budgets/dashboard/_periods.html", _open_periods),
)


# ---------------------------------------------------------------------------------------------------------------
# "what waits for me"

# Each line's query is prepared (contrib_budget.prepared): the dashboard compiles none of them again.
def _collective(row: dict) -> Collective:
    return Collective(pk=row["collective_id"], slug=row["collective__slug"], name=row["collective__name"],
                      currency=row.get("collective__currency", "EUR"))


_DEFICITS = Prepared(lambda user_id: Period.objects.filter(
    collective_id__in=collectives_where(user_id, Role.COORDINATOR.value), status=PeriodStatus.DEFICIT,
).select_related("budget", "collective").order_by("ends_on", "id"))


@waiting_provider
def _deficits_to_decide(user) -> list[WaitingItem]:
    """Coordinators: periods whose validated requests exceed their money under the `hold` rule."""
    return [
        WaitingItem(
            title=_("%(budget)s: the requests of the period %(period)s exceed its money") % {
                "budget": period.budget.name, "period": charts.period_name(period)},
            url=reverse("period_decision", args=[period.collective.slug, period.pk]),
            collective=period.collective, action=_("Decide"),
        )
        for period in _DEFICITS.rows(user_id=user.pk)
    ]


def _ended_periods_to_close(user_id: int, today: date):
    due_on = ExpressionWrapper(F("ends_on") + F("budget__auto_close_after_days") * timedelta(days=1),
                               output_field=DateField())
    return (Period.objects.filter(collective_id__in=collectives_where(user_id, Role.COORDINATOR.value),
                                  status=PeriodStatus.OPEN, ends_on__lt=today)
            .alias(due_on=due_on)
            .filter(Q(budget__auto_close_after_days__isnull=True) | Q(due_on__lt=today))
            .values("budget_id", "budget__name", "collective_id", "collective__slug", "collective__name")
            .annotate(count=Count("id"), first_end=Min("ends_on"))
            .order_by("first_end", "budget_id"))


_ENDED_PERIODS_TO_CLOSE = Prepared(_ended_periods_to_close)


@waiting_provider
def _periods_to_close(user) -> list[WaitingItem]:
    """Coordinators: ended periods nobody closes for them, because their budget closes none automatically or
    its automatic closing is overdue (it stopped on something to settle first); one line per budget."""
    rows = _ENDED_PERIODS_TO_CLOSE.rows(user_id=user.pk, today=timezone.localdate())
    return [
        WaitingItem(
            title=ngettext("%(budget)s: %(count)d period has ended and waits to be closed",
                           "%(budget)s: %(count)d periods have ended and wait to be closed",
                           row["count"]) % {"budget": row["budget__name"], "count": row["count"]},
            url=reverse("budget_detail", args=[row["collective__slug"], row["budget_id"]]) + "#periods",
            collective=_collective(row), action=_("Close"),
        )
        for row in rows
    ]


def _payable_per_collective(user_id: int):
    accountant_here = Membership.objects.filter(collective_id=OuterRef("collective_id"),
                                                roles__contains=[Role.ACCOUNTANT.value])
    payers = (Membership.objects.filter(user_id=user_id)
              .filter(Q(roles__contains=[Role.ACCOUNTANT.value])
                      | Q(roles__contains=[Role.COORDINATOR.value]) & ~Exists(accountant_here))
              .values("collective_id"))
    return per_collective(Payout.objects.filter(PAYABLE, collective_id__in=payers),
                          count=Count("id"), total=Sum(NET_AMOUNT))


_PAYABLE_PER_COLLECTIVE = Prepared(_payable_per_collective)


@waiting_provider
def _payouts_to_pay(user) -> list[WaitingItem]:
    """Accountants, and coordinators of collectives without an accountant: payouts whose money is in, unpaid;
    one line per collective with their total."""
    return [
        WaitingItem(
            title=ngettext("%(count)d payout to pay: %(amount)s", "%(count)d payouts to pay: %(amount)s in all",
                           totals["count"]) % {"count": totals["count"],
                                               "amount": format_money(totals["total"], collective.currency)},
            url=reverse("payouts", args=[collective.slug]) + "?state=payable",
            collective=collective, action=_("Pay"),
        )
        for collective, totals in by_collective_name(_PAYABLE_PER_COLLECTIVE.rows(user_id=user.pk))
    ]


_PERIODS_TO_LOCK = Prepared(lambda user_id: selectors.periods_settled_unlocked_of(
    Period.objects.filter(collective_id__in=collectives_where(user_id, Role.ACCOUNTANT.value)),
).values("collective_id", "collective__slug", "collective__name").annotate(count=Count("id"))
    .order_by("collective__name"))


@waiting_provider
def _periods_to_lock(user) -> list[WaitingItem]:
    """Accountants: closed periods whose payouts are all paid, not locked yet; one line per collective."""
    rows = _PERIODS_TO_LOCK.rows(user_id=user.pk)
    return [
        WaitingItem(
            title=ngettext("%(count)d closed period is paid and can be locked",
                           "%(count)d closed periods are paid and can be locked", row["count"]) % {
                "count": row["count"]},
            url=reverse("accounting_index", args=[row["collective__slug"]]),
            collective=_collective(row), action=_("Lock"),
        )
        for row in rows
    ]
