"""An accountant requests a journal export, watches its progress bar, downloads the file."""

import time

import psycopg
import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import connection
from playwright.sync_api import expect

from accounting import services
from accounting.models import Export, ExportStatus
from members.models import Role
from tests.accounting.test_large_export import assert_progress_rises_to_ready, bulk_ledger, export_progress_recorded
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("media_root")]

TRANSACTIONS = 100_000  # 200,000 entries: a beat every 5,000 (see accounting.services.PROGRESS_EVERY_ROWS)




def wait_until(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.05)
    return found


def frozen_midway(export_id: int) -> tuple[psycopg.Connection, int]:
    """Once the worker has recorded some progress, hold the export's row FOR UPDATE on a session of the test's own:
    the worker stops at its next write of it, and the progress the page should show stays put. Returns the session
    (roll it back to let the worker go on) and that progress."""
    wait_until(lambda: Export.objects.filter(pk=export_id, status=ExportStatus.RUNNING, progress__gt=0,
                                             progress__lt=50).exists(), 120, "the export to be under way")
    database = settings.DATABASES["default"]  # the application's role, as the worker's
    session = psycopg.connect(host=database["HOST"] or "127.0.0.1", port=database["PORT"] or 5432,
                              dbname=database["NAME"], user=database["USER"], password=database["PASSWORD"] or None)
    status, progress = session.execute("SELECT status, progress FROM accounting_export WHERE id = %s FOR UPDATE",
                                       [export_id]).fetchone()
    assert status == ExportStatus.RUNNING and 0 < progress < 100, (status, progress)

    def worker_waits():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                           [session.info.backend_pid])
            return cursor.fetchall()

    wait_until(worker_waits, 30, "the worker to wait for the held row")
    return session, progress


def test_an_accountant_exports_the_journal_and_downloads_it(page, login, collective, celery_worker):
    carol = MembershipFactory(collective=collective, user=UserFactory(email="carol@example.org", name="Carol"),
                              roles=[Role.ACCOUNTANT.value]).user
    EmailAddress.objects.create(user=carol, email=carol.email, verified=True, primary=True)
    bulk_ledger(collective, TRANSACTIONS)

    login(page, "carol@example.org")
    page.goto(f"/c/{collective.slug}/accounting/")
    expect(page.get_by_test_id("balance-check")).to_have_class("ok")
    page.select_option("select[name=kind]", "journal")
    page.select_option("select[name=format]", "csv")
    page.select_option("select[name=delimiter]", ";")
    with export_progress_recorded() as progress_of:
        page.get_by_role("button", name="Request the export").click()
        row = page.locator("#exports tbody tr").first
        expect(row.locator("progress")).to_be_visible()
        export = Export.objects.of(collective).get()
        # The worker is held still midway: the bar, refreshing itself, comes to show how far it got.
        session, progress = frozen_midway(export.pk)
        try:
            expect(row.locator("progress")).to_have_attribute("value", str(progress), timeout=15_000)
        finally:
            session.rollback()
            session.close()
        download_link = row.get_by_role("link", name="Download")
        expect(download_link).to_be_visible(timeout=120_000)
        expect(row.locator("progress")).to_have_count(0)
        assert_progress_rises_to_ready(progress_of(export.pk),
                                       midway=2 * TRANSACTIONS // services.PROGRESS_EVERY_ROWS - 1)
    with page.expect_download() as download_info:
        download_link.click()
    download = download_info.value
    filename = download.suggested_filename
    assert filename.startswith(f"{collective.slug}-journal") and filename.endswith(".csv")
    with open(download.path(), encoding="utf-8-sig") as stream:
        lines = stream.read().splitlines()
    assert lines[0].split(";")[6:8] == ["debit", "credit"]
    assert len(lines) == 2 * TRANSACTIONS + 1
