"""A carrier is added to a bucket by typing their name, suggested by the members search."""

import re
from decimal import Decimal

from playwright.sync_api import expect

from cobudget import services
from cobudget.models import Bucket
from tests.e2e import test_cobudget_forms as form_journeys

# The fixtures of the forms journeys: a browser signed in as someone, and the collective's people.
open_as, people = form_journeys.open_as, form_journeys.people


def test_a_carrier_is_added_by_typing_and_then_listed_to_untick(open_as, collective, coordinator, member, people):
    round = services.round_open(round=services.round_create(
        collective=collective, actor=coordinator, name="Printemps", envelope_amount=Decimal("100.00")),
        actor=coordinator)
    page = open_as(coordinator, f"/c/{collective.slug}/cobudget/{round.pk}/buckets/new/")
    page.get_by_label("Title").fill("Jardin")
    page.locator("[data-cb-line]").nth(0).get_by_label("Minimum").fill("50")
    added = page.locator(".cb-carriers").get_by_label("Add a carrier").first
    added.press_sequentially("Gae")
    expect(page.locator(f"#{added.get_attribute('list')} option")).to_have_count(1)
    added.fill("Nobody at all")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".cb-carriers .errorlist")).to_contain_text("No member matches “Nobody at all”.")
    assert not Bucket.objects.filter(title="Jardin").exists()
    page.locator(".cb-carriers").get_by_label("Add a carrier").first.fill("Gaelle")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/cobudget/buckets/\d+/$"))
    bucket = Bucket.objects.get(title="Jardin")
    assert sorted(bucket.carriers.values_list("name", flat=True)) == ["Alice", "Gaelle"]
    page.get_by_role("link", name="Edit").click()
    expect(page.locator(".cb-carriers").get_by_label("Gaelle")).to_be_checked()
