"""An accountant sends payable payouts out as a SEPA file, downloads it, cancels the batch; a coordinator reverses a
grant made in error."""

from pathlib import Path

import pytest
import xmlschema
from playwright.sync_api import expect

from budgets.models import Payout, PayoutBatch
from members.models import Role
from tests.budgets.helpers import paid_by_transfer_or_not
from tests.factories import verified_member

pytestmark = pytest.mark.e2e
XSD = Path(__file__).parents[1] / "budgets" / "data" / "pain.001.001.03.xsd"


@pytest.fixture
def granted(collective):
    coordinator = verified_member(collective, "alice@example.org", "Alice", [Role.COORDINATOR.value])
    with_iban, without = paid_by_transfer_or_not(collective, coordinator, with_iban="150.00", without="90.00")
    return coordinator, with_iban, without


def test_an_accountant_produces_a_sepa_file_and_cancels_the_batch(page, login, collective, granted):
    _coordinator, with_iban, without = granted
    verified_member(collective, "carol@example.org", "Carol", [Role.ACCOUNTANT.value])
    login(page, "carol@example.org")
    page.goto(f"/c/{collective.slug}/payouts/")
    for payout in Payout.objects.all():
        page.check(f"#payout-{payout.pk} input[type=checkbox]")
    page.get_by_role("button", name="SEPA transfer file").click()
    expect(page.locator("#confirm-dialog")).to_be_hidden()
    expect(page.locator("h1")).to_contain_text("Batch #")
    batch = PayoutBatch.objects.get()
    expect(page.locator("#batch-total")).to_contain_text("150.00")
    expect(page.locator("#batch-skipped")).to_contain_text("No bank details are recorded.")
    with page.expect_download() as download:
        page.click("#batch-download")
    document = Path(download.value.path()).read_text()
    xmlschema.XMLSchema(str(XSD)).validate(document)
    assert f"CB-B{batch.pk}-{with_iban.pk}" in document and without.display_name not in document
    page.goto(f"/c/{collective.slug}/payouts/?state=sent")
    expect(page.locator("#payouts tbody tr")).to_have_count(1)
    page.goto(f"/c/{collective.slug}/payouts/batches/{batch.pk}/")
    page.get_by_role("button", name="Cancel the batch").click()
    page.locator("#confirm-dialog-ok").click()
    expect(page.locator("#batch-status")).to_have_text("cancelled")
    assert {p.state for p in Payout.objects.all()} == {"payable"}


def test_a_coordinator_reverses_a_grant_made_in_error(page, login, collective, granted):
    _coordinator, _with_iban, without = granted
    payout = Payout.objects.get(person=without)
    login(page, "alice@example.org")
    page.goto(f"/c/{collective.slug}/periods/{payout.period_id}/payouts/")
    page.locator(f"#payout-{payout.pk}").get_by_role("link", name="Correct…").click()
    page.fill("#reverse-reason", "Declared twice")
    page.get_by_role("button", name="Reverse").click()
    page.locator("#confirm-dialog-ok").click()
    expect(page.locator("#payout-state")).to_have_text("reversed")
    expect(page.locator("#payout-reversed")).to_contain_text("Declared twice")
    payout.refresh_from_db()
    assert (payout.state, payout.reversed_amount) == ("reversed", 90)
