"""The keyboard alone, on a phone: logging in, skipping to the content, opening the menu, and a focus ring one can
see on every element Tab reaches on the pages people use most."""

import os

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from cobudget.models import Round, RoundStatus
from members import demo
from members.models import Collective

pytestmark = pytest.mark.e2e

PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}
MAX_TABS = 150  # more focus stops than any of these pages has: a page that never gives focus back fails

FOCUSED = """() => {
    const element = document.activeElement;
    if (!element || element === document.body) return null;
    const style = getComputedStyle(element);
    const box = element.getBoundingClientRect();
    const text = element.getAttribute("aria-label") || element.textContent || element.name || "";
    return {
        name: `${element.tagName.toLowerCase()} ${text.trim().slice(0, 40)}`,
        ring: (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== "none",
        inViewport: box.right > 0 && box.left < window.innerWidth && box.width > 0 && box.height > 0,
    };
}"""



def tab_to(page, selector: str) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("(selector) => document.activeElement.matches(selector)", selector):
            return
    raise AssertionError(f"Tab never reaches {selector} on {page.url}")


def focus_stops_without_a_ring(page) -> list[str]:
    """Tab through the whole page; the focus stops one cannot see (no outline or shadow, or off screen)."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    invisible, first = [], None
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None or focused == first:
            return invisible
        first = first or focused
        if not (focused["ring"] and focused["inViewport"]):
            invisible.append(f"{page.url}: {focused}")
    raise AssertionError(f"{page.url}: still tabbing after {MAX_TABS} stops")


def test_the_keyboard_alone_logs_in_skips_to_content_opens_the_menu_and_shows_where_the_focus_is(
        new_context, live_server, transactional_db):
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    slug = demo.COLLECTIVES["fabrique"]["fields"]["slug"]
    open_round = Round.objects.of(Collective.objects.get(slug=slug)).get(status=RoundStatus.OPEN)
    page = new_context(**PHONE).new_page()

    # Logging in: Tab to each field, type, Enter.
    page.goto("/accounts/login/")
    tab_to(page, "input[name=login]")
    page.keyboard.type(demo.demo_email("bob"))
    tab_to(page, "input[name=password]")
    page.keyboard.type(demo.DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    # The first Tab shows the skip link; Enter on it moves the next Tab into the content.
    page.goto(f"/c/{slug}/")
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    assert page.evaluate(FOCUSED)["inViewport"]
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.getElementById('main').contains(document.activeElement)")

    # The phone menu opens from the keyboard and its links come next in the tab order.
    page.goto(f"/c/{slug}/")
    tab_to(page, "[data-menu-toggle]")
    page.keyboard.press("Enter")
    expect(page.locator("[data-menu-toggle]")).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.getElementById('main-menu').contains(document.activeElement)")

    # Every focus stop of the main pages shows a ring.
    invisible = []
    for path in (f"/c/{slug}/", f"/c/{slug}/contributions/new/", f"/c/{slug}/cobudget/{open_round.pk}/"):
        page.goto(path)
        invisible += focus_stops_without_a_ring(page)
    assert not invisible, "focus one cannot see:\n" + "\n".join(invisible)
