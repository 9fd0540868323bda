"""Browser journeys: Playwright driving Debian's Chromium against live_server."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

# Playwright's sync API runs an event loop in the test thread; the ORM calls a
# journey makes to arrange data or check results are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
# Screenshots of the pages, kept by CI as test artifacts.
SCREENSHOTS_DIR = Path(
    os.environ.get("SCREENSHOTS_DIR") or Path(__file__).parents[2] / "test-artifacts" / "screenshots"
)


@pytest.fixture(autouse=True)
def no_rate_limits(settings):
    """Journeys log in again and again, and allauth's rate limits live in the shared cache: a previous run must
    not throttle this one."""
    settings.ACCOUNT_RATE_LIMITS = False


@pytest.fixture
def media_root(tmp_path, settings, monkeypatch):
    """Generated files (exports) in the test's own folder, for the live server and a worker alike."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    monkeypatch.setenv("MEDIA_ROOT", settings.MEDIA_ROOT)


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser, live_server):
    """Open any number of independent browser sessions (one per person)."""
    contexts = []

    def open_context(**options):
        context = browser.new_context(base_url=live_server.url, locale="en-GB", **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context):
    return new_context().new_page()


@pytest.fixture
def login(live_server):
    """Log a person in through the real login form."""

    def log_in(page, email: str, password: str = "correct horse battery staple"):
        page.goto("/accounts/login/")
        page.fill("input[name=login]", email)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state()

    return log_in
