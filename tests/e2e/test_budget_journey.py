"""A coordinator sets up a budget with a rate grid, adds money, and closes a period."""

from datetime import date

import pytest
from allauth.account.models import EmailAddress

from budgets.models import Budget, Period
from contributions.models import Payout
from members.models import Role
from tests.budgets.helpers import declare
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_coordinator_creates_a_budget_funds_it_and_closes_a_period(page, login, collective, coordinator):
    EmailAddress.objects.create(user=coordinator, email=coordinator.email, verified=True, primary=True)
    login(page, coordinator.email)
    page.goto(f"/c/{collective.slug}/budgets/")
    page.click("text=New budget")
    page.fill("input[name=name]", "Semaine atelier")
    page.select_option("select[name=period_kind]", "week")
    page.fill("input[name=starts_on]", "2025-01-06")
    page.fill("input[name=ends_on]", "2025-02-02")
    page.fill("input[name=amount_per_period]", "1000.00")
    page.fill("input[name=rates-0-name]", "Simple")
    page.fill("input[name=rates-0-hourly_rate]", "15.00")
    page.click("button:has-text('Save')")
    page.wait_for_selector("#periods")
    budget = Budget.objects.get(name="Semaine atelier")
    assert budget.rate_levels.get().name == "Simple"
    assert page.locator("#periods tbody tr").count() == 4

    page.click("text=Add a funding")
    page.fill("input[name=source]", "Région")
    page.fill("input[name=amount]", "5000.00")
    page.check("input[name=status][value=received]")
    page.click("button:has-text('Add')")
    page.wait_for_selector("#fundings")
    assert "".join(c for c in page.inner_text("#money-received") if c.isdigit()) == "500000"

    people = [MembershipFactory(collective=collective, user=UserFactory(email=f"w{n}@example.org", name=f"W{n}"),
                                roles=[Role.CONTRIBUTOR.value]).user for n in range(3)]
    for someone, amount in zip(people, ("600.00", "300.00", "300.00")):
        declare(budget, someone, amount, day=date(2025, 1, 7))
    page.reload()
    first = Period.objects.get(budget=budget, index=0)
    page.click(f"tr[data-period='{first.pk}'] button:has-text('Close the period')")
    page.wait_for_selector("#payouts")
    granted = sorted(page.locator("#payouts td.granted").all_inner_texts())
    assert [g.replace("\u00a0", "") for g in granted] == ["€250.00", "€250.00", "€500.00"]
    assert "83" in page.inner_text("#payouts")
    assert Payout.objects.filter(period=first).count() == 3
