"""A closing posts its grants in sets: its statements do not grow with its payouts, and a set is all or nothing."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from budgets import accounts
from budgets.ledger import InsufficientFunds, Posting, transactions_post_many
from budgets.ledger_audit import books_violations
from budgets.models import Account, AccountKind, LedgerTransaction, Payout
from contributions.closing import period_close
from members.models import AuditEvent

from .helpers import declare, make_budget, period_at, person

pytestmark = pytest.mark.django_db


def closing_statements(collective, coordinator, people: int) -> int:
    budget = make_budget(collective, coordinator, amount_per_period="100000.00", received="20.00",
                         pledged="100000.00", name=f"Budget of {people}")
    for n in range(people):
        declare(budget, person(collective, 100 * people + n), "10.00")
    with CaptureQueriesContext(connection) as queries:
        period_close(period=period_at(budget, 0), actor=coordinator)
    return len(queries)


def test_closing_ten_times_the_declarations_runs_the_same_statements(collective, coordinator):
    few, many = closing_statements(collective, coordinator, 4), closing_statements(collective, coordinator, 40)
    assert many == few
    assert LedgerTransaction.objects.filter(kind="grant").count() == 44
    # Received money backs the first two grants of each period, pledged money the rest.
    payable = Payout.objects.filter(payable_amount=Decimal("10.00")).count()
    assert payable == 4 and Payout.objects.filter(payable_amount=0).count() == 40
    assert books_violations(collective) == []


def test_the_sets_follow_the_setting_and_each_grant_is_posted_once(collective, coordinator, settings):
    settings.POSTINGS_PER_TRANSACTION = 3
    budget = make_budget(collective, coordinator)
    for n in range(7):
        declare(budget, person(collective, n), "100.00")
    period = period_close(period=period_at(budget, 0), actor=coordinator)
    assert LedgerTransaction.objects.filter(kind="grant").count() == 7
    assert set(Payout.objects.filter(period=period).values_list("payable_amount", flat=True)) == {Decimal("100.00")}
    assert AuditEvent.objects.filter(action="payout.granted").count() == 7
    period_close(period=period, actor=coordinator)  # a second run finds nothing left to post
    assert LedgerTransaction.objects.filter(kind="grant").count() == 7
    assert books_violations(collective) == []


def test_a_set_that_would_overdraw_one_account_posts_nothing(collective, coordinator):
    budget = make_budget(collective, coordinator, received="50.00")
    received = accounts.budget_received_account(budget)
    wallet = Account.objects.create(collective=collective, kind=AccountKind.WALLET, code="w", name="Wallet",
                                    currency=collective.currency)
    before = LedgerTransaction.objects.count()
    postings = [Posting(kind="test", legs=[(received, Decimal("-30.00")), (wallet, Decimal("30.00"))])
                for _ in range(2)]
    with pytest.raises(InsufficientFunds):
        transactions_post_many(collective=collective, postings=postings)
    assert LedgerTransaction.objects.count() == before
    received.refresh_from_db()
    assert received.balance == Decimal("50.00")
    assert books_violations(collective) == []
