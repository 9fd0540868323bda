"""An allocation's writes and its commit are one round trip: the hot bucket is free as soon as they return.

Each test watches the service's statements (`execute_wrapper`) and looks from another connection, as another
allocation waiting for the bucket would, right after the trip that writes."""

import threading
from decimal import Decimal

import psycopg
import pytest
from django.db import connection

from budgets.ledger_audit import ledger_violations
from cobudget import services
from cobudget.models import Allocation, Bucket, MemberBucketTotal
from cobudget.running_totals import running_total_violations
from contrib_budget.errors import DomainError
from members.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def _after_trip(marker: str, look):
    """An execute wrapper that calls `look()` once, right after the first statement containing `marker` returns."""
    seen = {}

    def wrapper(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if marker in sql and "looked" not in seen:
            seen["looked"] = look()
        return result

    return wrapper, seen


def _from_another_connection(bucket: Bucket) -> dict:
    """What another session sees of the bucket: whether it can lock it at once, and its allocations."""
    with psycopg.connect(**connection.get_connection_params()) as other:
        try:
            other.execute("SELECT id FROM cobudget_bucket WHERE id = %s FOR NO KEY UPDATE NOWAIT", [bucket.pk])
            free = True
        except psycopg.errors.LockNotAvailable:
            free = False
        other.rollback()
        [(allocations,)] = other.execute("SELECT count(*) FROM cobudget_allocation WHERE bucket_id = %s",
                                         [bucket.pk]).fetchall()
    return {"free": free, "allocations": allocations}


def test_the_trip_that_writes_an_allocation_commits_it_and_frees_the_bucket(make_round, make_bucket, member):
    bucket = make_bucket(make_round(), min_goal="50.00")
    wrapper, seen = _after_trip("ledger_post", lambda: _from_another_connection(bucket))
    with connection.execute_wrapper(wrapper):
        result = services.allocation_create(bucket=bucket, actor=member, amount="10.00")
    assert seen["looked"] == {"free": True, "allocations": 1}
    # The balance the person sees next is read in the same trip.
    assert result.amount == D("10.00") and result.wallet_balance == D("90.00")
    assert AuditEvent.objects.filter(action="cobudget.allocate", target_id=str(bucket.pk)).count() == 1


def test_an_allocation_that_fills_the_bucket_commits_with_its_new_status(make_round, make_bucket, member):
    bucket = make_bucket(make_round(), min_goal="10.00")
    wrapper, seen = _after_trip("ledger_post", lambda: _from_another_connection(bucket))
    with connection.execute_wrapper(wrapper):
        services.allocation_create(bucket=bucket, actor=member, amount="10.00")
    # The status is saved after the writes, in the same transaction: nothing was committed before it.
    assert seen["looked"] == {"free": False, "allocations": 0}
    assert Bucket.objects.get(pk=bucket.pk).status == "funded"
    assert Allocation.objects.filter(bucket=bucket).count() == 1


def test_a_wallet_emptied_while_the_bucket_was_locked_leaves_nothing_written(make_round, make_bucket, member,
                                                                             english):
    round = make_round()
    bucket, elsewhere = (make_bucket(round, title=title, min_goal="500.00") for title in ("Hot", "Elsewhere"))

    def empty_the_wallet() -> None:
        """Between the locks and the writes, the same person gives the whole wallet to another bucket."""
        def give() -> None:
            services.allocation_create(bucket=elsewhere, actor=member, amount="100.00")
            connection.close()

        thread = threading.Thread(target=give)
        thread.start()
        thread.join(30)

    wrapper, _seen = _after_trip("FOR NO KEY UPDATE OF b", empty_the_wallet)
    with connection.execute_wrapper(wrapper), pytest.raises(DomainError) as refused:
        services.allocation_create(bucket=bucket, actor=member, amount="30.00")
    assert (refused.value.code, refused.value.message) == ("insufficient_funds", "Your wallet holds only €0.00.")
    assert not Allocation.objects.filter(bucket=bucket).exists()
    assert not MemberBucketTotal.objects.filter(bucket=bucket).exclude(amount=0).exists()
    assert not AuditEvent.objects.filter(action="cobudget.allocate", target_id=str(bucket.pk)).exists()
    assert Allocation.objects.get(bucket=elsewhere).amount == D("100.00")
    assert ledger_violations(round.collective) == []
    assert running_total_violations(round.collective) == []
