"""A member records how they are paid, sees it, and is told plainly when the IBAN is wrong; a coordinator sees it
masked on the members page."""

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from members.models import BankDetails
from tests.e2e.axe import AXE_SCRIPT, FAILING, axe_violations, described
from tests.e2e.conftest import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

IBAN = "FR7630006000011234567890189"


def _serious_violations(page) -> list[str]:
    return [described(v, page.url) for v in axe_violations(page) if v["impact"] in FAILING]


def test_a_member_records_their_bank_details_and_sees_a_wrong_iban_refused(login, collective, member, coordinator,
                                                                            new_context):
    context = new_context(**PHONE)
    context.add_init_script(path=str(AXE_SCRIPT))
    page = context.new_page()
    for person in (member, coordinator):
        EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    login(page, member.email)
    page.goto(f"/c/{collective.slug}/")
    page.click("text=My bank details")
    expect(page.locator("h1")).to_have_text("My bank details")

    page.check("input[name=method][value=transfer]")
    page.fill("input[name=iban]", "FR76 3000 6000 0112 3456 7890 188")
    page.fill("input[name=holder]", "Bob Martin")
    page.click("button:has-text('Save my bank details')")
    error = page.locator(".field.has-error")
    expect(error).to_contain_text("check digits of this IBAN do not match")
    assert not BankDetails.objects.exists()
    assert _serious_violations(page) == []

    page.fill("input[name=iban]", "fr76 3000 6000 0112 3456 7890 189")
    page.click("button:has-text('Save my bank details')")
    expect(page.locator(".messages")).to_contain_text("Your bank details are saved")
    expect(page.locator("#saved-iban")).to_have_text("FR76 3000 6000 0112 3456 7890 189")
    expect(page.locator("#saved-holder")).to_have_text("Bob Martin")
    assert BankDetails.objects.get().iban == IBAN
    page.reload()  # the saved details alone, without the message
    expect(page.locator("#saved-iban")).to_have_text("FR76 3000 6000 0112 3456 7890 189")
    assert _serious_violations(page) == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    coordinating = new_context().new_page()
    login(coordinating, coordinator.email)
    coordinating.goto(f"/c/{collective.slug}/members/")
    row = coordinating.locator("#members tr", has_text="Bob")
    expect(row.locator(".member-bank")).to_have_text("FR76 •••• 0189")
    assert IBAN not in coordinating.content()
