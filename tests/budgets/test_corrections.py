"""Correcting grants made in error: reversal of an unpaid grant, correction of a paid one withheld from the next
payment; the books stay exact and a locked period is never touched."""

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum

from accounting.documents import personal_statement_data
from accounting.services import period_lock
from budgets.available import funds_not_granted, period_available
from budgets.corrections import payout_correct, payout_reverse
from budgets.explanations import payout_explanation
from budgets.fundings import funding_receive
from budgets.ledger_audit import books_violations
from budgets.models import Account, Funding, LedgerTransaction, Payout
from budgets.payouts import payouts_mark_paid
from contrib_budget.errors import Conflict, DomainError
from contributions.closing import period_close
from members.models import AuditEvent, Membership

from .helpers import declare, make_budget, period_at, person

pytestmark = pytest.mark.django_db


def trial_balance(collective) -> Decimal:
    return Account.objects.of(collective).aggregate(total=Sum("balance"))["total"]


def balance(code):
    return Account.objects.get(code=code).balance


def next_payment(budget, someone, amount: str, *, coordinator, accountant) -> Payout:
    """`someone` declares `amount` in the second period, which closes; their payout is marked paid."""
    declare(budget, someone, amount, day=period_at(budget, 1).starts_on)
    period_close(period=period_at(budget, 1), actor=coordinator)
    following = Payout.objects.get(period=period_at(budget, 1))
    payouts_mark_paid(collective=budget.collective, payout_ids=[following.pk], actor=accountant,
                      paid_on=date(2025, 1, 27))
    following.refresh_from_db()
    return following


@pytest.fixture
def carried(collective, coordinator):
    """A carry-over budget: one person granted 300 in the first period, 2000 received."""
    budget = make_budget(collective, coordinator, received="2000.00", amount_per_period="500.00",
                         leftover_policy="carry_over")
    someone = person(collective, 1)
    declare(budget, someone, "300.00")
    period_close(period=period_at(budget, 0), actor=coordinator)
    return budget, someone, Payout.objects.get()


def test_reversing_an_unpaid_grant_returns_its_money_to_the_next_open_period(collective, coordinator, carried,
                                                                            english):
    budget, someone, payout = carried
    before_funds = funds_not_granted(budget)
    before_next = period_available(budget=budget, period=period_at(budget, 1))
    reversed_ = payout_reverse(payout=payout, actor=coordinator, reason="Declared twice")
    assert (reversed_.state, reversed_.granted, reversed_.reversed_amount) == ("reversed", 0, Decimal("300.00"))
    assert funds_not_granted(budget) == before_funds + Decimal("300.00")
    assert period_available(budget=budget, period=period_at(budget, 1)) == before_next + Decimal("300.00")
    assert balance(f"payable:{someone.pk}") == 0
    assert payout_explanation(reversed_).endswith("€300.00 reversed by the coordinators: Declared twice")
    txn = reversed_.reversal_transaction
    assert txn.reverses_id == payout.grant_transaction_id and "Declared twice" in txn.memo
    assert books_violations(collective) == [] and trial_balance(collective) == 0
    assert AuditEvent.objects.filter(action="payout.reversed", target_id=str(payout.pk)).exists()
    with pytest.raises(Conflict):
        payout_reverse(payout=payout, actor=coordinator, reason="Again")


def test_reversing_a_grant_backed_partly_by_pledged_money(collective, coordinator):
    budget = make_budget(collective, coordinator, received="100.00", pledged="900.00")
    someone = person(collective, 1)
    declare(budget, someone, "250.00")
    period_close(period=period_at(budget, 0), actor=coordinator)
    payout = Payout.objects.get()
    assert payout.state == "owed"
    payout_reverse(payout=payout, actor=coordinator, reason="Wrong budget")
    assert balance(f"budget:{budget.pk}:received") == Decimal("100.00")
    assert balance(f"budget:{budget.pk}:pledged") == Decimal("900.00")
    assert balance(f"owed:{someone.pk}") == 0 and balance(f"payable:{someone.pk}") == 0
    funding_receive(funding=Funding.objects.get(source="Client"), actor=coordinator)
    assert books_violations(collective) == [] and trial_balance(collective) == 0


def test_a_paid_or_refused_reversal_changes_nothing(collective, coordinator, accountant, member, carried):
    _budget, _someone, payout = carried
    with pytest.raises(DomainError):
        payout_reverse(payout=payout, actor=coordinator, reason="  ")
    with pytest.raises(DomainError) as refused:
        payout_reverse(payout=payout, actor=member, reason="Mine")
    assert refused.value.code == "not_coordinator"
    payouts_mark_paid(collective=collective, payout_ids=[payout.pk], actor=accountant, paid_on=date(2025, 1, 20))
    count = LedgerTransaction.objects.count()
    with pytest.raises(Conflict) as refused:
        payout_reverse(payout=payout, actor=coordinator, reason="Too late")
    assert refused.value.code == "already_paid" and LedgerTransaction.objects.count() == count


def test_a_paid_payout_in_a_locked_period_is_corrected_from_the_next_payment(collective, coordinator, accountant,
                                                                             carried):
    budget, someone, payout = carried
    payouts_mark_paid(collective=collective, payout_ids=[payout.pk], actor=accountant, paid_on=date(2025, 1, 20))
    locked = period_lock(period=period_at(budget, 0), actor=accountant)
    funds = funds_not_granted(budget)
    correction = payout_correct(payout=payout, actor=coordinator, amount="120.00", reason="Hours counted twice")
    assert period_at(budget, 0).locked_at == locked.locked_at
    payout.refresh_from_db()
    assert (payout.state, payout.granted, payout.withheld) == ("paid", Decimal("300.00"), 0)
    assert funds_not_granted(budget) == funds + Decimal("120.00")
    assert correction.funding.status == "pledged" and correction.funding.source_kind == "correction"
    with pytest.raises(DomainError):
        payout_correct(payout=payout, actor=coordinator, amount="181.00", reason="More than was paid")
    following = next_payment(budget, someone, "200.00", coordinator=coordinator, accountant=accountant)
    correction.refresh_from_db()
    assert (following.withheld, following.net_amount) == (Decimal("120.00"), Decimal("80.00"))
    assert correction.recovered_at is not None and correction.funding.status == "received"
    assert balance(f"paid:{someone.pk}") == Decimal("380.00")
    assert books_violations(collective) == [] and trial_balance(collective) == 0
    statement = personal_statement_data(Membership.objects.get(collective=collective, user=someone), 2025)
    assert statement["totals"]["paid"] == "380.00" and statement["totals"]["withheld"] == "120.00"


def test_a_correction_larger_than_the_next_payment_waits_for_a_larger_one(collective, coordinator, accountant,
                                                                          carried):
    budget, someone, payout = carried
    payouts_mark_paid(collective=collective, payout_ids=[payout.pk], actor=accountant, paid_on=date(2025, 1, 20))
    correction = payout_correct(payout=payout, actor=coordinator, amount="150.00", reason="Rate too high")
    small = next_payment(budget, someone, "100.00", coordinator=coordinator, accountant=accountant)
    correction.refresh_from_db()
    assert small.withheld == 0 and correction.recovered_at is None
    assert books_violations(collective) == []
