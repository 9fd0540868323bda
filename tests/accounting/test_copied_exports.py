"""The journal's CSV and the FEC, which PostgreSQL writes with COPY, are byte for byte what the writers make of
the exporter's rows, whatever people typed (quotes, line breaks inside a field, formulas, separators); its XLSX
reads back cell for cell (value, type and number format) as the workbook openpyxl writes of them."""

import io
from decimal import Decimal

import pytest
from django.db import connection
from openpyxl import load_workbook

from accounting.exporters import REGISTRY
from accounting.writers import WRITERS
from budgets import ledger
from budgets.models import AccountKind

from .conftest import post_busy_ledger

pytestmark = pytest.mark.django_db

TYPED = ['=HYPERLINK("x")', "ligne 1\nligne 2", 'dit "oui"', "a;b,c|d\te", "-5", "@lui", "  espaces  ", "\r\nfin",
         "€ é 😀", "\u2028", "\\.", ""]


def written_by_python(exporter, fmt: str, options: dict) -> bytes:
    stream = io.BytesIO()
    writer = WRITERS[fmt](stream, options=options)
    writer.write_header(exporter.header())
    for row in exporter.rows():
        writer.write_row(row)
    writer.close()
    return stream.getvalue()


def written_by_copy(exporter, fmt: str, options: dict) -> tuple[bytes, int]:
    stream = io.BytesIO()
    writer = WRITERS[fmt](stream, options=options)
    writer.write_header(exporter.header())
    select, params = exporter.copy_query(fmt, options)
    with connection.cursor() as cursor, cursor.cursor.copy(writer.copy_statement(select), params) as copy:
        rows = sum(writer.write_copied(copy))
    writer.close()
    return stream.getvalue(), rows


@pytest.fixture
def typed_ledger(collective, coordinator):
    post_busy_ledger(collective, coordinator, rounds=3)
    source = ledger.account_get_or_create(collective=collective, kind=AccountKind.FUNDING_SOURCE, code="=src",
                                          name='Mairie "Culture";\n=1+1')
    budget = ledger.account_get_or_create(collective=collective, kind=AccountKind.BUDGET, code="b|2", name="")
    for text in TYPED:
        ledger.transfer(collective=collective, source=source, destination=budget, amount=Decimal("12.30"),
                        kind="funding", memo=text, actor=coordinator)
    coordinator.name = "=Chef\r\nd'équipe"
    coordinator.save(update_fields=["name"])
    return collective


@pytest.mark.parametrize(("kind", "fmt", "options"), [
    ("journal", "csv", {"delimiter": ","}),
    ("journal", "csv", {"delimiter": ";"}),
    ("fec", "txt", {"separator": "tab"}),
    ("fec", "txt", {"separator": "pipe"}),
])
@pytest.mark.parametrize("currency", ["EUR", "CHF"])
def test_the_database_writes_what_the_writers_would(typed_ledger, kind, fmt, options, currency):
    typed_ledger.currency = currency
    typed_ledger.save(update_fields=["currency"])
    exporter = REGISTRY[kind](collective=typed_ledger, params=options)
    copied, rows = written_by_copy(exporter, fmt, options)
    assert copied == written_by_python(exporter, fmt, options)
    assert rows == exporter.count() > len(TYPED)


def read_back(content: bytes) -> list[list[tuple]]:
    sheet = load_workbook(io.BytesIO(content)).active
    return [[(cell.value, cell.data_type, cell.number_format) for cell in row] for row in sheet.iter_rows()]


def test_the_database_writes_the_workbook_openpyxl_would(typed_ledger):
    exporter = REGISTRY["journal"](collective=typed_ledger, params={})
    options = {"title": "journal"}
    copied, rows = written_by_copy(exporter, "xlsx", options)
    expected = read_back(written_by_python(exporter, "xlsx", options))
    assert read_back(copied) == expected
    assert rows == len(expected) - 1 == exporter.count()
    assert {cell[2] for row in expected[1:] for cell in row} == {"General", "yyyy-mm-dd", "#,##0.00"}


def test_the_formats_written_row_by_row_have_no_copy(collective):
    for kind, fmt in (("trial_balance", "csv"), ("payouts", "csv"), ("funding_use", "xlsx")):
        assert REGISTRY[kind](collective=collective, params={}).copy_query(fmt, {}) is None


def test_a_copied_line_end_inside_quotes_stays_a_line_feed():
    stream = io.BytesIO()
    writer = WRITERS["csv"](stream, options={})
    chunks = [b'1,"a\n', b'b",c\n2,', b'"""q""",d\n']
    assert list(writer.write_copied(chunks)) == [2]
    writer.close()
    assert stream.getvalue() == '1,"a\nb",c\r\n2,"""q""",d\r\n'.encode()
