"""The money a period of a budget can grant: its own amount (fixed, or an even share of the funds not granted
yet), what the period before it left, never more than the funds not granted."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Sum

from contrib_budget.money import ZERO, split_largest_remainder

from .models import Budget, Funding, LeftoverPolicy, Payout, Period, PeriodStatus
from .periods import period_count


def _granted_total(budget: Budget, **filters: Any) -> Decimal:

    return Payout.objects.filter(period__budget=budget, **filters).aggregate(s=Sum("granted"))["s"] or ZERO


def funded_total(budget: Budget) -> Decimal:
    """Every funding of the budget, received and pledged, but not the cancelled ones."""
    return Funding.objects.filter(budget=budget, cancelled_at__isnull=True).aggregate(s=Sum("amount"))["s"] or ZERO


def funds_not_granted(budget: Budget) -> Decimal:
    return funded_total(budget) - _granted_total(budget)


@dataclass(frozen=True)
class Spread:
    """The even spread of a budget without an amount per period, as it stands now."""

    first_open: int
    shares: list[Decimal]


def spread_of(budget: Budget, count: int) -> Spread:
    """What is not granted yet (less the leftover the first open period carries in) spread exactly
    over the periods still open, so what the periods offer always adds up to the funds."""
    closed = Period.objects.filter(budget=budget, status=PeriodStatus.CLOSED).count()
    if closed >= count:
        return Spread(closed, [])
    carry = carried_in(budget=budget, period=Period(budget=budget, index=closed))
    return even_spread(closed=closed, count=count, pool=funds_not_granted(budget) - carry)


def even_spread(*, closed: int, count: int, pool: Decimal) -> Spread:
    """`pool` shared exactly over the periods still open, those from index `closed` on (pure)."""
    if closed >= count:
        return Spread(closed, [])
    return Spread(closed, split_largest_remainder(max(pool, ZERO), [Decimal(1)] * (count - closed)))


def period_amount(*, budget: Budget, period: Period, count: int | None, spread: Spread | None = None) -> Decimal:
    """The period's own amount: `amount_per_period`, or its share of the funds not granted yet spread
    evenly over the periods still open (an open-ended budget offers all the funds not granted)."""
    if budget.amount_per_period is not None:
        return budget.amount_per_period
    if count is None:
        return funds_not_granted(budget)
    spread = spread or spread_of(budget, count)
    position = period.index - spread.first_open
    return spread.shares[position] if 0 <= position < len(spread.shares) else ZERO


def carried_in(*, budget: Budget, period: Period) -> Decimal:
    if budget.leftover_policy != LeftoverPolicy.CARRY_OVER or period.index == 0:
        return ZERO
    previous = Period.objects.filter(budget=budget, index=period.index - 1, status=PeriodStatus.CLOSED).first()
    if previous is None or previous.available is None:
        return ZERO
    return max(previous.available - _granted_total(budget, period=previous), ZERO)


def period_available(*, budget: Budget, period: Period) -> Decimal:
    """Money available = period amount + carried-over leftover, never more than the funds not granted."""
    own = period_amount(budget=budget, period=period, count=period_count(budget))
    return max(min(own + carried_in(budget=budget, period=period), funds_not_granted(budget)), ZERO)
