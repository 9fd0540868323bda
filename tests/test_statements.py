"""Several statements in one round trip (contrib_budget.statements): each runs in order, on its own snapshot."""

import threading

import psycopg
import pytest
from django.db import DataError, connection, transaction
from django.db.models import Value
from django.db.models.functions import Upper
from django.test.utils import CaptureQueriesContext

from contrib_budget import statements
from contrib_budget.statements import Statement, ids_reserve_statement, insert_statement, inserted, run_together
from members.audit import audit_event
from members.models import AuditEvent
from tests.factories import CollectiveFactory


def test_every_statement_runs_in_order_and_returns_its_own_rows(collective, coordinator):
    with CaptureQueriesContext(connection) as queries:
        results = run_together([
            Statement("SELECT %s::int, %s::text", [1, "one"]),
            insert_statement(audit_event(collective=collective, actor=coordinator, action="test.first")),
            Statement("SELECT action FROM members_auditevent WHERE collective_id = %s", [collective.pk]),
        ])
    assert results == [[(1, "one")], [], [("test.first",)]]
    assert len(queries) == 1


def test_an_instance_inserted_under_a_reserved_id_is_a_saved_row(collective, coordinator):
    [[(reserved,)]] = run_together([ids_reserve_statement(AuditEvent, 1)])
    event = audit_event(collective=collective, actor=coordinator, action="test.reserved", after={"amount": "1.00"})
    event.pk = reserved
    run_together([insert_statement(event)])
    inserted(event)
    assert not event._state.adding
    stored = AuditEvent.objects.get(pk=reserved)
    assert (stored.action, stored.actor, stored.after) == ("test.reserved", coordinator, {"amount": "1.00"})
    assert stored.created_at == event.created_at


def test_a_failing_statement_stops_the_run_and_its_transaction_writes_nothing(collective, coordinator):
    before, after = (audit_event(collective=collective, actor=coordinator, action=action)
                     for action in ("test.before", "test.after"))
    with pytest.raises(DataError), transaction.atomic():
        run_together([insert_statement(before), Statement("SELECT 1 / 0"), insert_statement(after)])
    assert not AuditEvent.objects.filter(action__startswith="test.").exists()


@pytest.mark.django_db(transaction=True)
def test_a_statement_after_a_lock_reads_what_was_committed_while_the_lock_was_awaited():
    collective = CollectiveFactory()
    holder = psycopg.connect(**connection.get_connection_params())
    holder.execute("SELECT id FROM members_collective WHERE id = %s FOR UPDATE", [collective.pk])
    read = {}

    def waiting() -> None:
        with transaction.atomic():
            read["rows"] = run_together([
                Statement("SELECT id FROM members_collective WHERE id = %s FOR UPDATE", [collective.pk]),
                Statement("SELECT name FROM members_collective WHERE id = %s", [collective.pk]),
            ])
        connection.close()

    thread = threading.Thread(target=waiting)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive(), "the locking statement should wait for the holder"
    holder.execute("UPDATE members_collective SET name = 'Renamed while waiting' WHERE id = %s", [collective.pk])
    holder.commit()
    holder.close()
    thread.join(10)
    assert read["rows"] == [[(collective.pk,)], [("Renamed while waiting",)]]


def test_an_insert_with_a_condition_writes_its_row_only_when_the_condition_finds_one(collective, coordinator):
    kept, skipped = (audit_event(collective=collective, actor=coordinator, action=action)
                     for action in ("test.kept", "test.skipped"))
    run_together([
        insert_statement(kept, only_if=Statement("SELECT FROM members_collective WHERE id = %s", [collective.pk])),
        insert_statement(skipped, only_if=Statement("SELECT FROM members_collective WHERE id = %s", [0])),
    ])
    assert list(AuditEvent.objects.filter(action__startswith="test.").values_list("action", flat=True)) == [
        "test.kept"]


def _committed_actions() -> list[str]:
    """The test events another session sees: only what was committed."""
    with psycopg.connect(**connection.get_connection_params()) as other:
        return [action for (action,) in other.execute(
            "SELECT action FROM members_auditevent WHERE action LIKE 'test.%%' ORDER BY id").fetchall()]


@pytest.mark.django_db(transaction=True)
def test_a_trip_that_commits_ends_the_outermost_block_in_the_same_trip():
    collective = CollectiveFactory()
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        results = run_together([Statement("SELECT 1"), insert_statement(
            audit_event(collective=collective, actor=None, action="test.committed"))], commit=True)
        seen_inside = _committed_actions()
    assert results == [[(1,)], []]
    assert seen_inside == ["test.committed"]
    [trip] = [query["sql"] for query in queries if "members_auditevent" in query["sql"]]
    assert trip.startswith("SELECT 1; INSERT") and trip.endswith("; COMMIT")


@pytest.mark.django_db(transaction=True)
def test_a_trip_inside_a_callers_block_leaves_the_commit_to_that_block():
    collective = CollectiveFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        with transaction.atomic():
            run_together([insert_statement(audit_event(collective=collective, actor=None, action="test.nested"))],
                         commit=True)
        assert _committed_actions() == []
        raise RuntimeError("the caller's work fails after the trip")
    assert not AuditEvent.objects.filter(action__startswith="test.").exists()


def test_an_insert_is_compiled_once_per_model_and_columns_and_an_expression_anew(collective, coordinator,
                                                                                  settings, monkeypatch):
    settings.PREPARED_QUERIES_VERIFY = False
    first = insert_statement(audit_event(collective=collective, actor=coordinator, action="test.one"))
    with monkeypatch.context() as patched:
        patched.setattr(statements.InsertQuery, "get_compiler", lambda *args, **kwargs: pytest.fail("compiled"))
        second = insert_statement(audit_event(collective=collective, actor=coordinator, action="test.two"))
    assert second.sql == first.sql and "test.two" in second.params
    expressed = audit_event(collective=collective, actor=coordinator, action="")
    expressed.action = Upper(Value("test.three"))
    third = insert_statement(expressed)
    assert third.sql != first.sql and "UPPER" in third.sql
    run_together([first, second, third])
    assert sorted(AuditEvent.objects.values_list("action", flat=True)) == ["TEST.THREE", "test.one", "test.two"]


def test_the_tests_compile_every_insert_again_and_compare(collective, coordinator, settings, monkeypatch):
    settings.PREPARED_QUERIES_VERIFY = True
    insert_statement(audit_event(collective=collective, actor=coordinator, action="test.one"))
    [key] = [key for key in statements._INSERT_SQL if key[0] is AuditEvent and not key[1][0].primary_key]
    monkeypatch.setitem(statements._INSERT_SQL, key, "INSERT INTO elsewhere")
    with pytest.raises(AssertionError, match="compiled again"):
        insert_statement(audit_event(collective=collective, actor=coordinator, action="test.two"))
