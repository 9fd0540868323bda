"""The attack suite of the accountant's files: whatever text people typed, every export is a valid file.

Hypothesis writes hostile text (any Unicode, double quotes, the CSV and FEC
separators, line breaks, control characters, formula starters) where each
export shows it: ledger account names and memos, funding sources, budget,
envelope and round names, bucket titles, people's names, transfer references,
the FEC's journal and chart labels. Each example exports every kind in every
format it offers through the real services and writers, then reads the file
back with its own reader: the csv module for CSV, openpyxl for XLSX, and for
the FEC its specification (a header then 18 fields a line, split on the
separator, lines ending in CR LF and nowhere else).

The text must come back with only the replacements the writers document
(accounting/writers.py), restated here independently:

- CSV keeps every character (quoting does the work); a text cell starting with
  = + - @ tab or CR gets a leading quote, and amounts stay plain numbers.
- XLSX drops what XML 1.0 cannot hold (C0 controls other than tab, LF and CR;
  U+FFFE, U+FFFF), writes CR LF and CR as LF, then quotes formula starters the
  same way; no cell is a formula or an error value.
- The FEC turns " into ' and its separators, line breaks and control
  characters (Unicode categories Cc, Zl, Zp, and |) into spaces, shrinks runs of
  spaces and trims them; a mandatory label left empty falls back to its code.

The text is stored as the books keep it: ledger rows through the ledger's own
primitives, other rows written as they are (services may refuse such text at
the door; what is already stored stays, and ledger rows can never change).
PostgreSQL stores no NUL character, so the database-backed examples go
without it; the writer-level test feeds NUL and everything else.
"""

import csv
import io
import re
import unicodedata
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pypdf import PdfReader

from accounting import services
from accounting.exporters import REGISTRY
from accounting.models import AccountingSettings, AccountMapping, ExportStatus
from accounting.writers import WRITERS
from budgets import ledger
from budgets.fundings import funding_create
from budgets.models import AccountKind, Budget, Envelope, Funding, Payout
from cobudget.models import Bucket, Round
from contributions.models import Contribution
from members.models import Membership, User

from .conftest import declare
from .test_documents import pdf_text
from .test_fec import validate_fec

pytestmark = pytest.mark.django_db

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^-?\d+([.,]\d+)?$")
FEC_SEPARATOR_CHARACTERS = {"tab": "\t", "pipe": "|"}

# What people type that a file format cares about, mixed with any Unicode at all.
HOSTILE = ['Mairie "Culture"', '"', '""', "'", "|", "\t", ";", ",", "\r", "\n", "\r\n", "\x07", "\x1b", "\x0b",
           "\x0c", "\x1c", "\x7f", "\x85", "\u2028", "\u2029", "\ufeff", "\ufffe", "\uffff", "\u202f", "\xa0", " ",
           "  ", "=", "+", "-", "@", '=HYPERLINK("http://evil.example","Click")', "@SUM(A1:A9)", "#N/A", "#REF!",
           "é", "€", "😀", "\U0010fffd", "_x000D_", "<b>&amp;</b>"]


def hostile_text(*, nul: bool) -> st.SearchStrategy[str]:
    """Non-empty text short enough for every column it is stored in (journal codes are cut to 10)."""
    alphabet = st.characters(exclude_categories=("Cs",), exclude_characters="" if nul else "\x00")
    pieces = st.sampled_from(HOSTILE) | st.text(alphabet, min_size=1, max_size=8)
    return st.lists(pieces, min_size=1, max_size=5).map(lambda parts: "".join(parts)[:60])


STORED_TEXT = hostile_text(nul=False)


# --- what each format makes of a text, stated independently of the writers -----------------------------------

def as_csv(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def as_xlsx(text: str) -> str:
    kept = "".join(c for c in text if (ord(c) >= 0x20 or c in "\t\n\r") and c not in "\ufffe\uffff")
    return as_csv(kept.replace("\r\n", "\n").replace("\r", "\n"))


def as_fec(text: str) -> str:
    def fit(c: str) -> str:
        if c == '"':
            return "'"
        return " " if c == "|" or unicodedata.category(c) in ("Cc", "Zl", "Zp") else c

    return re.sub(" +", " ", "".join(fit(c) for c in text)).strip(" ")


def or_else(text: str, fallback: str) -> str:
    """A mandatory FEC label: the text, unless nothing printable is left of it."""
    return text if as_fec(text) else fallback


# --- each format's own reader ---------------------------------------------------------------------------------

def read_csv(content: bytes, options: dict) -> list[list[str]]:
    text = content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=options.get("delimiter", ","), strict=True))
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS) or PLAIN_NUMBER.match(cell), f"formula left live: {cell!r}"
    return rows


def read_xlsx(content: bytes, options: dict) -> list[list]:
    sheet = load_workbook(io.BytesIO(content)).active
    rows = []
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type in ("s", "n", "d", "inlineStr"), (cell.data_type, cell.value)
            assert not (isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS)), cell.value
        rows.append(["" if cell.value is None else cell.value for cell in row])
    return rows


def read_fec(content: bytes, options: dict) -> list[list[str]]:
    """The FEC as its specification reads: lines ending in CR LF, fields split on the one separator."""
    text = content.decode("utf-8")
    separator = FEC_SEPARATOR_CHARACTERS[options.get("separator", "tab")]
    lines = text.split("\r\n")
    assert lines.pop() == "", "the file ends with CR LF"
    assert text.splitlines() == lines, "a line break (VT, FF, NEL, U+2028…) inside a field"
    rows = [line.split(separator) for line in lines]
    for row in rows:
        for field in row:
            assert '"' not in field and "|" not in field and "\t" not in field, field
            assert not any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in field), field
            assert field == field.strip(" "), field
    return rows


READERS: dict[str, Callable[[bytes, dict], list[list]]] = {"csv": read_csv, "xlsx": read_xlsx, "txt": read_fec}
EXPECTED: dict[str, Callable[[str], str]] = {"csv": as_csv, "xlsx": as_xlsx, "txt": as_fec}
OPTIONS = {"csv": [{"delimiter": ","}, {"delimiter": ";"}], "xlsx": [{}],
           "txt": [{"separator": "tab"}, {"separator": "pipe"}]}


# --- scenes: where each export shows people's text ------------------------------------------------------------

@dataclass
class Scene:
    collective: object
    store: Callable[[str], None]
    # Column → the text the exporter hands to the writer, from the stored text and the row read back.
    columns: dict[str, Callable[[str, dict], str]]
    params: dict


def as_stored(text: str, row: dict) -> str:
    return text


@pytest.fixture
def ledger_scene(collective, member):
    """A funding source and a budget account named with the text, a movement between them with it as memo,
    posted by a person of that name; the FEC's journal and chart labels hold it too."""

    def store(text: str) -> None:
        User.objects.filter(pk=member.pk).update(name=text)
        source = ledger.account_get_or_create(collective=collective, kind=AccountKind.FUNDING_SOURCE,
                                              code="source:hostile", name=text)
        budget = ledger.account_get_or_create(collective=collective, kind=AccountKind.BUDGET, code="budget:hostile",
                                              name=text)
        ledger.transfer(collective=collective, source=source, destination=budget, amount=Decimal("12.50"),
                        kind="funding_received", memo=text, actor=member)
        AccountingSettings.objects.update_or_create(collective=collective,
                                                    defaults={"journal_code": text[:10], "journal_label": text})
        for kind, number in ((AccountKind.FUNDING_SOURCE, "740000"), (AccountKind.BUDGET, "471000")):
            AccountMapping.objects.update_or_create(collective=collective, account_kind=kind,
                                                    defaults={"number": number, "label": text})

    columns = {
        "journal": {"account_name": as_stored, "memo": as_stored, "actor": as_stored},
        "trial_balance": {"account_name": as_stored},
        "fec": {
            "JournalCode": lambda text, row: or_else(text[:10], "BC"),
            "JournalLib": lambda text, row: or_else(text, row["JournalCode"]),
            "CompteLib": lambda text, row: or_else(text, row["CompteNum"]),
            "CompAuxLib": lambda text, row: or_else(text, row["CompAuxNum"]),
            "EcritureLib": lambda text, row: or_else(text, "funding_received"),
        },
    }
    return lambda kind: Scene(collective, store, columns[kind], {})


@pytest.fixture
def payouts_scene(granted_period, contributor, member):
    """Granted payouts whose budget, envelope, fundings, people and transfer references hold the text."""
    collective = granted_period.collective

    def store(text: str) -> None:
        Budget.objects.filter(pk=granted_period.budget_id).update(name=text)
        envelope = Envelope.objects.create(collective=collective, budget=granted_period.budget, name=text,
                                           amount=Decimal("0.00"))
        Contribution.objects.filter(period=granted_period).update(envelope=envelope)
        Funding.objects.filter(budget=granted_period.budget_id).update(source=text)
        User.objects.filter(pk__in=[contributor.pk, member.pk]).update(name=text)
        Payout.objects.filter(period=granted_period).update(reference=text)

    columns = {
        # The exporter trims the references it joins.
        "payouts": {"budget": as_stored, "person": as_stored, "reference": lambda text, row: text.strip()},
        "funding_use": {"source": as_stored, "budget": as_stored, "envelope": as_stored, "person": as_stored},
    }
    return lambda kind: Scene(collective, store, columns[kind], {})


@pytest.fixture
def round_scene(closed_round, coordinator, member):
    """A closed round whose name, bucket titles and members' names hold the text."""

    def store(text: str) -> None:
        Round.objects.filter(pk=closed_round.pk).update(name=text)
        Bucket.objects.filter(round=closed_round).update(title=text)
        User.objects.filter(pk__in=[coordinator.pk, member.pk]).update(name=text)

    columns = {"round": as_stored, "name": as_stored}
    return lambda kind: Scene(closed_round.collective, store, columns, {"round": closed_round.pk})


SCENES = {"journal": "ledger_scene", "trial_balance": "ledger_scene", "fec": "ledger_scene",
          "payouts": "payouts_scene", "funding_use": "payouts_scene", "round_results": "round_scene"}
CASES = [pytest.param(kind, fmt, options, id=f"{kind}-{fmt}-{'-'.join(map(str, options.values())) or 'default'}")
         for kind, exporter in REGISTRY.items() for fmt in exporter.formats for options in OPTIONS[fmt]]
AMOUNT_COLUMNS = {"journal": ["debit", "credit"], "trial_balance": ["opening", "debit", "credit", "closing"],
                  "payouts": ["requested", "granted", "paid"],
                  "funding_use": ["funding_amount", "granted", "attributed_granted"],
                  "round_results": ["envelope", "allocated"]}


@contextmanager
def rolled_back():
    """Each example starts from the same books: what it writes is undone at its end."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def export_file(scene: Scene, actor, kind: str, fmt: str, options: dict) -> tuple[bytes, int]:
    """The file of an export run through the services, as the accountant downloads it, and its row count."""
    export = services.export_request(collective=scene.collective, actor=actor, kind=kind, fmt=fmt,
                                     params={**scene.params, **options})
    services.export_run(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == ExportStatus.READY, export.error
    with export.file.open("rb") as stream:
        return stream.read(), export.row_count


def check_export(scene: Scene, actor, kind: str, fmt: str, options: dict, text: str) -> list[dict]:
    """Export, read back, and check the structure, the text and the amounts; returns the rows as dicts."""
    content, row_count = export_file(scene, actor, kind, fmt, options)
    header, *rows = READERS[fmt](content, options)
    assert header == REGISTRY[kind](collective=scene.collective, params={}).header()
    assert len(rows) == row_count > 0
    assert all(len(row) == len(header) for row in rows), "every row has every field"
    records = [dict(zip(header, row, strict=True)) for row in rows]
    for record in records:
        for column, handed in scene.columns.items():
            assert record[column] == EXPECTED[fmt](handed(text, record)), (column, text, record[column])
    if kind == "fec":
        separator = FEC_SEPARATOR_CHARACTERS[options["separator"]]
        validate_fec(content.decode("utf-8"), separator, fiscal_year(scene.collective))
    if fmt == "xlsx":
        for column in AMOUNT_COLUMNS.get(kind, []):
            values = [record[column] for record in records if record[column] != ""]
            assert values and all(isinstance(value, (int, float)) for value in values), (column, values)
    return records


def fiscal_year(collective) -> tuple[date, date]:
    return services.fiscal_year_bounds(collective=collective, day=timezone.localdate())


def hostile_settings(max_examples: int):
    return settings(max_examples=max_examples, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# --- the attack ------------------------------------------------------------------------------------------------

def test_every_exporter_and_every_format_is_attacked():
    """A new exporter or writer gets a scene and a reader here, or this fails."""
    assert set(SCENES) == set(REGISTRY)
    assert set(READERS) == set(WRITERS)
    assert {fmt for exporter in REGISTRY.values() for fmt in exporter.formats} <= set(OPTIONS)


@pytest.mark.parametrize("kind, fmt, options", CASES)
@hostile_settings(max_examples=12)
@given(text=STORED_TEXT)
@example(text='Mairie "Culture"')
@example(text="\x07")
@example(text="=1+1|\t;\r\n\x1b\u2028")
def test_hostile_text_makes_a_valid_file_that_reads_back(request, accountant, kind, fmt, options, text):
    """Every export, in every format it offers, of books holding the text: a file its reader parses back."""
    scene = request.getfixturevalue(SCENES[kind])(kind)
    with rolled_back():
        scene.store(text)
        check_export(scene, accountant, kind, fmt, options, text)


@pytest.mark.parametrize("fmt, options", [(fmt, options) for fmt in WRITERS for options in OPTIONS[fmt]])
@hostile_settings(max_examples=150)
@given(texts=st.lists(hostile_text(nul=True) | st.text(), min_size=1, max_size=4))
@example(texts=["#N/A", "\x07=SUM(A1:A9)", "\x00\ufffe\uffff", "a\r\nb\rc"])
@example(texts=['Mairie "Culture"', "|\t;,", "\r=1+1", " \x85 \u2028 "])
def test_every_writer_writes_any_text_and_reads_it_back(fmt, options, texts):
    """Straight to the writer: any Unicode string, NUL included, next to an amount, a count, a date, a blank."""
    header = ["text", "amount", "count", "day", "blank", *[f"more_{i}" for i in range(len(texts) - 1)]]
    row = [texts[0], Decimal("-12.50"), 3, date(2025, 3, 1), None, *texts[1:]]
    stream = io.BytesIO()
    writer = WRITERS[fmt](stream, options={**options, "title": "attack"})
    writer.write_header(header)
    writer.write_row(row)
    writer.close()
    read_header, read_row = READERS[fmt](stream.getvalue(), options)
    assert read_header == header and len(read_row) == len(header)
    expected = EXPECTED[fmt]
    assert [read_row[0], *read_row[5:]] == [expected(text) for text in texts]
    if fmt == "xlsx":
        assert read_row[1:5] == [-12.5, 3, datetime(2025, 3, 1), ""]
    else:
        amount = "-12,50" if options.get("delimiter") == ";" else "-12.50"
        assert read_row[1:5] == [amount, "3", "2025-03-01", ""]


# --- the defects as they were reported -------------------------------------------------------------------------

def test_a_double_quote_in_a_funding_source_no_longer_breaks_the_fec(budget, coordinator, accountant):
    funding_create(budget=budget, actor=coordinator, source='Mairie "Culture"', amount="500.00", status="received")
    for separator, character in FEC_SEPARATOR_CHARACTERS.items():
        export = services.export_request(collective=budget.collective, actor=accountant, kind="fec", fmt="txt",
                                         params={"separator": separator})
        services.export_run(export_id=export.pk)
        export.refresh_from_db()
        assert export.status == ExportStatus.READY, export.error
        with export.file.open("rb") as stream:
            records = validate_fec(stream.read().decode("utf-8"), character, fiscal_year(budget.collective))
        source = next(record for record in records if record["CompteNum"] == "740000")
        assert source["CompAuxLib"] == "Mairie 'Culture'"
        assert "Mairie 'Culture'" in source["EcritureLib"]


@pytest.mark.parametrize("kind, scene_fixture", [("journal", "ledger_scene"), ("trial_balance", "ledger_scene"),
                                                 ("funding_use", "payouts_scene"),
                                                 ("round_results", "round_scene")])
def test_a_bell_character_no_longer_breaks_the_xlsx_exports(request, accountant, kind, scene_fixture):
    """A funding source (or a bucket title) "Mairie\\x07Culture": the bell is dropped, the rest stays."""
    scene = request.getfixturevalue(scene_fixture)(kind)
    scene.store("Mairie\x07Culture")
    records = check_export(scene, accountant, kind, "xlsx", {}, "Mairie\x07Culture")
    column = {"journal": "account_name", "trial_balance": "account_name", "funding_use": "source",
              "round_results": "name"}[kind]
    assert {record[column] for record in records} >= {"MairieCulture"}


# --- the PDF documents: HTML-escaped templates rendered by WeasyPrint -------------------------------------------

# Markup, quotes, separators, formula starters and line breaks: all print, and pypdf reads them back.
PDF_PRINTABLE = 'Mairie "Culture" <b>&amp;</b> | ; =1+1 @x\t\r\nfin'
# Characters no font draws (WeasyPrint prints its .notdef box and warns). The PDF stays valid, but pypdf
# cannot read the text of a font once WeasyPrint gives it its own encoding, as it does for such glyphs
# (its ToUnicode map is right: glyph for glyph, what is drawn maps back to the text), so only the
# rendering is checked for them.
PDF_UNPRINTABLE = "Mairie \x07\x1b\x0b\x7f\x85\u2028\ufffe\U0010fffd Culture"


@pytest.mark.parametrize("text", [PDF_PRINTABLE, PDF_UNPRINTABLE], ids=["printable", "unprintable"])
def test_pdf_documents_render_hostile_text_as_mere_text(closed_period, contributor, round_scene, accountant, api,
                                                        text):
    """A declaration, a budget, a person, a round and its buckets named with hostile text: each document renders."""
    collective = closed_period.collective
    declare(closed_period, contributor, "120.00", "100.00", text)
    Budget.objects.filter(pk=closed_period.budget_id).update(name=text)
    round_scene("round_results").store(text)  # the round's name, its buckets' titles, its members' names
    User.objects.filter(pk=contributor.pk).update(name=text)
    membership = Membership.objects.get(collective=collective, user=contributor)
    round_ = Round.objects.of(collective).get()
    base = f"/api/v1/collectives/{collective.slug}"
    for url in (f"{base}/periods/{closed_period.pk}/statement.pdf",
                f"{base}/members/{membership.pk}/statement.pdf?year={closed_period.starts_on.year}",
                f"{base}/rounds/{round_.pk}/results.pdf"):
        response = api(accountant).get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"] == "application/pdf"
        assert len(PdfReader(io.BytesIO(response.content)).pages) >= 1
        if text == PDF_PRINTABLE:
            assert 'Mairie "Culture" <b>&amp;</b> | ; =1+1 @x fin' in pdf_text(response.content), url
