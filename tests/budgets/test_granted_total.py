"""Each budget and each period keep what their closings granted (Budget.granted_total, Period.granted_total, kept
by triggers): pages read those columns instead of summing every payout of the budget's history or the period's."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from budgets.corrections import payout_reverse
from budgets.ledger_audit import books_violations, granted_total_violations
from budgets.models import Budget, Payout, Period
from contrib_budget.db_roles import connected_as_owner
from contributions.closing import period_close

from .helpers import declare, make_budget, period_at, person

pytestmark = pytest.mark.django_db
D = Decimal


def granted_totals(*budgets: Budget) -> list[Decimal]:
    return [Budget.objects.get(pk=budget.pk).granted_total for budget in budgets]


def periods_granted(first: Budget, second: Budget) -> list[Decimal]:
    """The first budget's two periods, then the second's first."""
    return [period_at(budget, index).granted_total for budget, index in ((first, 0), (first, 1), (second, 0))]


@pytest.fixture
def two_granted(collective, coordinator):
    """Two budgets, each with two periods closed: 100 + 250 granted in the first, 40 in the second."""
    first, second = (make_budget(collective, coordinator, name=name) for name in ("First", "Second"))
    someone, other = person(collective, 1), person(collective, 2)
    for budget, grants in ((first, [("100.00", "250.00"), ("30.00",)]), (second, [("40.00",), ()])):
        for index, amounts in enumerate(grants):
            for author, amount in zip((someone, other), amounts, strict=False):
                declare(budget, author, amount, day=period_at(budget, index).starts_on)
            period_close(period=period_at(budget, index), actor=coordinator)
    return first, second


def test_closings_and_a_reversal_keep_each_budgets_granted_total(collective, coordinator, two_granted):
    first, second = two_granted
    assert granted_totals(first, second) == [D("380.00"), D("40.00")]
    assert periods_granted(first, second) == [D("350.00"), D("30.00"), D("40.00")]
    payout_reverse(payout=Payout.objects.get(period__budget=first, granted=D("250.00")), actor=coordinator,
                   reason="Declared twice")
    assert granted_totals(first, second) == [D("130.00"), D("40.00")]
    assert periods_granted(first, second) == [D("100.00"), D("30.00"), D("40.00")]
    assert books_violations(collective) == []


def test_a_budget_or_period_saved_from_an_instance_read_before_its_closings_keeps_its_granted_total(two_granted):
    first, second = two_granted  # as they were made, before their periods closed
    first.name = "Renamed"
    first.save()
    stale = period_at(first, 0)
    stale.granted_total = D("0.00")
    stale.save()
    assert granted_totals(first, second) == [D("380.00"), D("40.00")]
    assert periods_granted(first, second) == [D("350.00"), D("30.00"), D("40.00")]
    assert Budget.objects.get(pk=first.pk).name == "Renamed"


def test_a_grant_changed_in_sql_moves_its_budgets_total(collective, two_granted):
    first, second = two_granted
    large = Payout.objects.get(period__budget=first, granted=D("250.00")).pk
    with connection.cursor() as cursor:
        cursor.execute("UPDATE budgets_payout SET granted = granted - 50, payable_amount = payable_amount - 50"
                       " WHERE id = %s", [large])
    assert granted_totals(first, second) == [D("330.00"), D("40.00")]
    assert periods_granted(first, second) == [D("300.00"), D("30.00"), D("40.00")]
    assert granted_total_violations(collective) == []


@pytest.mark.django_db(transaction=True)
def test_payouts_deleted_by_the_owner_take_their_grants_from_each_budget(collective, two_granted):
    """The application's role may not delete a payout; the owner's maintenance may, across budgets at once."""
    first, second = two_granted
    small = Payout.objects.get(period__budget=first, granted=D("30.00")).pk
    with connected_as_owner(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM budgets_payout WHERE id = %s OR period_id = %s", [small, period_at(second, 0).pk])
    assert granted_totals(first, second) == [D("350.00"), D("0.00")]
    assert periods_granted(first, second) == [D("350.00"), D("0.00"), D("0.00")]
    assert granted_total_violations(collective) == []


@pytest.mark.kept_totals_differ
def test_a_total_that_differs_from_the_payouts_is_reported(collective, two_granted):
    first, _second = two_granted
    Budget.objects.filter(pk=first.pk).update(granted_total=D("1.00"))
    Period.objects.filter(pk=period_at(first, 1).pk).update(granted_total=D("2.00"))
    assert granted_total_violations(collective) == [
        f"budget #{first.pk} keeps 1.00 as granted but its payouts grant 380.00",
        f"period #{period_at(first, 1).pk} keeps 2.00 as granted but its payouts grant 30.00"]
    assert granted_total_violations(collective) == books_violations(collective)


def test_the_budgets_pages_and_api_read_the_total_without_reading_payouts(client, api, collective, coordinator,
                                                                        two_granted):
    first, _second = two_granted
    client.force_login(coordinator)
    for reader, path in ((client, f"/c/{collective.slug}/budgets/"),
                         (client, f"/c/{collective.slug}/budgets/{first.pk}/"),
                         (api(coordinator), f"/api/v1/collectives/{collective.slug}/budgets/")):
        with CaptureQueriesContext(connection) as queries:
            response = reader.get(path)
        assert response.status_code == 200, path
        budget_reads = [query["sql"] for query in queries if query["sql"].startswith('SELECT "budgets_budget"')]
        assert budget_reads and not [sql for sql in budget_reads if "budgets_payout" in sql], path
    # Nor do the periods' figures, on a budget's page and in the periods API.
    for reader, path in ((client, f"/c/{collective.slug}/budgets/{first.pk}/"),
                         (api(coordinator), f"/api/v1/collectives/{collective.slug}/budgets/{first.pk}/periods/")):
        with CaptureQueriesContext(connection) as queries:
            response = reader.get(path)
        assert response.status_code == 200, path
        assert not [query["sql"] for query in queries if "budgets_payout" in query["sql"]], path
    listed = api(coordinator).get(f"/api/v1/collectives/{collective.slug}/budgets/").json()
    assert {row["name"]: row["granted"] for row in listed["results"]} == {"First": "380.00", "Second": "40.00"}
