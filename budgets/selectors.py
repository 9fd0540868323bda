"""Reads worth naming: budgets with their money, periods with their figures, payouts, earnings."""

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict, cast

from django.db.models import (
    Count,
    DateField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce, RowNumber

from contrib_budget.money import ZERO
from contrib_budget.prepared import Prepared
from contrib_budget.scopes import across_collectives
from members.models import Collective, User

from .available import even_spread, period_amount
from .demand import period_demand
from .models import (
    PAYABLE,
    Budget,
    Envelope,
    Funding,
    FundingStatus,
    LeftoverPolicy,
    Payout,
    PayoutCorrection,
    Period,
    PeriodStatus,
    Task,
)
from .periods import period_count

MONEY_FIELD: "DecimalField[Decimal, Decimal]" = DecimalField(max_digits=14, decimal_places=2)


class Figures(TypedDict):
    """What `with_figures` adds to each period."""

    requested: Decimal
    validated: Decimal
    declaration_count: int
    granted: Decimal
    available_now: Decimal | None
    over: bool


if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    PeriodWithFigures = WithAnnotations[Period, Figures]


def sum_of(queryset: QuerySet[Any], column: str | Combinable) -> Coalesce:
    """The total of `column` over a subquery, zero when it has no rows: one money figure per outer row."""
    return Coalesce(
        Subquery(queryset.annotate(total=Sum(column)).values("total")[:1]), Value(ZERO), output_field=MONEY_FIELD,
    )


def with_money(budgets: QuerySet[Budget]) -> QuerySet[Budget]:
    """Budgets annotated with their received and pledged totals (the granted one is a column)."""
    fundings = Funding.objects.filter(budget=OuterRef("pk"), cancelled_at__isnull=True).order_by().values("budget")
    return budgets.annotate(received_total=sum_of(fundings.filter(status=FundingStatus.RECEIVED), "amount"),
                            pledged_total=sum_of(fundings.filter(status=FundingStatus.PLEDGED), "amount"))


def budgets_with_money(collective: Collective) -> QuerySet[Budget]:
    """The budgets of a collective `with_money`, their rate levels fetched too."""
    return with_money(Budget.objects.of(collective).prefetch_related("rate_levels"))


def period_is_over(*, requested: Decimal, validated: Decimal, available: Decimal | None) -> bool:
    """The money of a period is exceeded: by its validated requests, or already by the requests not
    rejected yet (a deficit flagged before it is decided, not discovered at closing)."""
    return available is not None and max(requested, validated) > available


def periods_of_budget(budget: Budget) -> QuerySet[Period]:
    return Period.objects.filter(budget=budget).order_by("index")


def periods_started_count(budget: Budget, today: date) -> int:
    """How many periods of a budget have started by `today`: where its current period stands in the list."""
    return Period.objects.filter(budget=budget, starts_on__lte=today).count()


def periods_charted(budget: Budget, today: date, *, count: int) -> list[int]:
    """Ids of the `count` latest periods started by `today` (the first ones when none has), for the chart."""
    periods = periods_of_budget(budget)
    started = list(periods.filter(starts_on__lte=today).order_by("-index").values_list("pk", flat=True)[:count])
    return started or list(periods.values_list("pk", flat=True)[:count])


def periods_figured(ids: Iterable[int]) -> dict[int, "PeriodWithFigures"]:
    """Periods by id, with their figures (`with_figures`), computed together whatever their number."""
    return {period.pk: period for period in with_figures(Period.objects.filter(pk__in=list(ids)).order_by("index"))}


def envelopes_of_budget(budget: Budget, *, published_only: bool) -> QuerySet[Envelope]:
    """A budget's envelopes with `task_count`, their tasks (only the published ones for `published_only`)."""
    tasks = Task.objects.filter(envelope=OuterRef("pk")).order_by().values("envelope")
    if published_only:
        tasks = tasks.filter(is_published=True)
    return (Envelope.objects.filter(budget=budget).order_by("name", "id")
            .annotate(task_count=Coalesce(Subquery(tasks.annotate(n=Count("id")).values("n")[:1]), Value(0))))


def tasks_first_of(envelope_ids: Iterable[int], *, published_only: bool, count: int) -> dict[int, list[Task]]:
    """The first `count` tasks of each envelope, those to do first by priority, in one query whatever the number
    of tasks."""
    tasks = Task.objects.filter(envelope_id__in=list(envelope_ids))
    if published_only:
        tasks = tasks.filter(is_published=True)
    order = [F("is_done"), F("priority"), F("id")]
    ranked = (tasks.annotate(rank=Window(RowNumber(), partition_by=F("envelope_id"), order_by=order))
              .filter(rank__lte=count).order_by("envelope_id", "is_done", "priority", "id"))
    first: dict[int, list[Task]] = {}
    for task in ranked:
        first.setdefault(task.envelope_id, []).append(task)
    return first


def with_demand(periods: QuerySet[Period]) -> QuerySet[Period]:
    """Periods with their budget, `requested`, `validated`, `declaration_count` (budgets.demand) and `granted`:
    the rows `figures_of` completes."""
    return periods.select_related("budget").annotate(**period_demand(), granted=F("granted_total"))


def with_figures(periods: QuerySet[Period]) -> list["PeriodWithFigures"]:
    """Periods, of one budget or of many, with `requested`, `validated`, `declaration_count` (budgets.demand),
    `granted`, `available_now` (frozen once closed or in deficit; while open, what a closing now could grant, by
    the rule of `closing.period_available`) and `over`. At most three queries, whatever the number of periods,
    budgets, declarations and payouts (a period keeps its totals in its row): a dashboard shows the open periods
    of every budget at once."""
    return figures_of(list(with_demand(periods)))


def figures_of(periods: list[Period]) -> list["PeriodWithFigures"]:
    """Periods read through `with_demand`, completed with the figures of `with_figures`."""
    # What period_demand() annotated is registered at run time, and the loop below sets the rest of the figures.
    figured = cast("list[PeriodWithFigures]", periods)
    budgets = {current.budget_id: current.budget for current in figured}
    left, closed = _funds_not_granted_and_closed(budgets)
    counts = {pk: period_count(budget) for pk, budget in budgets.items()}
    # Budgets without an amount per period that end spread their funds evenly over their periods.
    spread_counts = {pk: count for pk, count in counts.items()
                     if budgets[pk].amount_per_period is None and count is not None}
    # The leftover a period carries in is what the period before it kept, if that one is closed.
    leftovers = _leftovers_of_closed({(current.budget_id, current.index - 1) for current in figured
                                      if current.available is None and current.index > 0}
                                     | {(pk, closed[pk] - 1) for pk in spread_counts if closed[pk] > 0})

    def carried_in(budget: Budget, index: int) -> Decimal:
        if budget.leftover_policy != LeftoverPolicy.CARRY_OVER or index == 0:
            return ZERO
        return leftovers.get((budget.pk, index - 1), ZERO)

    spreads = {pk: even_spread(closed=closed[pk], count=count, pool=left[pk] - carried_in(budgets[pk], closed[pk]))
               for pk, count in spread_counts.items()}
    for current in figured:
        budget = budgets[current.budget_id]
        if current.available is None:
            if budget.amount_per_period is None and counts[budget.pk] is None:
                own = left[budget.pk]  # an open-ended budget offers all the funds not granted
            else:
                own = period_amount(budget=budget, period=current, count=counts[budget.pk],
                                    spread=spreads.get(budget.pk))
            current.available_now = max(min(own + carried_in(budget, current.index), left[budget.pk]), ZERO)
        else:
            current.available_now = current.available
        current.over = period_is_over(requested=current.requested, validated=current.validated,
                                      available=current.available_now)
    return figured


def _funds_and_closed(budget_ids: list[int]) -> QuerySet[Budget]:
    fundings = Funding.objects.filter(budget=OuterRef("pk"), cancelled_at__isnull=True).order_by().values("budget")
    closed = (Period.objects.filter(budget=OuterRef("pk"), status=PeriodStatus.CLOSED).order_by().values("budget")
              .annotate(n=Count("id")).values("n")[:1])
    return (Budget.objects.filter(pk__any=budget_ids)
            .annotate(funded=sum_of(fundings, "amount"), closed=Coalesce(Subquery(closed), Value(0)))
            .values_list("pk", "funded", "granted_total", "closed"))


# Prepared (contrib_budget.prepared): every page showing a period's figures reads these, and compiling them cost
# more than running them. The budgets and periods are those the caller read, in its own collective.
_FUNDS_NOT_GRANTED_AND_CLOSED = Prepared(_funds_and_closed)


def _funds_not_granted_and_closed(budgets: dict[int, Budget]) -> tuple[dict[int, Decimal], dict[int, int]]:
    """Per budget: its fundings (not cancelled) less what closings granted, and how many periods are closed."""
    if not budgets:
        return {}, {}
    left, count = {}, {}
    for pk, funded, granted, closed_count in _FUNDS_NOT_GRANTED_AND_CLOSED.rows(budget_ids=list(budgets)):
        left[pk], count[pk] = funded - granted, closed_count
    return left, count


_CLOSED_PERIODS_KEPT = Prepared(lambda budget_ids, indexes: Period.objects.filter(
    budget_id__any=budget_ids, index__any=indexes, status=PeriodStatus.CLOSED, available__isnull=False,
).values_list("budget_id", "index", "available", "granted_total"))


def _leftovers_of_closed(wanted: set[tuple[int, int]]) -> dict[tuple[int, int], Decimal]:
    """(budget id, index) of closed periods → what they kept of their money (`closing.carried_in`)."""
    if not wanted:
        return {}
    rows = _CLOSED_PERIODS_KEPT.rows(budget_ids=sorted({budget_id for budget_id, _index in wanted}),
                                     indexes=sorted({index for _budget_id, index in wanted}))
    return {(budget_id, index): max(available - granted, ZERO) for budget_id, index, available, granted in rows
            if (budget_id, index) in wanted}


_ONE_PERIOD = Prepared(lambda collective_id, period_id: with_demand(
    Period.objects.filter(collective_id=collective_id, pk=period_id)))


def period_with_figures(period: Period) -> "PeriodWithFigures":
    """One period with the figures `with_figures` gives, without computing its budget's other periods'."""
    return figures_of(_ONE_PERIOD.rows(collective_id=period.collective_id, period_id=period.pk))[0]


def payouts_unposted(*, period: Period) -> QuerySet[Payout]:
    """Payouts of a closed period whose grant is not in the ledger yet (a closing to resume)."""
    return (Payout.objects.filter(period=period, granted__gt=0, grant_transaction__isnull=True)
            .select_related("person").order_by("id"))


def payouts_unposted_anywhere() -> QuerySet[Payout]:
    """Payouts of every collective whose grant is not in the ledger yet. Beat asks every minute, so only payouts
    that can still be unposted are looked at: not paid, in a period not locked (both need the grant posted)."""
    return Payout.objects.filter(granted__gt=0, paid_on__isnull=True, period__locked_at__isnull=True,
                                 grant_transaction__isnull=True)


def payouts_owed_posted(*, budget: Budget) -> QuerySet[Payout]:
    """Owed payouts of a budget, oldest first, whose grant is posted: those that received money can settle."""
    return (Payout.objects.filter(period__budget=budget, payable_amount__lt=F("granted"), paid_on__isnull=True,
                                  grant_transaction__isnull=False)
            .select_related("person").order_by("period__ends_on", "period__index", "id"))


def payouts_of_period(period: Period) -> QuerySet[Payout]:
    return (Payout.objects.filter(period=period).select_related("collective", "person", "contribution")
            .order_by("person__name", "person__email", "id"))


def payouts_of_collective(collective: Collective, *, state: str | None = None) -> QuerySet[Payout]:
    """The collective's payouts in `state`, each with what its lists show: the person, the declaration and the
    currency (for its explanation). Their periods and budgets are not joined: no list names them, and each joined
    row is two more model instances per payout."""
    payouts = (Payout.objects.of(collective).select_related("collective", "person", "contribution")
               .order_by("period_ends_on", "id"))
    if state == "paid":
        payouts = payouts.filter(paid_on__isnull=False)
    elif state == "payable":
        payouts = payouts.filter(PAYABLE)
    elif state == "owed":
        payouts = payouts.filter(paid_on__isnull=True, payable_amount__lt=F("granted"))
    elif state == "sent":
        payouts = payouts.filter(paid_on__isnull=True, batch__isnull=False)
    elif state == "reversed":
        payouts = payouts.filter(reversal_transaction__isnull=False)
    return payouts


@across_collectives
def payouts_of_person(user: User, collectives: Iterable[Collective]) -> QuerySet[Payout]:
    """A person's payouts in `collectives`, the unpaid first, then the latest periods first."""
    collectives = list(collectives)
    corrections = Prefetch("corrections", queryset=PayoutCorrection.objects.filter(collective__in=collectives))
    return (Payout.objects.filter(person=user, collective__in=collectives)
            .select_related("collective", "period__budget", "contribution").prefetch_related(corrections)
            .order_by(F("paid_on").desc(nulls_first=True), "-period_ends_on", "-id"))


def periods_settled_unlocked(collective: Collective) -> QuerySet[Period]:
    """Closed periods not locked yet whose money is settled: every payout with money paid (so its grant posted)."""
    return periods_settled_unlocked_of(Period.objects.of(collective))


def periods_settled_unlocked_of(periods: QuerySet[Period]) -> QuerySet[Period]:
    """`periods_settled_unlocked` among `periods` (of any collectives)."""
    unpaid = Payout.objects.filter(period=OuterRef("pk"), granted__gt=0, paid_on__isnull=True)
    return periods.filter(status=PeriodStatus.CLOSED, locked_at__isnull=True).exclude(Exists(unpaid))


def periods_interrupted() -> list[Period]:
    """Closed periods whose grants are not all posted yet: a closing a crash interrupted."""
    return list(Period.objects.filter(pk__in=payouts_unposted_anywhere().values("period_id")).select_related("budget"))


def periods_due(today: date) -> list[Period]:
    """Open periods whose budget closes them automatically and whose delay has passed, in order;
    and closed periods whose grants are not all posted yet (a closing to resume)."""
    due_on = ExpressionWrapper(F("ends_on") + F("budget__auto_close_after_days") * timedelta(days=1),
                               output_field=DateField())
    open_due = (Period.objects.filter(status=PeriodStatus.OPEN, budget__auto_close_after_days__isnull=False)
                .alias(due_on=due_on).filter(due_on__lt=today).select_related("budget")
                .order_by("budget_id", "index"))
    return [*periods_interrupted(), *open_due]
