from decimal import Decimal

import pytest

from budgets.ledger_audit import books_violations
from budgets.models import LedgerTransaction, Payout, PeriodStatus
from contributions.closing import period_close
from contributions.models import ContributionStatus

from .helpers import declare, make_budget, period_at, person

pytestmark = pytest.mark.django_db


def granted_by_author(period):
    return {p.person.name: p.granted for p in Payout.objects.filter(period=period).select_related("person")}


def test_pro_rata_worked_example_grants_500_250_250(collective, coordinator):
    budget = make_budget(collective, coordinator)
    a, b, c = (person(collective, n) for n in range(3))
    for author, amount in ((a, "600.00"), (b, "300.00"), (c, "300.00")):
        declare(budget, author, amount)
    period = period_close(period=period_at(budget, 0), actor=coordinator)
    assert period.status == PeriodStatus.CLOSED
    assert period.available == Decimal("1000.00")
    assert granted_by_author(period) == {"P00": Decimal("500.00"), "P01": Decimal("250.00"), "P02": Decimal("250.00")}
    assert books_violations(collective) == []


def test_three_equal_requests_share_exactly_and_the_odd_cent_rotates(collective, coordinator):
    budget = make_budget(collective, coordinator)
    people = [person(collective, n) for n in range(3)]
    cent_receivers = []
    for index in range(2):
        for someone in people:
            declare(budget, someone, "500.00", day=period_at(budget, index).starts_on)
        period = period_close(period=period_at(budget, index), actor=coordinator)
        granted = granted_by_author(period)
        assert sum(granted.values()) == Decimal("1000.00")
        assert max(granted.values()) - min(granted.values()) <= Decimal("0.01")
        cent_receivers.append(max(granted, key=granted.get))
    assert cent_receivers[0] != cent_receivers[1]


def test_requests_that_fit_are_granted_in_full_and_the_leftover_carries_over(collective, coordinator):
    budget = make_budget(collective, coordinator)
    someone = person(collective, 1)
    declare(budget, someone, "400.00")
    first = period_close(period=period_at(budget, 0), actor=coordinator)
    payout = Payout.objects.get(period=first)
    assert (payout.granted, payout.explanation_code) == (Decimal("400.00"), "granted_in_full")
    second = period_close(period=period_at(budget, 1), actor=coordinator)
    assert second.available == Decimal("1600.00")


def test_leftover_returns_to_the_pool_when_the_policy_says_so(collective, coordinator):
    budget = make_budget(collective, coordinator, leftover_policy="return_to_pool")
    declare(budget, person(collective, 1), "400.00")
    period_close(period=period_at(budget, 0), actor=coordinator)
    assert period_close(period=period_at(budget, 1), actor=coordinator).available == Decimal("1000.00")


def test_available_never_exceeds_the_funds_not_yet_granted(collective, coordinator):
    budget = make_budget(collective, coordinator, received="700.00")
    declare(budget, person(collective, 1), "900.00")
    period = period_close(period=period_at(budget, 0), actor=coordinator)
    assert period.available == Decimal("700.00")
    assert Payout.objects.get(period=period).granted == Decimal("700.00")


def test_pending_declarations_are_carried_to_the_next_period_and_rejected_ones_left_out(collective, coordinator):
    budget = make_budget(collective, coordinator)
    someone = person(collective, 1)
    pending = declare(budget, someone, "100.00", status=ContributionStatus.PENDING)
    rejected = declare(budget, someone, "100.00", status=ContributionStatus.REJECTED)
    period_close(period=period_at(budget, 0), actor=coordinator)
    pending.refresh_from_db()
    rejected.refresh_from_db()
    assert pending.period == period_at(budget, 1)
    assert rejected.period == period_at(budget, 0)
    assert not Payout.objects.exists()


def test_adjusted_declarations_are_granted_their_validated_amount(collective, coordinator):
    budget = make_budget(collective, coordinator)
    declare(budget, person(collective, 1), "300.00", status=ContributionStatus.ADJUSTED, validated_amount="120.00")
    period = period_close(period=period_at(budget, 0), actor=coordinator)
    payout = Payout.objects.get(period=period)
    assert (payout.requested, payout.granted) == (Decimal("120.00"), Decimal("120.00"))


def test_closing_twice_posts_one_set_of_transactions(collective, coordinator):
    budget = make_budget(collective, coordinator)
    for n in range(3):
        declare(budget, person(collective, n), "500.00")
    period_close(period=period_at(budget, 0), actor=coordinator)
    before = LedgerTransaction.objects.count()
    period_close(period=period_at(budget, 0), actor=coordinator)
    assert LedgerTransaction.objects.count() == before
    assert LedgerTransaction.objects.filter(kind="grant").count() == 3
    assert Payout.objects.count() == 3


def test_earlier_periods_must_be_closed_first(collective, coordinator):
    from contrib_budget.errors import Conflict

    budget = make_budget(collective, coordinator)
    with pytest.raises(Conflict):
        period_close(period=period_at(budget, 1), actor=coordinator)
