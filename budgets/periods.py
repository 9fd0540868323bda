"""Periods of a budget: created from its start date and period kind, lazily for open-ended budgets."""

import calendar
from datetime import date, timedelta

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from contrib_budget.errors import DomainError

from .models import Budget, Period, PeriodKind

# A single-period budget without an end date runs until the coordinators close it.
OPEN_END = date(9999, 12, 31)
MAX_PERIODS = 1000
MONTHS: dict[str, int] = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_bounds(*, budget: Budget, index: int) -> tuple[date, date] | None:
    """Start and end (inclusive) of the period `index`, or None past the budget's end."""
    if budget.period_kind == PeriodKind.NONE:
        return (budget.starts_on, budget.ends_on or OPEN_END) if index == 0 else None
    if budget.period_kind == PeriodKind.WEEK:
        start = budget.starts_on + timedelta(weeks=index)
        end = start + timedelta(days=6)
    else:
        step = MONTHS[budget.period_kind]
        start = _add_months(budget.starts_on, step * index)
        end = _add_months(budget.starts_on, step * (index + 1)) - timedelta(days=1)
    if budget.ends_on is not None:
        if start > budget.ends_on:
            return None
        end = min(end, budget.ends_on)
    return start, end


def period_count(budget: Budget) -> int | None:
    """How many periods the budget has in all; None when it is open-ended."""
    if budget.period_kind == PeriodKind.NONE:
        return 1
    if budget.ends_on is None:
        return None
    index = 0
    while period_bounds(budget=budget, index=index) is not None:
        index += 1
        if index > MAX_PERIODS:
            break
    return index


def _too_many() -> DomainError:
    return DomainError(
        _("This schedule would create more than %(max)s periods: choose a longer period or a closer end date.")
        % {"max": MAX_PERIODS},
        "too_many_periods",
        fields={"ends_on": [_("Too many periods.")]},
    )


def periods_ensure(*, budget: Budget, up_to: date) -> list[Period]:
    """Create the missing periods of `budget`: all of them when it ends, else up to
    the one containing `up_to` and the next one."""
    existing = list(Period.objects.filter(budget=budget).order_by("index"))
    if budget.ends_on is None and existing and existing[-1].starts_on > up_to:
        return existing
    new = []
    index = len(existing)
    while (bounds := period_bounds(budget=budget, index=index)) is not None:
        if index >= MAX_PERIODS:
            raise _too_many()
        new.append(Period(collective_id=budget.collective_id, budget=budget, index=index,
                          starts_on=bounds[0], ends_on=bounds[1]))
        index += 1
        if budget.ends_on is None and bounds[0] > up_to:
            break
    if not new:
        return existing
    Period.objects.bulk_create(new, ignore_conflicts=True)
    return list(Period.objects.filter(budget=budget).order_by("index"))


def periods_initial(*, budget: Budget) -> list[Period]:
    """The periods of a new budget: all of them if it ends, else up to the current one and the next."""
    return periods_ensure(budget=budget, up_to=max(timezone.localdate(), budget.starts_on))


def period_for_date(*, budget: Budget, day: date) -> Period:
    """The period of `budget` that contains `day`, created if it does not exist yet."""
    if day < budget.starts_on or (budget.ends_on is not None and day > budget.ends_on):
        raise DomainError(
            _("%(day)s is outside the budget (from %(start)s%(end)s).") % {
                "day": date_format(day), "start": date_format(budget.starts_on),
                "end": _(" to %(end)s") % {"end": date_format(budget.ends_on)} if budget.ends_on else "",
            },
            "outside_budget",
            fields={"performed_on": [_("This date is outside the budget.")]},
        )
    period = Period.objects.filter(budget=budget, starts_on__lte=day, ends_on__gte=day).first()
    if period is None:
        periods_ensure(budget=budget, up_to=day)
        period = Period.objects.get(budget=budget, starts_on__lte=day, ends_on__gte=day)
    return period
