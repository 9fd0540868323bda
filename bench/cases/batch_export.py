"""Journal exports as the accountant gets them (`accounting.services.export_run`, what the Celery task runs: the
rows streamed into a file, then stored) against `COPY (SELECT the same cells ...) TO STDOUT` of the same rows
written to a file.

The journal is seeded once, as ledger-consistent rows: two entries per transaction between 50 accounts of most
kinds, spread over the current fiscal year (so the FEC, one file per fiscal year, holds them all), a third of them
with an actor, a quarter linked to an object, some memos and names with commas and quotes.
"""

import tempfile
import time
from datetime import datetime, timedelta

import psycopg
from django.db import connection, transaction
from django.utils import timezone

from accounting.chart import chart_of
from accounting.exporters.ledger import DEFAULT_JOURNAL_CODE, fec_label
from accounting.models import Export, ExportStatus
from accounting.selectors import accounting_settings_of
from accounting.services import export_run, fiscal_year_bounds
from members.models import Collective, User

from .batch_seed import People, analyzed, collective_seed, timed

ACCOUNTS = 50
SOURCES = 5
# Not payable nor paid: the books check those against the payouts, which this journal has none of.
OTHER_KINDS = ["budget", "envelope", "wallet", "bucket", "pool", "round"]


def journal_seed(people: People, entries: int, label: str) -> Collective:
    collective = collective_seed(people, label)
    first, _last = fiscal_year_bounds(collective=collective, day=timezone.localdate())
    now = timezone.now()
    start = max(timezone.make_aware(datetime.combine(first, datetime.min.time())), now - timedelta(days=300))
    params = {"collective": collective.pk, "currency": collective.currency, "accounts": ACCOUNTS, "sources": SOURCES,
              "kinds": OTHER_KINDS, "transactions": max(1, entries // 2), "start": start, "span": now - start,
              "actor": people.coordinator.pk}
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in SEED:
            cursor.execute(statement, params)
    analyzed("budgets_entry", "budgets_ledgertransaction", "budgets_account")
    return collective


SEED = [
    "INSERT INTO budgets_account (kind, code, name, currency, allow_negative, balance, created_at, collective_id)"
    " SELECT CASE WHEN i <= %(sources)s THEN 'funding_source'"
    "  ELSE (%(kinds)s::text[])[1 + i %% cardinality(%(kinds)s::text[])] END, 'bench:' || i,"
    " 'Account ' || i || CASE WHEN i %% 7 = 0 THEN ', \"quoted\"' ELSE '' END, %(currency)s, i <= %(sources)s, 0,"
    " now(), %(collective)s FROM generate_series(1, %(accounts)s) AS i",
    "CREATE TEMP TABLE seeded_account ON COMMIT DROP AS SELECT row_number() OVER (ORDER BY id) AS n, id"
    " FROM budgets_account WHERE collective_id = %(collective)s",
    "CREATE TEMP TABLE seeded_txn (i int PRIMARY KEY, id bigint) ON COMMIT DROP",
    "WITH posted AS (INSERT INTO budgets_ledgertransaction (kind, memo, created_at, idempotency_key, linked_type,"
    " linked_id, collective_id, actor_id)"
    " SELECT (ARRAY['funding', 'grant', 'payment', 'cobudget_allocation'])[1 + i %% 4],"
    "  'Movement ' || i || CASE WHEN i %% 11 = 0 THEN ', \"with quotes\"' ELSE '' END,"
    "  %(start)s + %(span)s * i / %(transactions)s, NULL,"
    "  CASE WHEN i %% 4 = 0 THEN 'budgets.funding' ELSE '' END, CASE WHEN i %% 4 = 0 THEN i::text ELSE '' END,"
    "  %(collective)s, CASE WHEN i %% 3 = 0 THEN %(actor)s END"
    " FROM generate_series(1, %(transactions)s) AS i ORDER BY i RETURNING id)"
    " INSERT INTO seeded_txn SELECT row_number() OVER (ORDER BY id), id FROM posted",
    "INSERT INTO budgets_entry (amount, collective_id, transaction_id, account_id)"
    " SELECT leg.amount, %(collective)s, t.id, a.id FROM seeded_txn t"
    " CROSS JOIN LATERAL (VALUES (1 + t.i %% %(sources)s, -(1 + (t.i %% 1000) / 100.0)),"
    "  (1 + %(sources)s + t.i %% (%(accounts)s - %(sources)s), 1 + (t.i %% 1000) / 100.0)) AS leg(n, amount)"
    " JOIN seeded_account a ON a.n = leg.n",
    "UPDATE budgets_account a SET balance = s.total FROM (SELECT account_id, sum(amount) AS total FROM budgets_entry"
    " WHERE collective_id = %(collective)s GROUP BY account_id) AS s WHERE a.id = s.account_id",
]


def export_params(collective: Collective) -> dict[str, tuple[str, str, dict]]:
    """Each format as the accountant asks for it (kind, format, cleaned parameters), by case name."""
    first, last = fiscal_year_bounds(collective=collective, day=timezone.localdate())
    return {
        "CSV": ("journal", "csv", {"from": None, "to": None, "delimiter": ","}),
        "XLSX": ("journal", "xlsx", {"from": None, "to": None}),
        "FEC": ("fec", "txt", {"from": first.isoformat(), "to": last.isoformat(), "separator": "tab"}),
    }


def export_create(collective: Collective, accountant: User, kind: str, fmt: str, params: dict) -> Export:
    return Export.objects.create(collective=collective, requested_by=accountant, kind=kind, format=fmt,
                                 params=params, expires_at=timezone.now() + timedelta(days=1))


def export_finished(export: Export, rows: int) -> None:
    """Check the export wrote every row, then delete its file (a large journal is hundreds of megabytes)."""
    export.refresh_from_db()
    if export.status != ExportStatus.READY or export.row_count != rows:
        raise RuntimeError(f"export {export.pk} ended {export.status} with {export.row_count} rows: {export.error}")
    export.file.delete(save=False)


def export_ours(collective: Collective, accountant: User, kind: str, fmt: str, params: dict, rows: int) -> float:
    export = export_create(collective, accountant, kind, fmt, params)
    elapsed = timed(lambda: export_run(export_id=export.pk))
    export_finished(export, rows)
    return elapsed


def copy_limit(database_url: str, statement: str, params: dict) -> float:
    """Seconds to COPY the rows out into a temporary file, as the export writes its own."""
    with psycopg.connect(database_url) as conn, tempfile.TemporaryFile() as sink:
        start = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy(statement, params) as copy:
            for data in copy:
                sink.write(data)
        sink.flush()
        return time.perf_counter() - start


_FROM = (" FROM budgets_entry e JOIN budgets_ledgertransaction t ON t.id = e.transaction_id"
         " JOIN budgets_account a ON a.id = e.account_id")
_ORDER = " WHERE e.collective_id = %(collective)s ORDER BY t.created_at, e.transaction_id, e.id"
_DEBIT = "CASE WHEN e.amount > 0 THEN e.amount ELSE 0.00 END"
_CREDIT = "CASE WHEN e.amount < 0 THEN -e.amount ELSE 0.00 END"
JOURNAL_COPY = (
    "COPY (SELECT e.transaction_id, (t.created_at AT TIME ZONE %(tz)s)::date, t.kind, a.code, a.name, a.kind,"
    f" {_DEBIT}, {_CREDIT}, t.memo, coalesce(nullif(u.name, ''), u.email, ''),"
    " CASE WHEN t.linked_type <> '' THEN t.linked_type || '#' || t.linked_id ELSE '' END"
    + _FROM + " LEFT JOIN members_user u ON u.id = t.actor_id" + _ORDER + ") TO STDOUT WITH (FORMAT csv, HEADER)"
)
FEC_COPY = (
    "COPY (SELECT %(journal_code)s, %(journal_label)s, dense_rank() OVER (ORDER BY t.created_at, t.id), d.day,"
    " chart.number, chart.label, a.code, coalesce(nullif(a.name, ''), a.code), e.transaction_id, d.day,"
    " coalesce(nullif(t.memo, ''), t.kind), replace(" + _DEBIT + "::text, '.', ','),"
    " replace(" + _CREDIT + "::text, '.', ','), '', '', d.day, '', ''"
    + _FROM + " JOIN unnest(%(kinds)s::text[], %(numbers)s::text[], %(labels)s::text[]) AS chart(kind, number, label)"
    " ON chart.kind = a.kind CROSS JOIN LATERAL (SELECT to_char(t.created_at AT TIME ZONE %(tz)s, 'YYYYMMDD') AS day)"
    " AS d" + _ORDER + ") TO STDOUT WITH (FORMAT csv, DELIMITER E'\\t', HEADER)"
)


def copy_statements(collective: Collective) -> dict[str, tuple[str, dict]]:
    """The COPY of each case, with its parameters (the chart and journal read as the FEC exporter reads them)."""
    chart = chart_of(collective)
    settings = accounting_settings_of(collective)
    journal_code = fec_label(settings.journal_code, DEFAULT_JOURNAL_CODE)
    base = {"collective": collective.pk, "tz": collective.timezone}
    fec = {**base, "journal_code": journal_code, "journal_label": fec_label(settings.journal_label, journal_code),
           "kinds": list(chart), "numbers": [number for number, _label in chart.values()],
           "labels": [label for _number, label in chart.values()]}
    return {"CSV": (JOURNAL_COPY, base), "XLSX": (JOURNAL_COPY, base), "FEC": (FEC_COPY, fec)}
