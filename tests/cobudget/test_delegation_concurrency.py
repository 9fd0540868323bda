"""Delegation under concurrency, real threads against real PostgreSQL: the delegate and the delegator giving from
one wallet at once never overspend it; taking it back races the delegate's allocations and returns the unspent
money; delegations racing each other never make a chain."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from budgets.ledger_audit import ledger_violations
from cobudget import services
from cobudget.models import Allocation, Delegation, MemberBucketTotal, Wallet
from cobudget.running_totals import running_total_violations
from contrib_budget.errors import DomainError
from tests.threads import run_concurrently

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
D = Decimal


def wallet(round, user) -> Wallet:
    return Wallet.objects.select_related("account").get(round=round, user=user)


def test_delegate_and_delegator_giving_at_once_never_overspend_the_wallet(make_round, make_bucket, people):
    round = make_round(participants=people)
    alice, bob = people[0], people[1]
    buckets = [make_bucket(round, title=f"B{i}", min_goal="500.00") for i in range(3)]
    services.wallet_delegate(round=round, actor=alice, delegate=bob)

    def allocate(i):
        # Even threads: Alice from her wallet; odd ones: Bob on her behalf. 40 × 10.00 against 100.00.
        actor, behalf = (alice, None) if i % 2 == 0 else (bob, alice)
        return services.allocation_create(bucket=buckets[i % 3], actor=actor, amount="10.00", on_behalf_of=behalf)

    successes, errors = run_concurrently(allocate, 40)
    assert len(successes) == 10, errors[:3]
    assert {getattr(error, "code", None) for error in errors} == {"insufficient_funds"}
    owned = wallet(round, alice)
    assert owned.account.balance == D("0.00") and owned.allocated == D("100.00")
    assert wallet(round, bob).account.balance == D("100.00")  # the delegate's own wallet is untouched
    given = Allocation.objects.filter(wallet=owned)
    assert given.aggregate(total=Sum("amount"))["total"] == D("100.00")
    assert set(given.values_list("user_id", flat=True)) == {alice.pk}
    assert (MemberBucketTotal.objects.filter(user=alice).aggregate(total=Sum("amount"))["total"]
            == D("100.00"))
    assert ledger_violations(round.collective) == []
    assert running_total_violations() == []


def test_revoke_racing_the_delegates_allocations_returns_the_unspent_money(make_round, make_bucket, people):
    """Bob gives on Alice's behalf without pause while she takes the wallet back: every allocation accepted
    committed before the revoke (they hold the delegation FOR SHARE), every one after is refused, and what is
    left in her wallet is exactly her envelope minus everything given from it."""
    round = make_round(participants=people, envelope_amount=D("1000.00"))
    alice, bob = people[0], people[1]
    bucket = make_bucket(round, min_goal="100000.00")
    services.wallet_delegate(round=round, actor=alice, delegate=bob)
    started, stop = threading.Event(), threading.Event()
    refusals: list[str] = []

    def give_until_refused(i):
        try:
            accepted = 0
            while not stop.is_set():
                try:
                    services.allocation_create(bucket=bucket, actor=bob, amount="0.50", on_behalf_of=alice)
                except DomainError as error:
                    refusals.append(error.code)
                    return accepted
                accepted += 1
                started.set()
            return accepted
        finally:
            connection.close()

    def revoke():
        try:
            started.wait(10)
            return services.wallet_delegation_revoke(round=round, actor=alice)
        finally:
            connection.close()

    threads_results: list = []
    givers = [threading.Thread(target=lambda i=i: threads_results.append(give_until_refused(i))) for i in range(4)]
    for thread in givers:
        thread.start()
    delegation = revoke()
    for thread in givers:
        thread.join(30)
    stop.set()
    assert refusals and set(refusals) == {"not_delegate"}
    on_behalf = Allocation.objects.filter(user=alice, made_by=bob)
    assert on_behalf.count() == sum(threads_results) > 0
    assert not on_behalf.filter(created_at__gt=delegation.revoked_at).exists()
    given = on_behalf.aggregate(total=Sum("amount"))["total"]
    assert wallet(round, alice).account.balance == D("1000.00") - given
    # The unspent money is hers again, at once.
    services.allocation_create(bucket=bucket, actor=alice, amount=str(D("1000.00") - given))
    assert wallet(round, alice).account.balance == D("0.00")
    assert ledger_violations(round.collective) == []


def test_delegations_racing_into_a_chain_never_both_pass(make_round, people):
    """A→B and B→C at once: both lock B's wallet, so one sees the other and refuses (delegation_chain)."""
    round = make_round(participants=people)
    alice, bob, gaelle = people[0], people[1], people[2]
    pairs = [(alice, bob), (bob, gaelle)] * 4

    active = Delegation.objects.filter(round=round, revoked_at__isnull=True)
    for attempt in range(4):
        successes, errors = run_concurrently(
            lambda i: services.wallet_delegate(round=round, actor=pairs[i][0], delegate=pairs[i][1]), 2)
        assert len(successes) == 1, (attempt, errors)
        assert [getattr(error, "code", None) for error in errors] == ["delegation_chain"]
        assert active.count() == 1
        delegation = active.get()
        assert not active.filter(delegator_id=delegation.delegate_id).exists()
        services.wallet_delegation_revoke(round=round, actor=delegation.delegator)  # the next attempt starts clean
