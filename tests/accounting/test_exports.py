import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone
from openpyxl import load_workbook

from accounting import services
from accounting.exporters import REGISTRY
from accounting.models import Export, ExportStatus
from accounting.writers import TextWriter
from budgets.ledger_audit import ledger_violations
from budgets.models import Account, Entry
from contrib_budget.errors import DomainError, Forbidden

pytestmark = pytest.mark.django_db


def run(collective, actor, kind, fmt, **params) -> Export:
    export = services.export_request(collective=collective, actor=actor, kind=kind, fmt=fmt, params=params)
    services.export_run(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == ExportStatus.READY, export.error
    return export


def read_csv(export: Export, delimiter: str = ",") -> tuple[list[str], list[list[str]]]:
    with export.file.open("rb") as stream:
        text = stream.read().decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    return header, rows


def test_journal_of_a_busy_collective_balances_and_matches_the_ledger(busy_collective, accountant):
    export = run(busy_collective, accountant, "journal", "csv")
    header, rows = read_csv(export)
    assert header[:8] == ["transaction_id", "date", "type", "account_code", "account_name", "account_kind",
                          "debit", "credit"]
    column = {name: index for index, name in enumerate(header)}
    debits = sum(Decimal(row[column["debit"]]) for row in rows)
    credits = sum(Decimal(row[column["credit"]]) for row in rows)
    entries = Entry.objects.of(busy_collective)
    assert len(rows) == export.row_count == entries.count() > 200
    assert debits == credits == entries.filter(amount__gt=0).aggregate(total=Sum("amount"))["total"]
    assert all((Decimal(row[column["debit"]]) == 0) != (Decimal(row[column["credit"]]) == 0) for row in rows)
    assert ledger_violations(busy_collective) == []


def test_trial_balance_sums_to_zero_and_closings_equal_cached_balances(busy_collective, accountant):
    export = run(busy_collective, accountant, "trial_balance", "csv")
    header, rows = read_csv(export)
    assert header == ["account_code", "account_name", "account_kind", "opening", "debit", "credit", "closing"]
    closings = {row[0]: Decimal(row[6]) for row in rows}
    assert sum(closings.values()) == 0
    assert sum(Decimal(row[4]) for row in rows) == sum(Decimal(row[5]) for row in rows)
    assert closings == {account.code: account.balance for account in Account.objects.of(busy_collective)}


def test_trial_balance_opening_carries_what_came_before_the_range(busy_collective):
    tomorrow = timezone.localdate() + timedelta(days=1)
    exporter = REGISTRY["trial_balance"](collective=busy_collective, params={"from": tomorrow.isoformat()})
    rows = list(exporter.rows())
    balances = {account.code: account.balance for account in Account.objects.of(busy_collective)}
    assert {row[0]: row[3] for row in rows} == balances
    assert all(row[4] == row[5] == 0 for row in rows)


def test_semicolon_csv_writes_decimal_commas_for_french_spreadsheets(busy_collective, accountant):
    export = run(busy_collective, accountant, "journal", "csv", delimiter=";")
    header, rows = read_csv(export, delimiter=";")
    debit = header.index("debit")
    assert all("," in row[debit] and "." not in row[debit] for row in rows)


def test_xlsx_holds_the_same_rows_as_numbers(busy_collective, accountant):
    export = run(busy_collective, accountant, "journal", "xlsx")
    with export.file.open("rb") as stream:
        sheet = load_workbook(io.BytesIO(stream.read()), read_only=True).active
        header, *rows = list(sheet.iter_rows(values_only=True))
    debit, credit = header.index("debit"), header.index("credit")
    assert len(rows) == Entry.objects.of(busy_collective).count()
    assert sum(Decimal(str(row[debit])) for row in rows) == sum(Decimal(str(row[credit])) for row in rows)


def test_xlsx_amounts_show_two_decimals(busy_collective, accountant):
    export = run(busy_collective, accountant, "journal", "xlsx")
    with export.file.open("rb") as stream:
        sheet = load_workbook(io.BytesIO(stream.read())).active
    debit = [cell.value for cell in sheet[1]].index("debit") + 1
    assert {sheet.cell(row=2, column=debit).number_format, sheet.cell(row=3, column=debit).number_format} == {
        "#,##0.00"}


def test_running_an_export_twice_writes_it_once(busy_collective, accountant):
    export = run(busy_collective, accountant, "trial_balance", "xlsx")
    name, finished = export.file.name, export.finished_at
    services.export_run(export_id=export.pk)
    export.refresh_from_db()
    assert (export.file.name, export.finished_at) == (name, finished)


@pytest.mark.parametrize(("kind", "failing"), [
    ("trial_balance", (REGISTRY["trial_balance"], "rows")),  # rows written one by one
    ("journal", (TextWriter, "write_copied")),  # rows written by the database's COPY
])
def test_a_failing_export_is_marked_failed_with_its_error(busy_collective, accountant, monkeypatch, kind, failing):
    export = services.export_request(collective=busy_collective, actor=accountant, kind=kind, fmt="csv", params={})

    def explode(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(*failing, explode)
    services.export_run(export_id=export.pk)
    export.refresh_from_db()
    assert (export.status, export.error) == (ExportStatus.FAILED, "disk full")


def test_a_killed_running_export_is_claimed_again_once_stale(busy_collective, accountant):
    export = services.export_request(collective=busy_collective, actor=accountant, kind="trial_balance", fmt="csv",
                                     params={})
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING, progress=40)
    services.export_run(export_id=export.pk)
    assert Export.objects.get(pk=export.pk).status == ExportStatus.RUNNING
    Export.objects.filter(pk=export.pk).update(updated_at=timezone.now() - services.STALE_AFTER - timedelta(minutes=1))
    services.export_run(export_id=export.pk)
    assert Export.objects.get(pk=export.pk).status == ExportStatus.READY


def test_the_requester_gets_an_email_with_the_download_link(busy_collective, accountant, mailoutbox,
                                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        export = run(busy_collective, accountant, "journal", "csv")
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [accountant.email]
    assert f"/c/{busy_collective.slug}/accounting/exports/{export.pk}/download/" in message.body


def test_request_is_queued_on_commit(collective, accountant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        export = services.export_request(collective=collective, actor=accountant, kind="journal", fmt="xlsx",
                                         params={})
    assert len(callbacks) == 1
    export.refresh_from_db()
    assert export.status == ExportStatus.PENDING
    callbacks[0]()
    export.refresh_from_db()
    assert export.status == ExportStatus.READY and export.row_count == 0


def test_expired_exports_and_their_files_are_deleted(busy_collective, accountant):
    export = run(busy_collective, accountant, "trial_balance", "csv")
    kept = run(busy_collective, accountant, "trial_balance", "csv")
    storage, name = export.file.storage, export.file.name
    Export.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert services.exports_purge_expired() == 1
    assert not storage.exists(name)
    assert list(Export.objects.of(busy_collective)) == [kept]


def test_members_cannot_request_exports(collective, member):
    with pytest.raises(Forbidden):
        services.export_request(collective=collective, actor=member, kind="journal", fmt="csv", params={})


@pytest.mark.parametrize("kind, fmt, params, code", [
    ("ledger", "csv", {}, "unknown_kind"),
    ("journal", "txt", {}, "unsupported_format"),
    ("fec", "csv", {}, "unsupported_format"),
    ("fec", "txt", {"from": "2025-01-01", "to": "2026-01-01"}, "one_fiscal_year"),
    ("journal", "csv", {"from": "2025-02-01", "to": "2025-01-01"}, "invalid_range"),
    ("journal", "csv", {"delimiter": "|"}, "invalid_delimiter"),
])
def test_invalid_requests_are_refused(collective, accountant, kind, fmt, params, code):
    with pytest.raises(DomainError) as error:
        services.export_request(collective=collective, actor=accountant, kind=kind, fmt=fmt, params=params)
    assert error.value.code == code


def test_the_fec_covers_the_current_fiscal_year_by_default(collective, accountant):
    export = services.export_request(collective=collective, actor=accountant, kind="fec", fmt="txt", params={})
    first, last = services.fiscal_year_bounds(collective=collective, day=timezone.localdate())
    assert (export.params["from"], export.params["to"]) == (first.isoformat(), last.isoformat())


def test_beat_purges_expired_exports_with_a_registered_task(settings, busy_collective, accountant):
    from contrib_budget.celery import app

    expired = [run(busy_collective, accountant, "trial_balance", "csv") for _ in range(2)]
    fresh = run(busy_collective, accountant, "trial_balance", "csv")
    files = [(export.file.storage, export.file.name) for export in expired]
    Export.objects.filter(pk__in=[export.pk for export in expired]).update(
        expires_at=timezone.now() - timedelta(seconds=1))
    app.loader.import_default_modules()
    entry = settings.CELERY_BEAT_SCHEDULE["accounting-purge-expired-exports"]
    assert entry["task"] in app.tasks
    assert app.tasks[entry["task"]].apply().get() == 2
    assert not any(storage.exists(name) for storage, name in files)
    assert list(Export.objects.of(busy_collective)) == [fresh]
    assert fresh.file.storage.exists(fresh.file.name)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_user_text_that_a_spreadsheet_would_run_as_a_formula_is_quoted_but_amounts_stay_numbers(
    collective, accountant, fmt
):
    from budgets import ledger
    from budgets.models import AccountKind

    source = ledger.account_get_or_create(collective=collective, kind=AccountKind.FUNDING_SOURCE, code="source:x",
                                          name="@SUM(A1:A9)")
    budget = ledger.account_get_or_create(collective=collective, kind=AccountKind.BUDGET, code="budget:x",
                                          name="-Budget")
    memo = '=HYPERLINK("http://evil.example","Click")'
    ledger.transfer(collective=collective, source=source, destination=budget, amount=Decimal("12.50"),
                    kind="funding_received", memo=memo, actor=accountant)
    export = run(collective, accountant, "journal", fmt)
    if fmt == "csv":
        header, rows = read_csv(export)
    else:
        with export.file.open("rb") as stream:
            sheet = load_workbook(io.BytesIO(stream.read())).active
        header, *rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
        assert {cell.data_type for row in sheet.iter_rows() for cell in row} <= {"s", "inlineStr", "n", "d"}
    cells = [cell for row in rows for cell in row]
    assert "'" + memo in cells and "'@SUM(A1:A9)" in cells and "'-Budget" in cells and memo not in cells
    credit = header.index("credit")
    assert {str(row[credit]) for row in rows} - {"", "None", "0.00", "0"} <= {"12.50", "12.5"}
