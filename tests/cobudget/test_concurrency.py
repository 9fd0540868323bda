"""Real threads against real PostgreSQL: no wallet below zero, no bucket above its max goal."""

from decimal import Decimal

import pytest
from django.db import close_old_connections, connection
from django.db.models import Sum
from django.utils import timezone

from budgets.ledger_audit import ledger_violations
from budgets.models import Account
from cobudget import services
from cobudget.models import Allocation, AllocationKind, Bucket, MemberBucketTotal, RoundCloseRequest, Wallet
from cobudget.running_totals import running_total_violations
from contrib_budget.errors import DomainError
from members.models import Role
from tests.factories import MembershipFactory, UserFactory
from tests.threads import run_concurrently

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
D = Decimal


def test_forty_parallel_allocations_from_one_wallet_of_100_exactly_ten_succeed(make_round, make_bucket, member):
    round = make_round()
    buckets = [make_bucket(round, title=f"B{i}", min_goal="500.00") for i in range(4)]

    def allocate(i):
        close_old_connections()
        return services.allocation_create(bucket=buckets[i % 4], actor=member, amount="10.00")

    successes, errors = run_concurrently(allocate, 40)
    assert len(successes) == 10, errors[:3]
    assert all(getattr(error, "code", None) == "insufficient_funds" for error in errors)
    wallet = Wallet.objects.select_related("account").get(round=round, user=member)
    assert wallet.account.balance == D("0.00")
    assert sum(Account.objects.get(pk=b.account_id).balance for b in buckets) == D("100.00")
    assert ledger_violations(round.collective) == []


@pytest.mark.parametrize("mode,amount,expected_successes", [("refuse", "25.00", 10), ("cap_to_remaining", "30.00", 9)])
def test_many_members_racing_fill_a_bucket_exactly_to_its_max_goal(collective, make_round, make_bucket,
                                                                   mode, amount, expected_successes):
    racers = [MembershipFactory(collective=collective, user=UserFactory(email=f"racer{i}@example.org"),
                                roles=[Role.MEMBER.value]).user for i in range(20)]
    round = make_round(overallocation_mode=mode, participants=racers)
    bucket = make_bucket(round, by=racers[0], min_goal="200.00", max_goal="250.00")

    def allocate(i):
        return services.allocation_create(bucket=bucket, actor=racers[i], amount=amount)

    successes, _errors = run_concurrently(allocate, len(racers))
    assert len(successes) == expected_successes
    assert Account.objects.get(pk=bucket.account_id).balance == D("250.00")
    assert Bucket.objects.get(pk=bucket.pk).status == "funded"
    assert sum(Allocation.objects.filter(bucket=bucket).values_list("amount", flat=True)) == D("250.00")
    assert ledger_violations(round.collective) == []


def test_concurrent_closes_post_each_movement_once(make_round, make_bucket, people, coordinator):
    round = make_round(partial_policy="refund")
    bucket = make_bucket(round, min_goal="300.00")
    for person in people[:3]:
        services.allocation_create(bucket=bucket, actor=person, amount="20.00")

    _results, errors = run_concurrently(lambda i: services.round_close(round=round, actor=coordinator), 4)
    assert not errors
    from budgets.models import LedgerTransaction

    assert LedgerTransaction.objects.filter(kind="cobudget_refund").count() == 3
    assert LedgerTransaction.objects.filter(kind="cobudget_wallet_expiry").count() == len(people)
    assert ledger_violations(round.collective) == []


def test_forty_parallel_api_allocations_from_a_wallet_of_100_exactly_ten_succeed(api, collective, make_round,
                                                                                make_bucket, member):
    round = make_round()
    buckets = [make_bucket(round, title=f"B{i}", min_goal="500.00") for i in range(2)]
    urls = [f"/api/v1/collectives/{collective.slug}/buckets/{b.pk}/allocations/" for b in buckets]

    def allocate(i):
        return api(member).post(urls[i % 2], {"amount": "10.00"}, format="json")

    responses, errors = run_concurrently(allocate, 40)
    assert not errors
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 10, statuses
    assert {r.json()["code"] for r in responses if r.status_code != 201} == {"insufficient_funds"}
    balance = api(member).get(f"/api/v1/collectives/{collective.slug}/rounds/{round.pk}/wallet/").json()
    assert balance["balance"] == "0.00" and balance["allocated"] == "100.00"
    assert ledger_violations(round.collective) == []


def test_many_members_racing_through_the_api_fill_a_bucket_exactly(api, collective, make_round, make_bucket):
    racers = [MembershipFactory(collective=collective, user=UserFactory(email=f"api-racer{i}@example.org"),
                                roles=[Role.MEMBER.value]).user for i in range(16)]
    round = make_round(participants=racers)
    bucket = make_bucket(round, by=racers[0], min_goal="100.00", max_goal="175.00")
    url = f"/api/v1/collectives/{collective.slug}/buckets/{bucket.pk}/allocations/"

    responses, errors = run_concurrently(
        lambda i: api(racers[i]).post(url, {"amount": "25.00"}, format="json"), len(racers))
    assert not errors
    assert sorted(r.status_code for r in responses).count(201) == 7
    assert {r.json()["code"] for r in responses if r.status_code != 201} <= {"overfunding", "bucket_full"}
    assert api(racers[0]).get(f"/api/v1/collectives/{collective.slug}/buckets/{bucket.pk}/").json()[
        "funded_amount"] == "175.00"
    assert Account.objects.get(pk=bucket.account_id).balance == D("175.00")


def test_a_close_wins_against_twenty_members_allocating_without_pause(collective, make_round, make_bucket,
                                                                    monkeypatch):
    """Once the close is asked for, new allocations are refused at once (round_closing): the close waits only for
    those already running, one per member at most, and none is accepted after it."""
    import threading
    import time

    members = [MembershipFactory(collective=collective, user=UserFactory(email=f"m{i}@example.org"),
                                 roles=[Role.MEMBER.value]).user for i in range(20)]
    round = make_round(participants=members, envelope_amount=D("1000.00"))
    bucket = make_bucket(round, by=members[0], min_goal="100000.00")
    stop = threading.Event()
    refusals: list[str] = []
    requests = RoundCloseRequest.objects
    asked = {}

    def ask(*args, **kwargs):
        result = type(requests).get_or_create(requests, *args, **kwargs)
        asked["visible_at"] = timezone.now()  # committed: every allocation starting now sees it
        return result

    monkeypatch.setattr(requests, "get_or_create", ask)

    def allocate_until_refused(i):
        accepted = 0
        try:
            while not stop.is_set():
                try:
                    services.allocation_create(bucket=bucket, actor=members[i], amount="0.10")
                except services.Conflict as error:
                    refusals.append(error.code)
                    return accepted
                accepted += 1
            return accepted
        finally:
            connection.close()  # this thread's own: the test database is dropped at the end

    def close():
        time.sleep(0.5)  # the allocations are flowing
        started = time.monotonic()
        closed = services.round_close(round=round)
        stop.set()
        return closed, time.monotonic() - started

    workers = [threading.Thread(target=lambda i=i: allocate_until_refused(i)) for i in range(20)]
    for worker in workers:
        worker.start()
    (closed, seconds), = run_concurrently(lambda _i: close(), 1)[0]
    stop.set()
    for worker in workers:
        worker.join(30)
    assert set(refusals) <= {"round_closing", "round_closed"} and len(refusals) == 20
    given = Allocation.objects.filter(round=round, kind=AllocationKind.ALLOCATE)
    assert given.filter(created_at__gte=asked["visible_at"]).count() <= len(members)
    assert not given.filter(created_at__gte=closed.closed_at).exists()
    print(f"the close answered in {seconds:.2f} s under 20 allocating members")


def test_running_totals_equal_the_sums_after_many_concurrent_allocations_and_take_backs(collective, make_round,
                                                                                      make_bucket):
    """Twelve members, each giving to three buckets and taking some back, all at once: every member's total in
    each bucket and every wallet's `allocated` end equal to the sums of their allocations."""
    racers = [MembershipFactory(collective=collective, user=UserFactory(email=f"total{i}@example.org"),
                                roles=[Role.MEMBER.value]).user for i in range(12)]
    round = make_round(participants=racers)
    buckets = [make_bucket(round, by=racers[0], title=f"B{i}", min_goal="1000.00") for i in range(3)]
    # (bucket offset, amount): give to three buckets, take some back from two of them.
    moves = ((0, "7.00"), (1, "3.00"), (0, "-2.00"), (2, "5.00"), (1, "-4.00"))

    def allocate(i):
        for offset, amount in moves:
            try:
                services.allocation_create(bucket=buckets[(i + offset) % 3], actor=racers[i % 12], amount=amount)
            except DomainError as error:  # another thread of the member has not given there yet
                assert error.code == "retract_too_much", error.code

    _results, errors = run_concurrently(allocate, 36)
    assert not errors, errors[:3]
    assert Allocation.objects.filter(round=round).count() > 36 * 3
    assert running_total_violations(collective) == []
    given = {(a["bucket_id"], a["user_id"]): a["net"] for a in Allocation.objects.filter(round=round)
             .values("bucket_id", "user_id").annotate(net=Sum("amount"))}
    assert {(t.bucket_id, t.user_id): t.amount for t in MemberBucketTotal.objects.filter(bucket__round=round)} == given
    for wallet in Wallet.objects.filter(round=round).select_related("account"):
        assert wallet.allocated + wallet.account.balance == wallet.envelope
    assert ledger_violations(round.collective) == []
