"""Each period keeps what its declarations ask (Period.requested_total, validated_total, claim_count; triggers of
contributions migration 0008): a period's figures read its row instead of summing its declarations. Besides these
tests, every test that reaches the database checks the kept totals against the sums when it ends
(tests/conftest.py)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from budgets.models import Period, PeriodStatus
from budgets.selectors import with_figures
from contrib_budget.db_roles import connected_as_owner
from contributions.closing import period_close
from contributions.demand import demand_total_violations
from contributions.models import Contribution, ContributionStatus, ValueMode
from contributions.services import (
    Declaration,
    contribution_adjust,
    contribution_amend,
    contribution_declare,
    contribution_reject,
    contribution_validate,
    contribution_withdraw,
)
from members.models import Membership
from tests.budgets.helpers import declare, make_budget, period_at, person

pytestmark = pytest.mark.django_db
D = Decimal


def kept(period: Period) -> tuple[Decimal, Decimal, int]:
    period = Period.objects.get(pk=period.pk)
    return period.requested_total, period.validated_total, period.claim_count


def declared(budget, author, amount: str, *, day=None) -> Contribution:
    return contribution_declare(
        collective=budget.collective, membership=Membership.objects.get(collective=budget.collective, user=author),
        declaration=Declaration(budget=budget, performed_on=day or budget.starts_on, description="Permanence",
                                minutes=0, value_mode=ValueMode.SELF_ASSESSED, amount=D(amount)))


def test_declaring_reviewing_amending_and_closing_keep_each_periods_totals(collective, coordinator):
    budget = make_budget(collective, coordinator)
    first, second = period_at(budget, 0), period_at(budget, 1)
    ana, bob = person(collective, 1), person(collective, 2)
    reviewer = Membership.objects.get(collective=collective, user=coordinator)
    validated, adjusted, rejected = (declared(budget, author, amount)
                                     for author, amount in ((ana, "100.00"), (bob, "200.00"), (ana, "50.00")))
    withdrawn = declared(budget, bob, "30.00")
    moved = declared(budget, ana, "70.00", day=second.starts_on)
    assert kept(first) == (D("380.00"), D("0.00"), 4)
    assert kept(second) == (D("70.00"), D("0.00"), 1)

    contribution_validate(contribution=validated, membership=reviewer)
    contribution_adjust(contribution=adjusted, membership=reviewer, amount="150.00", reason="Two hours less")
    contribution_reject(contribution=rejected, membership=reviewer, reason="Declared twice")
    contribution_withdraw(contribution=withdrawn, actor=bob)
    assert kept(first) == (D("300.00"), D("250.00"), 4)

    contribution_amend(contribution=moved, actor=ana, changes={"performed_on": first.starts_on, "amount": D("80.00")})
    assert kept(first) == (D("380.00"), D("250.00"), 5)
    assert kept(second) == (D("0.00"), D("0.00"), 0)

    # The closing carries the pending declaration to the next period.
    period_close(period=first, actor=coordinator)
    assert Contribution.objects.get(pk=moved.pk).period_id == second.pk
    assert kept(first) == (D("300.00"), D("250.00"), 4)
    assert kept(second) == (D("80.00"), D("0.00"), 1)
    assert demand_total_violations(collective) == []


def test_statements_writing_many_declarations_move_each_period_once(collective, coordinator):
    """The bench's and the demo's SQL insert and change declarations many at a time."""
    budget = make_budget(collective, coordinator)
    first, second = period_at(budget, 0), period_at(budget, 1)
    author = person(collective, 1)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO contributions_contribution (performed_on, description, minutes, value_mode, amount, status,"
            " decision_reason, attachment, attachment_name, created_at, updated_at, author_id, budget_id,"
            " collective_id, period_id)"
            " SELECT p.starts_on, 'Batch', 0, 'self_assessed', n * 10, 'pending', '', '', '', now(), now(), %s, %s,"
            " %s, p.id FROM budgets_period p, generate_series(1, 3) n WHERE p.id IN (%s, %s)",
            [author.pk, budget.pk, collective.pk, first.pk, second.pk])
        assert kept(first) == kept(second) == (D("60.00"), D("0.00"), 3)
        cursor.execute("UPDATE contributions_contribution SET status = 'validated', validated_amount = amount / 2"
                       " WHERE period_id IN (%s, %s) AND amount > 10", [first.pk, second.pk])
        assert kept(first) == kept(second) == (D("60.00"), D("25.00"), 3)
        cursor.execute("UPDATE contributions_contribution SET period_id = %s WHERE period_id = %s",
                       [second.pk, first.pk])
    assert kept(first) == (D("0.00"), D("0.00"), 0)
    assert kept(second) == (D("120.00"), D("50.00"), 6)


def test_a_change_that_asks_nothing_more_or_less_writes_no_period(collective, coordinator):
    budget = make_budget(collective, coordinator)
    contribution = declare(budget, person(collective, 1), "40.00")
    location = "SELECT ctid FROM budgets_period WHERE id = %s"
    with connection.cursor() as cursor:
        cursor.execute(location, [contribution.period_id])
        before = cursor.fetchone()
        Contribution.objects.filter(pk=contribution.pk).update(description="Permanence du samedi")
        Contribution.objects.filter(pk=contribution.pk).update(validated_amount=D("40.00"))
        cursor.execute(location, [contribution.period_id])
        assert cursor.fetchone() == before


def test_a_period_saved_from_an_instance_read_before_its_declarations_keeps_what_they_ask(collective, coordinator):
    budget = make_budget(collective, coordinator)
    stale = period_at(budget, 0)
    declare(budget, person(collective, 1), "40.00")
    stale.status, stale.available = PeriodStatus.CLOSED, D("0.00")
    stale.save()
    assert kept(stale) == (D("40.00"), D("40.00"), 1)
    assert Period.objects.get(pk=stale.pk).status == PeriodStatus.CLOSED


@pytest.mark.django_db(transaction=True)
def test_declarations_deleted_by_the_owner_leave_their_periods(collective, coordinator):
    """Declarations are never deleted by the application (PROTECT); the owner's maintenance may, many at once."""
    budget = make_budget(collective, coordinator)
    first, second = period_at(budget, 0), period_at(budget, 1)
    author = person(collective, 1)
    declare(budget, author, "10.00")
    kept_one = declare(budget, author, "20.00", status=ContributionStatus.PENDING)
    declare(budget, author, "30.00", day=second.starts_on, status=ContributionStatus.REJECTED)
    with connected_as_owner(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM contributions_contribution WHERE budget_id = %s AND id <> %s",
                       [budget.pk, kept_one.pk])
    assert kept(first) == (D("20.00"), D("0.00"), 1)
    assert kept(second) == (D("0.00"), D("0.00"), 0)


@pytest.mark.kept_totals_differ
def test_a_total_that_differs_from_the_declarations_is_reported(collective, coordinator):
    budget = make_budget(collective, coordinator)
    declare(budget, person(collective, 1), "40.00")
    first = period_at(budget, 0)
    Period.objects.filter(pk=first.pk).update(requested_total=D("1.00"), claim_count=3)
    assert demand_total_violations(collective) == [
        f"period #{first.pk} keeps 1.00 as requested but its declarations sum to 40.00",
        f"period #{first.pk} keeps 3 as declaration_count but its declarations sum to 1",
    ]


def test_figures_and_pages_read_the_periods_rows_without_reading_declarations(client, api, collective, coordinator):
    budget = make_budget(collective, coordinator)
    declare(budget, person(collective, 1), "40.00")
    with CaptureQueriesContext(connection) as queries:
        figured = with_figures(Period.objects.filter(budget=budget))
    assert [(p.requested, p.validated, p.declaration_count) for p in figured[:2]] == [
        (D("40.00"), D("40.00"), 1), (D("0.00"), D("0.00"), 0)]
    assert not [query["sql"] for query in queries if "contributions_contribution" in query["sql"]]
    client.force_login(coordinator)
    for reader, path in ((client, f"/c/{collective.slug}/budgets/{budget.pk}/"),
                         (api(coordinator), f"/api/v1/collectives/{collective.slug}/budgets/{budget.pk}/periods/")):
        with CaptureQueriesContext(connection) as queries:
            response = reader.get(path)
        assert response.status_code == 200, path
        assert not [query["sql"] for query in queries if "contributions_contribution" in query["sql"]], path
