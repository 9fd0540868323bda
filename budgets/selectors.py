"""Reads worth naming: budgets with their money, periods with their figures, payouts, earnings."""

from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncMonth

from contrib_budget.money import ZERO
from contributions.models import NOT_COUNTED, Contribution, ContributionStatus

from .models import (
    Budget,
    Funding,
    FundingStatus,
    LeftoverPolicy,
    Payout,
    Period,
    PeriodStatus,
)

MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)


def _sum(queryset, column: str):
    return Coalesce(
        Subquery(queryset.annotate(total=Sum(column)).values("total")[:1]), Value(ZERO), output_field=MONEY_FIELD,
    )


def budgets_with_money(collective) -> QuerySet:
    """Budgets of a collective annotated with received, pledged and granted totals."""
    fundings = Funding.objects.filter(budget=OuterRef("pk"), cancelled_at__isnull=True).order_by().values("budget")
    payouts = Payout.objects.filter(period__budget=OuterRef("pk")).order_by().values("period__budget")
    return (Budget.objects.of(collective).prefetch_related("rate_levels")
            .annotate(received_total=_sum(fundings.filter(status=FundingStatus.RECEIVED), "amount"),
                      pledged_total=_sum(fundings.filter(status=FundingStatus.PLEDGED), "amount"),
                      granted_total=_sum(payouts, "granted")))


def period_is_over(*, requested: Decimal, validated: Decimal, available: Decimal | None) -> bool:
    """The money of a period is exceeded: by its validated requests, or already by the requests not
    rejected yet (a deficit flagged before it is decided, not discovered at closing)."""
    return available is not None and max(requested, validated) > available


def periods_with_figures(budget: Budget, *, period: Period | None = None) -> list[Period]:
    """The periods of a budget (or only `period`), in order, with their figures (`with_figures`)."""
    queryset = Period.objects.filter(budget=budget).order_by("index")
    if period is not None:
        queryset = queryset.filter(pk=period.pk)
    return with_figures(queryset)


def with_figures(periods: QuerySet) -> list[Period]:
    """Periods, of one budget or of many, with `requested`, `validated`, `granted`, `declaration_count`,
    `available_now` (frozen once closed or in deficit; while open, what a closing now could grant, by the rule
    of `closing.period_available`) and `over`. At most three queries, whatever the number of periods, budgets
    and declarations: a dashboard shows the open periods of every budget at once."""
    from .closing import even_spread, period_amount
    from .periods import period_count

    contributions = Contribution.objects.filter(period=OuterRef("pk")).order_by().values("period")
    payouts = Payout.objects.filter(period=OuterRef("pk")).order_by().values("period")
    periods = list(
        periods.select_related("budget").annotate(
            requested=_sum(contributions.exclude(status__in=NOT_COUNTED), "amount"),
            validated=_sum(contributions.filter(status__in=[ContributionStatus.VALIDATED, ContributionStatus.ADJUSTED]),
                           Coalesce("validated_amount", "amount")),
            granted=_sum(payouts, "granted"),
            declaration_count=Coalesce(Subquery(contributions.annotate(n=Count("id")).values("n")[:1]), Value(0)),
        )
    )
    budgets = {current.budget_id: current.budget for current in periods}
    left, closed = _funds_not_granted_and_closed(budgets)
    counts = {pk: period_count(budget) for pk, budget in budgets.items()}
    spread_budgets = [pk for pk, budget in budgets.items()
                      if budget.amount_per_period is None and counts[pk] is not None]
    # The leftover a period carries in is what the period before it kept, if that one is closed.
    leftovers = _leftovers_of_closed({(current.budget_id, current.index - 1) for current in periods
                                      if current.available is None and current.index > 0}
                                     | {(pk, closed[pk] - 1) for pk in spread_budgets if closed[pk] > 0})

    def carried_in(budget: Budget, index: int) -> Decimal:
        if budget.leftover_policy != LeftoverPolicy.CARRY_OVER or index == 0:
            return ZERO
        return leftovers.get((budget.pk, index - 1), ZERO)

    spreads = {pk: even_spread(closed=closed[pk], count=counts[pk],
                               pool=left[pk] - carried_in(budgets[pk], closed[pk])) for pk in spread_budgets}
    for current in periods:
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
    return periods


def _funds_not_granted_and_closed(budgets: dict[int, Budget]) -> tuple[dict[int, Decimal], dict[int, int]]:
    """Per budget: its fundings (not cancelled) less what closings granted, and how many periods are closed."""
    if not budgets:
        return {}, {}
    fundings = Funding.objects.filter(budget=OuterRef("pk"), cancelled_at__isnull=True).order_by().values("budget")
    payouts = Payout.objects.filter(period__budget=OuterRef("pk")).order_by().values("period__budget")
    closed = (Period.objects.filter(budget=OuterRef("pk"), status=PeriodStatus.CLOSED).order_by().values("budget")
              .annotate(n=Count("id")).values("n")[:1])
    rows = (Budget.objects.filter(pk__in=list(budgets))
            .annotate(funded=_sum(fundings, "amount"), granted_total=_sum(payouts, "granted"),
                      closed=Coalesce(Subquery(closed), Value(0)))
            .values_list("pk", "funded", "granted_total", "closed"))
    left, count = {}, {}
    for pk, funded, granted, closed_count in rows:
        left[pk], count[pk] = funded - granted, closed_count
    return left, count


def _leftovers_of_closed(wanted: set[tuple[int, int]]) -> dict[tuple[int, int], Decimal]:
    """(budget id, index) of closed periods → what they kept of their money (`closing.carried_in`)."""
    if not wanted:
        return {}
    payouts = Payout.objects.filter(period=OuterRef("pk")).order_by().values("period")
    rows = (Period.objects.filter(budget_id__in={budget_id for budget_id, _index in wanted},
                                  index__in={index for _budget_id, index in wanted},
                                  status=PeriodStatus.CLOSED, available__isnull=False)
            .annotate(granted_total=_sum(payouts, "granted"))
            .values_list("budget_id", "index", "available", "granted_total"))
    return {(budget_id, index): max(available - granted, ZERO) for budget_id, index, available, granted in rows
            if (budget_id, index) in wanted}


def period_with_figures(period: Period) -> Period:
    """One period with the figures `periods_with_figures` gives, without computing the others'."""
    return periods_with_figures(period.budget, period=period)[0]


def payouts_unposted(*, period: Period) -> QuerySet:
    """Payouts of a closed period whose grant is not in the ledger yet (a closing to resume)."""
    return (Payout.objects.filter(period=period, granted__gt=0, grant_transaction__isnull=True)
            .select_related("person", "period__budget").order_by("id"))


def payouts_unposted_anywhere() -> QuerySet:
    """Payouts of every collective whose grant is not in the ledger yet. Beat asks every minute, so only payouts
    that can still be unposted are looked at: not paid, in a period not locked (both need the grant posted)."""
    return Payout.objects.filter(granted__gt=0, paid_on__isnull=True, period__locked_at__isnull=True,
                                 grant_transaction__isnull=True)


def payouts_owed_posted(*, budget: Budget) -> QuerySet:
    """Owed payouts of a budget, oldest first, whose grant is posted: those that received money can settle."""
    return (Payout.objects.filter(period__budget=budget, payable_amount__lt=F("granted"), paid_on__isnull=True,
                                  grant_transaction__isnull=False)
            .select_related("person").order_by("period__ends_on", "period__index", "id"))


def payouts_of_period(period: Period) -> QuerySet:
    return (Payout.objects.filter(period=period).select_related("person", "contribution")
            .order_by("person__name", "person__email", "id"))


# Payouts whose money is all in and that nobody has paid yet.
PAYABLE = Q(paid_on__isnull=True, payable_amount=F("granted"), granted__gt=0)


def payouts_of_collective(collective, *, state: str | None = None) -> QuerySet:
    payouts = (Payout.objects.of(collective).select_related("person", "contribution", "period__budget")
               .order_by("period__ends_on", "id"))
    if state == "paid":
        payouts = payouts.filter(paid_on__isnull=False)
    elif state == "payable":
        payouts = payouts.filter(PAYABLE)
    elif state == "owed":
        payouts = payouts.filter(paid_on__isnull=True, payable_amount__lt=F("granted"))
    return payouts


def earnings_of(user) -> list[dict]:
    """Per collective of `user`: declared, granted, owed, payable and paid totals."""
    from members.models import Membership

    declared = (Contribution.objects.filter(author=user, collective=OuterRef("collective"))
                .exclude(status__in=NOT_COUNTED).order_by().values("collective"))
    payouts = Payout.objects.filter(person=user, collective=OuterRef("collective")).order_by().values("collective")
    memberships = (Membership.objects.filter(user=user).select_related("collective").order_by("collective__name")
                   .annotate(declared=_sum(declared, "amount"),
                             granted=_sum(payouts, "granted"),
                             owed=_sum(payouts.filter(paid_on__isnull=True), F("granted") - F("payable_amount")),
                             payable=_sum(payouts.filter(paid_on__isnull=True), "payable_amount"),
                             paid=_sum(payouts.filter(paid_on__isnull=False), "granted")))
    return [
        {"collective": m.collective, "declared": m.declared, "granted": m.granted, "owed": m.owed,
         "payable": m.payable, "paid": m.paid}
        for m in memberships
    ]


def earnings_totals(rows: list[dict]) -> list[dict]:
    """The same figures summed per currency (collectives may use different ones)."""
    totals: dict[str, dict] = {}
    for row in rows:
        currency = row["collective"].currency
        total = totals.setdefault(currency, {"currency": currency, **{k: ZERO for k in
                                                                       ("declared", "granted", "owed", "payable", "paid")}})
        for key in ("declared", "granted", "owed", "payable", "paid"):
            total[key] += row[key]
    return list(totals.values())


def earnings_by_month(user, collectives) -> list[dict]:
    """What closings granted `user` per month of their work (the month it was performed in) and per collective,
    among `collectives`: {"month": first day, "collective", "granted"}, in one query."""
    by_pk = {collective.pk: collective for collective in collectives}
    rows = (Payout.objects.filter(person=user, collective_id__in=list(by_pk), granted__gt=0)
            .annotate(month=TruncMonth("contribution__performed_on"))
            .values("month", "collective_id").annotate(total=Sum("granted")).order_by("month", "collective_id"))
    return [{"month": row["month"], "collective": by_pk[row["collective_id"]], "granted": row["total"]}
            for row in rows]


def payouts_of_person(user, collectives) -> QuerySet:
    """A person's payouts in `collectives`, the unpaid first, then the latest periods first."""
    return (Payout.objects.filter(person=user, collective__in=list(collectives))
            .select_related("collective", "period__budget", "contribution")
            .order_by(F("paid_on").desc(nulls_first=True), "-period__ends_on", "-id"))


def declarations_under_review(user, collectives) -> QuerySet:
    """A person's declarations still pending review in `collectives`, the latest work first."""
    return (Contribution.objects.filter(author=user, collective__in=list(collectives),
                                        status=ContributionStatus.PENDING)
            .select_related("collective", "budget").order_by("-performed_on", "-id"))


def under_review_totals(user, collectives) -> list[dict]:
    """Per currency: how many declarations are pending and what they ask, and what is validated but waits for
    its period's closing (no payout yet)."""
    decided = [ContributionStatus.VALIDATED, ContributionStatus.ADJUSTED]
    rows = (Contribution.objects.filter(author=user, collective__in=list(collectives))
            .values("collective__currency")
            .annotate(pending_count=Count("id", filter=Q(status=ContributionStatus.PENDING)),
                      pending=Coalesce(Sum("amount", filter=Q(status=ContributionStatus.PENDING)), ZERO),
                      waiting=Coalesce(Sum(Coalesce("validated_amount", "amount"),
                                           filter=Q(status__in=decided, payout__isnull=True)), ZERO))
            .order_by("collective__currency"))
    return [{"currency": row["collective__currency"], "pending_count": row["pending_count"],
             "pending": row["pending"], "waiting": row["waiting"]}
            for row in rows if row["pending_count"] or row["waiting"]]


def periods_settled_unlocked(collective) -> QuerySet:
    """Closed periods not locked yet whose money is settled: every payout with money paid (so its grant posted)."""
    return periods_settled_unlocked_of(Period.objects.of(collective))


def periods_settled_unlocked_of(periods: QuerySet) -> QuerySet:
    """`periods_settled_unlocked` among `periods` (of any collectives)."""
    unpaid = Payout.objects.filter(period=OuterRef("pk"), granted__gt=0, paid_on__isnull=True)
    return periods.filter(status=PeriodStatus.CLOSED, locked_at__isnull=True).exclude(Exists(unpaid))
