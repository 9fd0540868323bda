"""The FEC (Fichier des écritures comptables) checked against its specification.

The rules below come from article A47 A-1 of the French Livre des procédures
fiscales and from the DGFiP's notice "Fichier des écritures comptables (FEC)"
(BOI-CF-IOR-60-40-20, which describes the file article L47 A requires):
a first line naming the 18 fields in a fixed order; a tab or a pipe between
fields; dates as AAAAMMJJ; amounts in two fields Debit and Credit with a
decimal comma and no thousands separator; mandatory fields never empty;
CompAuxNum and CompAuxLib filled together; every entry (EcritureNum)
balanced; entries in chronological order; one file per fiscal year named
SirenFECAAAAMMJJ after the closing date of the year.
"""

import re
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from accounting import services
from accounting.models import ExportStatus
from accounting.writers import fec_field
from budgets.models import Entry

pytestmark = pytest.mark.django_db

FEC_COLUMNS = ["JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
               "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
               "ValidDate", "Montantdevise", "Idevise"]
MANDATORY = ["JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "PieceRef",
             "PieceDate", "EcritureLib", "Debit", "Credit", "ValidDate"]
DATE = re.compile(r"^\d{8}$")
AMOUNT = re.compile(r"^\d+(,\d{1,2})?$")


def validate_fec(text: str, separator: str, fiscal_year: tuple[date, date]) -> list[dict]:
    """Assert the structure of an FEC file; return its lines as dicts."""
    lines = text.split("\r\n")
    assert lines[-1] == ""
    header, *body = [line.split(separator) for line in lines[:-1]]
    assert header == FEC_COLUMNS
    records, balance, last_valid = [], defaultdict(Decimal), ""
    for fields in body:
        assert len(fields) == 18, fields
        record = dict(zip(FEC_COLUMNS, fields, strict=True))
        for name in MANDATORY:
            assert record[name] != "", name
        for name in ("EcritureDate", "PieceDate", "ValidDate"):
            assert DATE.match(record[name]), record[name]
            date(int(record[name][:4]), int(record[name][4:6]), int(record[name][6:]))
        first, last = (day.strftime("%Y%m%d") for day in fiscal_year)
        assert first <= record["EcritureDate"] <= last
        assert record["ValidDate"] >= last_valid
        last_valid = record["ValidDate"]
        for name in ("Debit", "Credit"):
            assert AMOUNT.match(record[name]), record[name]
        assert bool(record["CompAuxNum"]) == bool(record["CompAuxLib"])
        assert re.match(r"^\d{3,}", record["CompteNum"])
        debit, credit = (Decimal(record[name].replace(",", ".")) for name in ("Debit", "Credit"))
        balance[record["EcritureNum"]] += debit - credit
        records.append(record)
    assert all(total == 0 for total in balance.values())
    numbers = sorted({int(record["EcritureNum"]) for record in records})
    assert numbers == list(range(1, len(numbers) + 1)), "EcritureNum is a continuous sequence"
    return records


@pytest.mark.parametrize("separator, character", [("tab", "\t"), ("pipe", "|")])
def test_fec_of_a_year_follows_the_specification(busy_collective, accountant, separator, character):
    services.accounting_settings_update(collective=busy_collective, actor=accountant, siren="123456789")
    today = timezone.localdate()
    export = services.export_request(collective=busy_collective, actor=accountant, kind="fec", fmt="txt",
                                     params={"from": today.isoformat(), "separator": separator})
    services.export_run(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == ExportStatus.READY, export.error
    year = (date(today.year, 1, 1), date(today.year, 12, 31))
    assert export.params["from"] == year[0].isoformat() and export.params["to"] == year[1].isoformat()
    assert export.filename == f"123456789FEC{today.year}1231.txt"
    with export.file.open("rb") as stream:
        records = validate_fec(stream.read().decode("utf-8"), character, year)
    assert len(records) == Entry.objects.of(busy_collective).count()
    by_aux = {record["CompAuxNum"]: record for record in records}
    assert by_aux["source:1"]["CompteNum"] == "740000"
    assert by_aux["paid"]["CompteNum"] == "622800"
    assert by_aux["source:1"]["Credit"] != "0,00" and by_aux["source:1"]["Debit"] == "0,00"


def test_the_chart_of_accounts_decides_the_account_numbers(busy_collective, accountant):
    services.chart_update(collective=busy_collective, actor=accountant,
                          mapping={"funding_source": ("741000", "Subventions Fondation"), "paid": ("512000", "Banque")})
    services.accounting_settings_update(collective=busy_collective, actor=accountant, fiscal_year_start_month=9)
    today = timezone.localdate()
    export = services.export_request(collective=busy_collective, actor=accountant, kind="fec", fmt="txt",
                                     params={"from": today.isoformat()})
    services.export_run(export_id=export.pk)
    export.refresh_from_db()
    first, last = services.fiscal_year_bounds(collective=busy_collective, day=today)
    assert first.month == 9 and first.day == 1 and first <= today <= last
    with export.file.open("rb") as stream:
        records = validate_fec(stream.read().decode("utf-8"), "\t", (first, last))
    labels = {record["CompteNum"]: record["CompteLib"] for record in records}
    assert labels["741000"] == "Subventions Fondation" and labels["512000"] == "Banque"
    assert "740000" not in labels


@given(st.text())
def test_an_fec_field_never_holds_a_separator_a_break_a_quote_or_loose_spaces(text):
    field = fec_field(text)
    assert not re.search(r'[|"\x00-\x1f\x7f-\x9f\u2028\u2029]', field)
    assert "  " not in field and field == field.strip(" ")
    assert fec_field(field) == field  # a field already fit is kept as it is (the fast path)
