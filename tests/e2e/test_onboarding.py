"""Onboarding in a real browser: sign up, confirm, create a collective, invite, accept."""

import re
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from playwright.sync_api import expect

from members.models import Collective, Membership

pytestmark = pytest.mark.e2e

PASSWORD = "a long and unusual passphrase 42"



def _link_in_last_mail_to(email: str, pattern: str) -> str:
    """The path of the first link matching `pattern` in the last mail sent to `email`."""
    messages = [message for message in mail.outbox if email in message.to]
    assert messages, f"no mail sent to {email}"
    links = [urlsplit(link).path for link in re.findall(r"https?://\S+", messages[-1].body)]
    matching = [link for link in links if re.search(pattern, link)]
    assert matching, messages[-1].body
    return matching[0]


def _sign_up_and_confirm(page, email: str) -> None:
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/accounts/confirm-email/")
    page.goto(_link_in_last_mail_to(email, r"/accounts/confirm-email/[^/]+/$"))
    page.click("main button[type=submit]")


def test_a_founder_creates_a_collective_and_a_newcomer_joins_it_by_email(new_context):
    mail.outbox.clear()

    # The founder signs up, confirms the email address and is logged in.
    founder = new_context().new_page()
    founder.goto("/accounts/signup/")
    _sign_up_and_confirm(founder, "founder@example.org")
    founder.wait_for_url("**/")
    assert founder.locator("h1").inner_text().startswith("Hello")

    # Logging out and in again works with the confirmed address.
    founder.click("header button:has-text('Log out')")
    founder.goto("/accounts/login/")
    founder.fill("input[name=login]", "founder@example.org")
    founder.fill("input[name=password]", PASSWORD)
    founder.click("main button[type=submit]")
    founder.wait_for_url("**/")

    # The founder creates a collective.
    founder.click("main a:has-text('Create a collective')")
    founder.fill("input[name=name]", "La Ruche")
    founder.fill("input[name=slug]", "la-ruche")
    founder.fill("textarea[name=description]", "A third place in Lille.")
    founder.click("main button[type=submit]")
    founder.wait_for_url("**/c/la-ruche/")
    assert "La Ruche" in founder.locator("h1").inner_text()

    # The founder invites a newcomer by email, as a contributor.
    founder.click(".collective-nav >> text=Members")
    founder.fill("input[name=email]", "newcomer@example.org")
    founder.check("input[name=roles][value=contributor]")
    founder.uncheck("input[name=roles][value=member]")
    with founder.expect_navigation():
        founder.click("main button:has-text('Send the invitation')")
    assert "An invitation was sent to newcomer@example.org." in founder.locator(".messages").inner_text()
    assert "newcomer@example.org" in founder.locator("#invitations").inner_text()

    # The newcomer, in another browser, opens the link from the email and signs up from there.
    invitation_path = _link_in_last_mail_to("newcomer@example.org", r"^/invitations/[^/]+/$")
    newcomer = new_context().new_page()
    newcomer.goto(invitation_path)
    assert "La Ruche" in newcomer.locator("main").inner_text()
    newcomer.click("main a:has-text('Sign up')")
    _sign_up_and_confirm(newcomer, "newcomer@example.org")

    # Confirming the address logs the newcomer in and brings them back to the invitation.
    newcomer.wait_for_url(f"**{invitation_path}")
    newcomer.click("main button:has-text('Accept the invitation')")
    newcomer.wait_for_url("**/c/la-ruche/")
    newcomer.goto("/")
    assert "La Ruche" in newcomer.locator("main").inner_text()
    assert "contributor" in newcomer.locator("main").inner_text()

    ruche = Collective.objects.get(slug="la-ruche")
    roles = {m.user.email: m.roles for m in Membership.objects.of(ruche).select_related("user")}
    assert roles == {"founder@example.org": ["coordinator"], "newcomer@example.org": ["contributor"]}

    # Leaving asks first: cancelling keeps the membership, confirming ends it.
    newcomer.goto("/c/la-ruche/members/")
    newcomer.click("main a:has-text('Leave the collective')")
    assert "Leave La Ruche?" in newcomer.locator("main").inner_text()
    newcomer.click("main a:has-text('Cancel')")
    newcomer.wait_for_url("**/c/la-ruche/members/")
    assert Membership.objects.of(ruche).filter(user__email="newcomer@example.org").exists()
    newcomer.click("main a:has-text('Leave the collective')")
    with newcomer.expect_navigation():
        newcomer.click("main button:has-text('Yes, leave')")
    assert "You left La Ruche." in newcomer.locator(".messages").inner_text()
    assert not Membership.objects.of(ruche).filter(user__email="newcomer@example.org").exists()


def test_home_page_speaks_french_when_french_is_chosen(new_context):
    page = new_context().new_page()
    page.goto("/accounts/signup/")
    with page.expect_navigation():
        page.select_option("#language-select", "fr")
    assert page.locator("html").get_attribute("lang") == "fr"
    _sign_up_and_confirm(page, "camille@example.org")
    page.wait_for_url("**/")
    text = page.locator("main").inner_text()
    assert "Mes collectifs" in text and "Créer un collectif" in text


def test_on_a_phone_the_header_is_compact_and_every_menu_is_reachable(new_context, login, collective, coordinator):
    EmailAddress.objects.create(user=coordinator, email=coordinator.email, verified=True, primary=True)
    page = new_context(viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True).new_page()
    login(page, coordinator.email)
    page.goto(f"/c/{collective.slug}/budgets/")
    header = page.locator(".topbar").bounding_box()
    menu = page.locator(".collective-nav").bounding_box()
    assert header["height"] + menu["height"] <= 0.15 * 812, (header, menu)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    # The collective's menu scrolls sideways within itself; the section the reader is in is marked.
    links = page.locator(".collective-nav a")
    assert links.count() >= 8
    expect(page.locator(".collective-nav a[aria-current=page]")).to_have_text("Budgets")
    last = links.nth(links.count() - 1)
    last.scroll_into_view_if_needed()
    box = last.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375, last.inner_text()
    # The main menu hides behind the menu button, which opens it.
    expect(page.locator("#main-menu")).to_be_hidden()
    page.click("button[data-menu-toggle]")
    expect(page.locator("button[data-menu-toggle]")).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#main-menu").get_by_role("link", name="My earnings")).to_be_visible()
