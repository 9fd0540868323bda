"""Two members allocate at once in two browsers; each sees the other's money arrive live; the close shows the
outcome."""

import re
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from cobudget import services

from .conftest import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def open_round_page(new_context, login, email, url, **options):
    page = new_context(**options).new_page()
    login(page, email)
    page.goto(url)
    page.evaluate("window.notReloaded = true")
    return page


def allocate(page, bucket_id, amount):
    page.fill(f"#amount-{bucket_id}", amount)
    page.click(f"#bucket-{bucket_id} button[value=give]")


def test_two_members_see_each_others_allocations_live_and_the_results(new_context, login, collective, coordinator,
                                                                      member):
    for person in (coordinator, member):
        EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    round = services.round_create(collective=collective, actor=coordinator, name="Printemps",
                                  envelope_amount=Decimal("100.00"))
    services.round_open(round=round, actor=coordinator)
    bucket = services.bucket_propose(actor=coordinator, bucket=services.bucket_create(
        round=round, actor=coordinator, title="Four à pain", lines=[{"min_amount": "40.00", "max_amount": "90.00"}]))
    url = f"/c/{collective.slug}/cobudget/{round.pk}/"
    alice = open_round_page(new_context, login, coordinator.email, url)
    bob = open_round_page(new_context, login, member.email, url, **PHONE)

    allocate(alice, bucket.pk, "30")
    allocate(bob, bucket.pk, "25")
    alice.wait_for_load_state()
    bob.wait_for_load_state()
    # Each submitted their own form; the other's allocation arrives by polling, without a reload.
    alice.evaluate("window.notReloaded = true")
    bob.evaluate("window.notReloaded = true")
    for page, mine in ((alice, "€30.00"), (bob, "€25.00")):
        funding = page.locator(f"#funding-{bucket.pk}")
        expect(funding.locator(".cb-funded")).to_have_text("€55.00", timeout=8000)
        expect(funding.locator(".cb-mine")).to_have_text(mine)
        expect(funding.locator(".cb-funders")).to_contain_text("2")

    allocate(bob, bucket.pk, "10")
    bob.wait_for_load_state()
    expect(alice.locator(f"#funding-{bucket.pk} .cb-funded")).to_have_text("€65.00", timeout=8000)
    # The change is made visible: the bar that moved flashes, and its fill is 65 / 90 of the width.
    expect(alice.locator(f"#funding-{bucket.pk}")).to_have_class(re.compile("cb-changed"))
    expect(alice.locator(f"#fill-{bucket.pk}")).to_have_attribute("style", "width: 72%")
    assert alice.evaluate("window.notReloaded") is True
    expect(alice.locator("#wallet .cb-balance")).to_have_text("€70.00")

    # Closing asks first, in a dialog that states what happens; cancelling leaves the round open.
    alice.click("text=Close the round")
    confirm = alice.locator("#confirm-dialog")
    expect(confirm).to_be_visible()
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    round.refresh_from_db()
    assert round.status == "open"
    alice.click("text=Close the round")
    confirm.locator("#confirm-dialog-ok").click()
    alice.wait_for_url(f"**/cobudget/{round.pk}/results/")
    celebrated = alice.locator(".cb-celebrate")
    expect(celebrated).to_contain_text("Four à pain")
    expect(celebrated.locator(f"#result-{bucket.pk} .badge")).to_have_text("funded")
    bob.goto(f"/c/{collective.slug}/cobudget/{round.pk}/results/")
    expect(bob.locator(f"#result-{bucket.pk}")).to_contain_text("Bob (€35.00)")
