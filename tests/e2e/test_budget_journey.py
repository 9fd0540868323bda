"""A coordinator sets up a budget with a rate grid, adds money, and closes a period."""

from datetime import date

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from budgets.models import Budget, Payout, Period
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
    for someone, amount in zip(people, ("600.00", "300.00", "300.00"), strict=True):
        declare(budget, someone, amount, day=date(2025, 1, 7))
    page.reload()
    first = Period.objects.get(budget=budget, index=0)
    # Closing asks first, with the figures, and warns that the period is cut short; cancelling changes nothing.
    close = f"tr[data-period='{first.pk}'] button:has-text('Close the period')"
    page.click(close)
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("€1,200.00 validated")
    expect(dialog).to_contain_text("€1,000.00 available")
    expect(dialog.locator("#confirm-dialog-warning")).to_be_hidden()  # the week of 6 January 2025 is over
    dialog.get_by_role("button", name="Cancel").click()
    first.refresh_from_db()
    assert first.status == "open"
    page.click(close)
    dialog.locator("#confirm-dialog-ok").click()
    page.wait_for_selector("#payouts")
    expect(page.locator(".messages")).to_contain_text("3 declarations granted, €1,000.00 of €1,000.00 available")
    granted = sorted(page.locator("#payouts td.granted").all_inner_texts())
    assert [g.replace("\u00a0", "") for g in granted] == ["€250.00", "€250.00", "€500.00"]
    assert "83" in page.inner_text("#payouts")
    assert Payout.objects.filter(period=first).count() == 3


def test_paying_and_locking_ask_first_with_the_figures(page, login, collective, coordinator, accountant):
    from contributions.closing import period_close
    from tests.budgets.helpers import make_budget, period_at, person

    EmailAddress.objects.create(user=accountant, email=accountant.email, verified=True, primary=True)
    budget = make_budget(collective, coordinator)
    for n, amount in ((1, "300.00"), (2, "120.50")):
        declare(budget, person(collective, n), amount)
    period = period_at(budget, 0)
    period_close(period=period, actor=coordinator)
    login(page, accountant.email)
    page.goto(f"/c/{collective.slug}/payouts/?state=payable")
    page.check("#payouts input[name=payouts] >> nth=0")
    page.check("#payouts input[name=payouts] >> nth=1")
    page.click("button:has-text('Mark paid')")
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Payouts selected: 2, for €420.50 in total.")
    dialog.get_by_role("button", name="Cancel").click()
    assert not Payout.objects.filter(paid_on__isnull=False).exists()
    page.click("button:has-text('Mark paid')")
    dialog.locator("#confirm-dialog-ok").click()
    expect(page.locator(".messages")).to_contain_text("2 payouts marked paid: €420.50 in total.")
    assert Payout.objects.filter(paid_on__isnull=False).count() == 2

    page.goto(f"/c/{collective.slug}/accounting/")
    page.click("button:has-text('Lock this period for good')")
    expect(dialog).to_contain_text("its €420.50 of payouts")
    page.keyboard.press("Escape")
    period.refresh_from_db()
    assert period.locked_at is None
    page.click("button:has-text('Lock this period for good')")
    dialog.locator("#confirm-dialog-ok").click()
    expect(page.locator(".messages")).to_contain_text("locked, with €420.50 of payouts paid")
    period.refresh_from_db()
    assert period.locked_at is not None


def test_cancelling_a_funding_asks_first_and_cancelling_the_dialog_keeps_it(page, login, collective, coordinator):
    from tests.budgets.helpers import make_budget

    EmailAddress.objects.create(user=coordinator, email=coordinator.email, verified=True, primary=True)
    budget = make_budget(collective, coordinator, received="2500.00")
    funding = budget.fundings.get()
    login(page, coordinator.email)
    page.goto(f"/c/{collective.slug}/budgets/{budget.pk}/")
    row = page.locator(f"#funding-{funding.pk}")
    row.locator("input[name=reason]").fill("Typed twice")
    row.get_by_role("button", name="Cancel").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("takes its €2,500.00 (received) out of the budget")
    dialog.get_by_role("button", name="Cancel", exact=True).click()
    funding.refresh_from_db()
    assert funding.cancelled_at is None
    row.get_by_role("button", name="Cancel").click()
    expect(dialog.locator("#confirm-dialog-ok")).to_have_text("Cancel the funding")
    dialog.locator("#confirm-dialog-ok").click()
    expect(page.locator(".messages")).to_contain_text("€2,500.00 taken out of Semaine")
    funding.refresh_from_db()
    assert funding.cancelled_at is not None
