"""Irreversible budget actions ask in figures before, and report in figures after."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from budgets import outcomes
from budgets.models import Payout
from budgets.selectors import period_with_figures
from contributions.closing import period_close

from .helpers import declare, make_budget, period_at, person

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def test_the_close_question_gives_validated_and_available_and_says_when_it_is_short(collective, coordinator):
    budget = make_budget(collective, coordinator, amount_per_period="500.00")
    declare(budget, person(collective, 1), "400.00")
    declare(budget, person(collective, 2), "350.00")
    question = outcomes.period_close_question(period_with_figures(period_at(budget, 0)), "EUR")
    assert "€750.00 validated, €500.00 available" in question
    assert "you will be asked how to share it" in question


def test_closing_before_the_end_warns_with_the_days_left(collective, coordinator):
    today = timezone.localdate()
    budget = make_budget(collective, coordinator, starts_on=today - timedelta(days=today.weekday()),
                         ends_on=today + timedelta(days=60))
    period = period_at(budget, 0)
    days = (period.ends_on - today).days + 1
    warning = outcomes.period_close_warning(period)
    assert f"({days} day" in warning and "no declaration can be made" in warning
    assert outcomes.period_close_warning(period_at(make_budget(collective, coordinator, name="Past"), 0)) == ""


def test_the_pages_report_closing_and_paying_in_figures(client, collective, coordinator, accountant):
    budget = make_budget(collective, coordinator)
    declare(budget, person(collective, 1), "300.00")
    declare(budget, person(collective, 2), "200.00")
    period = period_at(budget, 0)
    client.force_login(coordinator)
    page = client.post(f"/c/{collective.slug}/periods/{period.pk}/close/", HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert "2 declarations granted, €500.00 of €1,000.00 available" in page.content.decode()

    payouts = list(Payout.objects.filter(period=period).values_list("pk", flat=True))
    client.force_login(accountant)
    page = client.post(f"/c/{collective.slug}/payouts/mark-paid/", {"payouts": payouts, "paid_on": "2025-02-03"},
                       HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert "2 payouts marked paid: €500.00 in total." in page.content.decode()

    page = client.get(f"/c/{collective.slug}/accounting/", HTTP_ACCEPT_LANGUAGE="en")
    assert "its €500.00 of payouts" in page.content.decode()  # the lock's confirmation
    page = client.post(f"/c/{collective.slug}/accounting/periods/{period.pk}/lock/", HTTP_ACCEPT_LANGUAGE="en",
                       follow=True)
    assert "locked, with €500.00 of payouts paid" in page.content.decode()
    period.refresh_from_db()
    assert period.locked_at is not None


def test_the_payouts_form_asks_with_the_count_and_total_of_the_selection(client, collective, coordinator):
    budget = make_budget(collective, coordinator)
    declare(budget, person(collective, 1), "300.00")
    period_close(period=period_at(budget, 0), actor=coordinator)
    client.force_login(coordinator)
    html = client.get(f"/c/{collective.slug}/payouts/?state=payable", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-confirm-selection="payouts"' in html and "{count}" in html and "{total}" in html
    assert f'data-amount="{Decimal("300.00")}"' in html


def test_cancelling_a_funding_asks_with_its_amount_and_reports_it(client, collective, coordinator):
    budget = make_budget(collective, coordinator, received="2500.00")
    funding = budget.fundings.get()
    client.force_login(coordinator)
    html = client.get(f"/c/{collective.slug}/budgets/{budget.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Cancelling the funding from Région takes its €2,500.00 (received) out of the budget" in html
    page = client.post(f"/c/{collective.slug}/budgets/{budget.pk}/fundings/{funding.pk}/cancel/",
                       {"reason": "Typed twice"}, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert "The funding from Région is cancelled: €2,500.00 taken out of Semaine." in page.content.decode()
    funding.refresh_from_db()
    assert funding.cancelled_at is not None
