import pytest

from budgets import demo as budgets_demo
from budgets.ledger_audit import books_violations
from budgets.models import Budget
from contributions import demo as contributions_demo
from contributions.models import Contribution
from members import demo


@pytest.mark.django_db
def test_demo_has_a_weekly_budget_with_a_deficit_resolved_pro_rata():
    data = demo.seed()
    budgets_demo.seed(data)
    contributions_demo.seed(data)
    budget = Budget.objects.get(collective=data.collectives["fabrique"])
    assert budget.period_kind == "week" and budget.rate_levels.count() == 3
    assert set(budget.fundings.values_list("status", flat=True)) == {"received", "pledged"}
    first = budget.periods.get(index=0)
    assert (first.status, first.decision) == ("closed", {"kind": "pro_rata"})
    assert {p.explanation_code for p in first.payouts.all()} == {"decision_pro_rata"}
    assert Contribution.objects.filter(budget=budget).count() >= 10
    statuses = set(Contribution.objects.values_list("status", flat=True))
    assert statuses == {"pending", "validated", "adjusted", "rejected"}
    assert Contribution.objects.filter(budget=budget).count() == 12
    assert books_violations() == []


@pytest.mark.django_db
def test_demo_gives_bob_declared_granted_owed_payable_and_paid_money_across_two_collectives():
    from contributions.earnings import earnings_of, earnings_totals

    data = demo.seed()
    budgets_demo.seed(data)
    contributions_demo.seed(data)
    rows = earnings_of(data.people["bob"])
    assert {row["collective"].slug for row in rows if row["granted"]} == {"la-fabrique", "kpa-cite"}
    (total,) = earnings_totals(rows)
    assert all(total[name] > 0 for name in ("declared", "granted", "owed", "payable", "paid")), total
    assert books_violations() == []
