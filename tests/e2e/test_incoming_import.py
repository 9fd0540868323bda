"""A coordinator imports a HelloAsso export: previews it, changes a line, confirms, reads the summary."""

from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from budgets.fundings import funding_create
from budgets.models import Budget, Funding

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SAMPLE = Path(__file__).parents[1] / "accounting" / "data" / "helloasso_payments.csv"


def test_a_coordinator_imports_incoming_money_from_a_preview_to_the_summary(page, login, collective, coordinator):
    EmailAddress.objects.create(user=coordinator, email=coordinator.email, verified=True, primary=True)
    budget = Budget.objects.create(collective=collective, name="Tiers-lieu", starts_on="2025-01-01")
    pledge = funding_create(budget=budget, actor=coordinator, source="Marie Dupont", amount="50.00")
    login(page, coordinator.email)
    page.goto(f"/c/{collective.slug}/budgets/")
    page.click("text=Import incoming money")
    page.set_input_files("input[name=file]", str(SAMPLE))
    page.select_option("select[name=format]", "helloasso")
    page.select_option("select[name=budget]", str(budget.pk))
    page.click("button:has-text('Preview')")

    expect(page.locator("tr[data-line='2']")).to_contain_text("Marie Dupont")
    expect(page.locator("select[name=action-2]")).to_have_value("receive")
    expect(page.locator("select[name=funding-2]")).to_have_value(str(pledge.pk))
    expect(page.locator("select[name=action-3]")).to_have_value("create")
    assert Funding.objects.filter(collective=collective).count() == 1  # the preview recorded nothing
    page.select_option("select[name=action-5]", "skip")
    page.click("button:has-text('Confirm the import')")

    summary = page.locator("#summary + .table-wrap")
    expect(summary).to_contain_text("Pledged fundings received")
    expect(summary.locator("tr", has_text="Skipped")).to_contain_text("120.00")
    expect(page.locator("tr[data-line='3']")).to_contain_text("record a new received funding")
    pledge.refresh_from_db()
    assert pledge.status == "received" and str(pledge.received_on) == "2025-03-15"
    assert Funding.objects.get(source="Jean Martin").status == "received"
    assert not Funding.objects.filter(source="Hugo Petit").exists()
