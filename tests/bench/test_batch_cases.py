"""The batch cases of `make bench` at a tiny scale: every figure is measured beside its limit, and neither our
closings nor the limits' set-based SQL leave the books inexact."""

from urllib.parse import quote

import pytest
from django.db import connection

from bench.cases.batch import cases
from bench.harness import Scale
from budgets.ledger_audit import books_violations
from cobudget.models import Round, RoundStatus

TINY = Scale("tiny", collectives=1, people=6, declarations=0, ledger_entries=0, closing_sizes=(10, 40),
             round_buckets=4, round_allocations=24, export_entries=60, clients=(1,), read_clients=1, repeats=3)


def _database_url() -> str:
    """The test database, as the role the tests connect as."""
    db = connection.settings_dict
    credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgresql://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_batch_cases_measure_every_figure_and_keep_the_books_exact():
    rows = cases(TINY, _database_url())

    assert [row.case for row in rows] == [
        "period closing 10", "period closing 40", "period closing 40/10", "period closing memory 40/10",
        "round closing 4 buckets 24 allocations",
        "journal export 60 CSV", "journal export 60 XLSX", "journal export 60 FEC", "journal export 60 peak RSS",
    ]
    for row in rows:
        assert row.ours > 0 and row.limit > 0, row
    assert books_violations() == []
    assert not Round.objects.exclude(status=RoundStatus.CLOSED, settled_at__isnull=False).exists()
