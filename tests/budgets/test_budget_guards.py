"""What declared work protects on its budget: the schedule and the rate levels it used; nothing changes when refused."""

from datetime import date
from decimal import Decimal

import pytest

from budgets.models import Period, RateLevel
from budgets.services import budget_update
from contrib_budget.errors import DomainError

from .helpers import declare, make_budget, person

pytestmark = pytest.mark.django_db


def test_the_schedule_moves_while_nothing_is_declared_and_is_locked_once_work_is(collective, coordinator):
    budget = make_budget(collective, coordinator)
    budget_update(budget=budget, actor=coordinator, period_kind="month")
    assert list(Period.objects.filter(budget=budget).values_list("starts_on", flat=True)) == [
        date(2025, 1, 6), date(2025, 2, 6), date(2025, 3, 6)]

    declare(budget, person(collective, 1), "80.00")
    with pytest.raises(DomainError) as refused:
        budget_update(budget=budget, actor=coordinator, period_kind="week")
    assert refused.value.code == "schedule_locked" and set(refused.value.fields) == {"period_kind"}
    budget.refresh_from_db()
    assert budget.period_kind == "month" and Period.objects.filter(budget=budget).count() == 3


def test_a_rate_level_used_by_a_declaration_stays(collective, coordinator):
    budget = make_budget(collective, coordinator, rate_levels=[{"name": "Junior", "hourly_rate": "20.00"},
                                                               {"name": "Senior", "hourly_rate": "40.00"}])
    junior, senior = budget.rate_levels.order_by("position")
    work = declare(budget, person(collective, 1), "40.00")
    work.rate_level = senior
    work.save(update_fields=["rate_level"])

    budget_update(budget=budget, actor=coordinator, rate_levels=[{"id": senior.pk, "name": "Senior",
                                                                  "hourly_rate": "40.00"}])
    assert list(RateLevel.objects.filter(budget=budget)) == [senior]
    with pytest.raises(DomainError) as refused:
        budget_update(budget=budget, actor=coordinator, rate_levels=[{"name": "Tout le monde", "hourly_rate": "30"}])
    assert refused.value.code == "rate_level_in_use" and list(refused.value.fields) == ["rate_levels"]
    assert list(RateLevel.objects.filter(budget=budget).values_list("name", "hourly_rate")) == [
        ("Senior", Decimal("40.00"))]
    assert junior.pk not in RateLevel.objects.values_list("pk", flat=True)
