"""Reads worth naming: budgets with their money, periods with their figures, payouts, earnings."""

from decimal import Decimal

from django.db.models import CharField, Count, DecimalField, Exists, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, Concat

from contributions.models import Contribution, ContributionStatus, Payout

from .models import Budget, Funding, FundingStatus, LedgerTransaction, Period, PeriodStatus

ZERO = Decimal("0.00")
MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)


def _sum(queryset, column: str):
    return Coalesce(
        Subquery(queryset.annotate(total=Sum(column)).values("total")[:1]), Value(ZERO), output_field=MONEY_FIELD,
    )


def _grant_posted():
    return Exists(LedgerTransaction.objects.filter(
        collective_id=OuterRef("collective_id"),
        idempotency_key=Concat(Value("grant:"), Cast(OuterRef("contribution_id"), CharField())),
    ))


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
    """The periods of a budget (or only `period`) with `requested`, `validated`, `granted`, `available_now`
    (frozen once closed, projected while open) and `over`; the same few queries for any number of declarations."""
    from .closing import carried_in, funds_not_granted, period_amount, spread_of
    from .periods import period_count

    contributions = Contribution.objects.filter(period=OuterRef("pk")).order_by().values("period")
    payouts = Payout.objects.filter(period=OuterRef("pk")).order_by().values("period")
    queryset = Period.objects.filter(budget=budget).order_by("index")
    if period is not None:
        queryset = queryset.filter(pk=period.pk)
    periods = list(
        queryset.annotate(
            requested=_sum(contributions.exclude(status=ContributionStatus.REJECTED), "amount"),
            validated=_sum(contributions.filter(status__in=[ContributionStatus.VALIDATED, ContributionStatus.ADJUSTED]),
                           Coalesce("validated_amount", "amount")),
            granted=_sum(payouts, "granted"),
            declaration_count=Coalesce(Subquery(contributions.annotate(n=Count("id")).values("n")[:1]), Value(0)),
        )
    )
    left = funds_not_granted(budget)
    count = period_count(budget)
    spread = spread_of(budget, count) if budget.amount_per_period is None and count is not None else None
    previous = None
    for current in periods:
        if current.available is None:
            carry = ZERO
            # Listing every period, only the one after a closed period carries money in.
            if (previous is None and current.index > 0) or (previous is not None
                                                             and previous.status == PeriodStatus.CLOSED):
                carry = carried_in(budget=budget, period=current)
            own = period_amount(budget=budget, period=current, count=count, spread=spread)
            current.available_now = max(min(own + carry, left), ZERO)
        else:
            current.available_now = current.available
        current.over = period_is_over(requested=current.requested, validated=current.validated,
                                      available=current.available_now)
        previous = current
    return periods


def period_with_figures(period: Period) -> Period:
    """One period with the figures `periods_with_figures` gives, without computing the others'."""
    return periods_with_figures(period.budget, period=period)[0]


def payouts_unposted(*, period: Period) -> QuerySet:
    """Payouts of a closed period whose grant is not in the ledger yet (a closing to resume)."""
    return (Payout.objects.filter(period=period, granted__gt=0).annotate(posted=_grant_posted())
            .filter(posted=False).select_related("person", "period__budget").order_by("id"))


def payouts_unposted_anywhere() -> QuerySet:
    """Payouts of every collective whose grant is not in the ledger yet. Beat asks every minute, so only payouts
    that can still be unposted are looked at: not paid, in a period not locked (both need the grant posted)."""
    return (Payout.objects.filter(granted__gt=0, paid_on__isnull=True, period__locked_at__isnull=True)
            .annotate(posted=_grant_posted()).filter(posted=False))


def payouts_owed_posted(*, budget: Budget) -> QuerySet:
    """Owed payouts of a budget, oldest first, whose grant is posted: those that received money can settle."""
    return (Payout.objects.filter(period__budget=budget, payable_amount__lt=F("granted"), paid_on__isnull=True)
            .annotate(posted=_grant_posted()).filter(posted=True)
            .select_related("person").order_by("period__ends_on", "period__index", "id"))


def payouts_of_period(period: Period) -> QuerySet:
    return (Payout.objects.filter(period=period).select_related("person", "contribution")
            .order_by("person__name", "person__email", "id"))


def payouts_of_collective(collective, *, state: str | None = None) -> QuerySet:
    payouts = (Payout.objects.of(collective).select_related("person", "contribution", "period__budget")
               .order_by("period__ends_on", "id"))
    if state == "paid":
        payouts = payouts.filter(paid_on__isnull=False)
    elif state == "payable":
        payouts = payouts.filter(paid_on__isnull=True, payable_amount=F("granted"), granted__gt=0)
    elif state == "owed":
        payouts = payouts.filter(paid_on__isnull=True, payable_amount__lt=F("granted"))
    return payouts


def earnings_of(user) -> list[dict]:
    """Per collective of `user`: declared, granted, owed, payable and paid totals."""
    from members.models import Membership

    declared = (Contribution.objects.filter(author=user, collective=OuterRef("collective"))
                .exclude(status=ContributionStatus.REJECTED).order_by().values("collective"))
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



def periods_settled_unlocked(collective) -> QuerySet:
    """Closed periods not locked yet whose money is settled: every payout with money paid (so its grant posted)."""
    unpaid = Payout.objects.filter(period=OuterRef("pk"), granted__gt=0, paid_on__isnull=True)
    return Period.objects.of(collective).filter(status=PeriodStatus.CLOSED, locked_at__isnull=True).exclude(
        Exists(unpaid))
