"""An accountant requests a journal export, watches its progress bar, downloads the file."""

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from members.models import Role
from tests.accounting.test_large_export import bulk_ledger
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.e2e

TRANSACTIONS = 100_000  # 200,000 entries: long enough to watch the bar move (the page polls each second)


@pytest.fixture(autouse=True)
def no_rate_limits(settings):
    settings.ACCOUNT_RATE_LIMITS = False


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings, monkeypatch):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    monkeypatch.setenv("MEDIA_ROOT", settings.MEDIA_ROOT)


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
    page.get_by_role("button", name="Request the export").click()

    row = page.locator("#exports tbody tr").first
    expect(row.locator("progress")).to_be_visible()
    download_link = row.get_by_role("link", name="Download")
    seen = []  # the bar's values as the page refreshes itself, until the link appears
    for _ in range(600):
        if download_link.count():
            break
        value = page.evaluate("document.querySelector('#exports tbody tr progress')?.value ?? null")
        if value is not None and (not seen or seen[-1] != value):
            seen.append(value)
        page.wait_for_timeout(100)
    assert any(0 < value < 100 for value in seen) and seen == sorted(seen), seen
    expect(download_link).to_be_visible()
    expect(row.locator("progress")).to_have_count(0)
    with page.expect_download() as download_info:
        download_link.click()
    download = download_info.value
    assert download.suggested_filename.startswith(f"{collective.slug}-journal") and download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8-sig") as stream:
        lines = stream.read().splitlines()
    assert lines[0].split(";")[6:8] == ["debit", "credit"]
    assert len(lines) == 2 * TRANSACTIONS + 1
