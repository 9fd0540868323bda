"""A journal of 200,000 entries written by a real Celery worker, with progress and bounded memory."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from accounting import services
from accounting.models import Export, ExportStatus
from budgets import ledger
from budgets.models import Account, AccountKind
from contrib_budget.db_roles import connected_as_owner

TRANSACTIONS = 100_000  # two entries each: 200,000 entries
# The worker's peak resident memory (VmHWM) must stay under this, whatever the export's size...
PEAK_RSS_BOUND_MB = 300
# ...and the export may add at most this much over the worker's resident memory before the task.
GROWTH_BOUND_MB = 64


def bulk_ledger(collective, transactions: int) -> tuple[Account, Account]:
    """Balanced pairs inserted set-wise; the deferred balance trigger checks them at commit."""
    source = ledger.account_get_or_create(collective=collective, kind=AccountKind.FUNDING_SOURCE, code="bulk:source",
                                          name="Subvention")
    budget = ledger.account_get_or_create(collective=collective, kind=AccountKind.BUDGET, code="bulk:budget",
                                          name="Budget")
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO budgets_ledgertransaction
                   (collective_id, kind, memo, created_at, linked_type, linked_id)
               SELECT %s, 'bulk_funding', 'Versement ' || g, now() - make_interval(secs => %s - g), '', ''
               FROM generate_series(1, %s) AS g""",
            [collective.pk, transactions, transactions],
        )
        cursor.execute(
            """INSERT INTO budgets_entry (collective_id, transaction_id, account_id, amount)
               SELECT t.collective_id, t.id, legs.account_id, legs.sign * ((t.id %% 997) + 1) / 100.0
               FROM budgets_ledgertransaction t
               CROSS JOIN (VALUES (%s::bigint, -1), (%s::bigint, 1)) AS legs(account_id, sign)
               WHERE t.collective_id = %s AND t.kind = 'bulk_funding'""",
            [source.pk, budget.pk, collective.pk],
        )
        cursor.execute(
            """UPDATE budgets_account a SET balance = (SELECT COALESCE(SUM(amount), 0) FROM budgets_entry e
                                                        WHERE e.account_id = a.id)
               WHERE a.id IN (%s, %s)""",
            [source.pk, budget.pk],
        )
    return source, budget


@contextmanager
def export_progress_recorded() -> Iterator[Callable[[int], list[tuple[str, int]]]]:
    """Every (status, progress) an export goes through, as the worker writes them: a trigger keeps each one, so
    what the test sees does not depend on how often it looks. Gives a function of the export's id.
    Out of any transaction (a transactional test): the trigger is installed and dropped as the owner role."""
    with connected_as_owner(), connection.cursor() as cursor:
        cursor.execute("""
            CREATE TABLE test_export_progress (id bigserial PRIMARY KEY, export_id bigint, status text, progress int);
            CREATE FUNCTION test_export_progress_keep() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
            BEGIN
                INSERT INTO test_export_progress (export_id, status, progress)
                VALUES (NEW.id, NEW.status, NEW.progress);
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_export_progress AFTER INSERT OR UPDATE ON accounting_export FOR EACH ROW
                EXECUTE FUNCTION test_export_progress_keep();
        """)

    def log(export_id: int) -> list[tuple[str, int]]:
        with connected_as_owner(), connection.cursor() as cursor:
            cursor.execute("SELECT status, progress FROM test_export_progress WHERE export_id = %s ORDER BY id",
                           [export_id])
            return cursor.fetchall()

    try:
        yield log
    finally:
        with connected_as_owner(), connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER test_export_progress ON accounting_export; "
                           "DROP FUNCTION test_export_progress_keep(); DROP TABLE test_export_progress")


def assert_progress_rises_to_ready(log: list[tuple[str, int]], *, midway: int) -> None:
    """Claimed at 0 %, then at least `midway` distinct steps strictly between 0 and 100, never going back,
    then ready at 100 %."""
    assert log[0] == (ExportStatus.PENDING, 0), log
    running = [progress for status, progress in log if status == ExportStatus.RUNNING]
    assert running[0] == 0 and running == sorted(running), log
    assert len({progress for progress in running if 0 < progress < 100}) >= midway, log
    assert log[-1] == (ExportStatus.READY, 100), log
    statuses = [status for status, _ in log]
    assert [status for i, status in enumerate(statuses) if i == 0 or statuses[i - 1] != status] == [
        ExportStatus.PENDING, ExportStatus.RUNNING, ExportStatus.READY], log


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_journal_of_200000_entries_streams_through_a_worker_with_progress_and_bounded_memory(
    collective, accountant, celery_worker
):
    bulk_ledger(collective, TRANSACTIONS)
    before_kb = memory_kb(celery_worker.pid, "VmRSS")
    with export_progress_recorded() as progress_of:
        export = services.export_request(collective=collective, actor=accountant, kind="journal", fmt="csv",
                                         params={})
        deadline = time.monotonic() + 100
        while Export.objects.filter(pk=export.pk, status__in=[ExportStatus.PENDING, ExportStatus.RUNNING]).exists():
            assert time.monotonic() < deadline, "the export did not finish"
            time.sleep(0.1)
        progress = progress_of(export.pk)
    export.refresh_from_db()
    assert export.status == ExportStatus.READY, export.error
    peak_kb = memory_kb(celery_worker.pid, "VmHWM")

    # A beat every PROGRESS_EVERY_ROWS rows: 39 of them between 0 and 100 %.
    assert_progress_rises_to_ready(progress, midway=2 * TRANSACTIONS // services.PROGRESS_EVERY_ROWS - 1)
    assert export.row_count == 2 * TRANSACTIONS
    with export.file.open("rb") as stream:
        lines = sum(1 for _ in stream)
    assert lines == 2 * TRANSACTIONS + 1
    assert peak_kb < PEAK_RSS_BOUND_MB * 1024, f"worker peak {peak_kb // 1024} MB"
    assert peak_kb - before_kb < GROWTH_BOUND_MB * 1024, f"grew {(peak_kb - before_kb) // 1024} MB"
    assert sum(Account.objects.of(collective).values_list("balance", flat=True), Decimal(0)) == 0
