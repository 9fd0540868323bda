"""A journal of 200,000 entries written by a real Celery worker, with progress and bounded memory."""

import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from budgets import ledger
from budgets.accounting import services
from budgets.accounting.models import Export, ExportStatus
from budgets.models import Account, AccountKind

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
    export = services.export_request(collective=collective, actor=accountant, kind="journal", fmt="csv", params={})
    progress_seen, deadline = set(), time.monotonic() + 100
    while time.monotonic() < deadline:
        status, progress = Export.objects.filter(pk=export.pk).values_list("status", "progress").get()
        if status == ExportStatus.RUNNING:
            progress_seen.add(progress)
        if status in (ExportStatus.READY, ExportStatus.FAILED):
            break
        time.sleep(0.05)
    export.refresh_from_db()
    assert export.status == ExportStatus.READY, export.error
    peak_kb = memory_kb(celery_worker.pid, "VmHWM")

    assert len({p for p in progress_seen if 0 < p < 100}) >= 3, progress_seen
    assert export.row_count == 2 * TRANSACTIONS
    with export.file.open("rb") as stream:
        lines = sum(1 for _ in stream)
    assert lines == 2 * TRANSACTIONS + 1
    assert peak_kb < PEAK_RSS_BOUND_MB * 1024, f"worker peak {peak_kb // 1024} MB"
    assert peak_kb - before_kb < GROWTH_BOUND_MB * 1024, f"grew {(peak_kb - before_kb) // 1024} MB"
    assert sum(Account.objects.of(collective).values_list("balance", flat=True), Decimal(0)) == 0
