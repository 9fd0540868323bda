"""Every page of every role, at 375 px and 1366 px, in Chromium: axe-core (from npm) finds no critical or serious
violation, no page is wider than the viewport, each has a title and a language. The main pages are photographed
on the way (full-page PNGs in $SCREENSHOTS_DIR, kept by CI as artifacts).

The pages are the URL patterns themselves, their parameters filled with the demo's objects: a new page is crawled
without touching this file, and a pattern whose parameters cannot be filled fails the test until it is filled in
demo_objects() or listed in UNFILLABLE with a reason. For each role a pattern is a page when GET answers it with
an HTML document: POST-only views answer 405, downloads another content type and HTMX fragments have no <html>, so
they drop out by what they answer. The first 403 and 404 page a role meets is checked too.
"""

import os
import queue
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from django.core.management import call_command
from django.urls import URLResolver, get_resolver, reverse
from playwright.sync_api import sync_playwright

from accounting import services as accounting
from accounting.incoming.services import funding_import_preview
from budgets.models import Budget, Funding, FundingStatus, Payout, PayoutBatch, Period, PeriodStatus
from cobudget import services as cobudget
from cobudget.models import Bucket, BucketFlag, BucketStatus, Round, RoundStatus, RoundTemplate
from contributions import services as declarations
from contributions.closing import period_close
from contributions.models import CommentKind, Contribution, ContributionStatus
from members import demo
from members import services as members
from members.models import Collective, Membership, User
from members.notifications.emails import settings_token
from members.notifications.models import Notification
from tests.e2e.axe import AXE_SCRIPT, FAILING, axe_violations, described
from tests.e2e.conftest import CHROMIUM, CHROMIUM_FLAGS, SCREENSHOTS_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("media_root")]

# WCAG 2.1 A and AA, and axe's best practices; only critical and serious violations fail the test.
VIEWPORTS = {
    375: {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True},
    1366: {"viewport": {"width": 1366, "height": 900}},
}
# Role -> the demo person who holds it in La Fabrique (members/demo.py); the visitor is not logged in.
ROLES = {"visitor": None, "coordinator": "alice", "contributor": "bob", "member": "gaelle", "accountant": "carol"}
# Roles are crawled this many at a time, each worker with its own Chromium (one per core of a small CI machine).
WORKERS = int(os.environ.get("ACCESSIBILITY_WORKERS", "2"))

# Route prefixes that are not pages of the app.
NOT_PAGES = {
    "api/": "the JSON API (its docs page is in EXTRA_PAGES)",
    "admin/": "Django's admin: staff only, Django's own templates",
}
# Pages that are not a pattern's reverse().
EXTRA_PAGES = {"api_docs": "/api/v1/docs/"}
# Pattern name -> why the demo cannot fill its parameters.
UNFILLABLE: dict[str, str] = {}
# Pages that log out whoever visits them, with the reason: each role visits them last.
LOGS_OUT = {
    "account_confirm_email": "another person's confirmation link logs out whoever is logged in (allauth)",
    "account_reset_password_from_key": "another person's password reset link logs out whoever is logged in (allauth)",
}

# (role, page label) -> file stem of the main pages' screenshots (<stem>-<width>.png).
SCREENSHOTS = {
    ("visitor", "home"): "front-page",
    ("coordinator", "collective_dashboard"): "dashboard",
    ("coordinator", "budget_detail"): "budget",
    ("coordinator", "contribution_list"): "declarations",
    ("contributor", "contribution_declare"): "declare",
    ("member", "cobudget_round[open]"): "round",
    ("member", "cobudget_round_results"): "round-results",
    ("contributor", "earnings"): "my-earnings",
    ("accountant", "accounting_index"): "accounting",
    ("accountant", "payouts"): "payouts",
}
# The ones the README shows: `make screenshots` sets README_SCREENSHOTS_DIR=docs/screenshots to refresh them.
README_SCREENSHOTS = ("dashboard-1366.png", "declare-375.png", "round-1366.png")

PAGE_FACTS = """() => ({
    scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
    title: document.title.trim(), lang: document.documentElement.lang,
})"""


@dataclass(frozen=True)
class Page:
    label: str  # the pattern's name, with the variant in brackets when it is crawled with several objects
    path: str

    @property
    def logs_out(self) -> bool:
        return self.label.split("[")[0] in LOGS_OUT




def url_patterns() -> list[tuple[str, str, set[str]]]:
    """(route, name, parameter names) of every named URL pattern outside NOT_PAGES."""

    def walk(patterns, prefix="", parameters=frozenset()):
        for pattern in patterns:
            route = prefix + str(pattern.pattern).lstrip("^")
            names = parameters | set(pattern.pattern.regex.groupindex)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route, names)
            elif pattern.name:
                yield route, pattern.name, names

    return [entry for entry in walk(get_resolver().url_patterns) if not entry[0].startswith(tuple(NOT_PAGES))]


def demo_objects() -> tuple[dict, dict]:
    """Seed the demo, add what it lacks (an invitation, an API token, an export, a person who just signed up),
    and return (parameter -> value, pattern name -> {variant: the parameters that differ})."""
    call_command("seed_demo", stdout=open(os.devnull, "w"))
    fabrique = Collective.objects.get(slug=demo.COLLECTIVES["fabrique"]["fields"]["slug"])
    people = {key: User.objects.get(email=demo.demo_email(key)) for key in demo.PEOPLE}
    newcomer = User.objects.create(email="newcomer@example.org", name="Newcomer")
    address = EmailAddress.objects.create(user=newcomer, email=newcomer.email, verified=False, primary=True)
    invitation = members.invitation_create(collective=fabrique, actor=people["alice"], email=newcomer.email,
                                           roles=["member"])
    token, _key = members.token_create(user=people["alice"], name="Scripts")
    export = accounting.export_request(collective=fabrique, actor=people["carol"], kind="journal", fmt="csv",
                                       params={})

    budget = Budget.objects.of(fabrique).order_by("pk").first()
    periods = Period.objects.of(fabrique).filter(budget=budget).order_by("index")
    in_deficit = _period_in_deficit(periods.filter(status=PeriodStatus.OPEN).first(), people)
    contributions = Contribution.objects.of(fabrique).order_by("pk")
    rounds = Round.objects.of(fabrique).order_by("pk")
    open_round = rounds.filter(status=RoundStatus.OPEN).first()
    closed_round = rounds.filter(status=RoundStatus.CLOSED).first()
    common = {
        "collective_slug": fabrique.slug,
        "budget_id": budget.pk,
        "funding_id": Funding.objects.of(fabrique).filter(budget=budget, status=FundingStatus.PLEDGED).first().pk,
        "period_id": periods.filter(status=PeriodStatus.CLOSED).first().pk,
        "contribution_id": contributions.filter(status=ContributionStatus.PENDING, author=people["bob"]).first().pk,
        "round_id": open_round.pk,
        "bucket_id": Bucket.objects.of(fabrique).filter(round=open_round, status=BucketStatus.OPEN).first().pk,
        "membership_id": Membership.objects.of(fabrique).get(user=people["hugo"]).pk,
        "invitation_id": invitation.pk,
        "token": invitation.token,
        "token_id": token.pk,
        "export_id": export.pk,
        "notification_id": Notification.objects.order_by("pk").first().pk,
        "payout_batch_id": PayoutBatch.objects.of(fabrique).order_by("pk").first().pk,
        "bucket_flag_id": BucketFlag.objects.of(fabrique).order_by("pk").first().pk,
        "round_template_id": RoundTemplate.objects.of(fabrique).order_by("pk").first().pk,
        "payout_id": Payout.objects.of(fabrique).order_by("pk").first().pk,
        "funding_import_id": funding_import_preview(
            collective=fabrique, actor=people["alice"], fmt="liberapay", budget=budget,
            text="id,date,donor,amount,currency\n1,2025-03-01,Mairie,12.00,EUR\n").pk,
        "name": "approve",  # a bucket action
        "uidb36": user_pk_to_url_str(newcomer),
        "key": default_token_generator.make_token(newcomer),
    }
    variants = {
        "cobudget_round": {"open": {}, "closed": {"round_id": closed_round.pk},
                           **_redistributing_rounds(fabrique, people["alice"])},
        "cobudget_round_results": {"": {"round_id": closed_round.pk}},
        # A bucket of a template's round kept for the next one: its carry-over toggle.
        "cobudget_bucket": {"open": {}, "kept": {"bucket_id": Bucket.objects.of(fabrique).filter(
            carry_over=True).first().pk}},
        "contribution_detail": {
            "pending": {},
            "questioned": {"contribution_id": contributions.filter(comments__kind=CommentKind.QUESTION).first().pk},
        },
        "period_detail": {"open": {"period_id": periods.filter(status=PeriodStatus.OPEN).first().pk}, "closed": {}},
        "period_decision": {"": {"period_id": in_deficit.pk}},
        "notification_settings_signed": {"": {"token": settings_token(people["gaelle"])}},
        "account_confirm_email": {"": {"key": EmailConfirmationHMAC(address).key}},
    }
    return common, variants


def _redistributing_rounds(fabrique: Collective, coordinator: User) -> dict:
    """Two rounds that redistribute: one whose next close is its first, one in its second window."""
    variants = {}
    for variant in ("first_close", "second_window"):
        round = cobudget.round_create(collective=fabrique, actor=coordinator, name=f"Second souffle ({variant})",
                                      envelope_amount="10.00", partial_policy="redistribute")
        round = cobudget.round_open(round=round, actor=coordinator)
        if variant == "second_window":
            round = cobudget.round_close(round=round, actor=coordinator)
        variants[variant] = {"round_id": round.pk}
    return variants


def _period_in_deficit(period: Period, people: dict) -> Period:
    """The demo's first open period, asked for more than it has and closed: it waits for the coordinators'
    decision (the decision page exists only then)."""
    fabrique = period.collective
    too_much = declarations.Declaration(
        budget=period.budget, performed_on=period.starts_on, description="Grand chantier", minutes=0,
        value_mode="fixed_price", amount=period.budget.amount_per_period * 2)
    contribution = declarations.contribution_declare(
        collective=fabrique, membership=Membership.objects.of(fabrique).get(user=people["farid"]),
        declaration=too_much)
    declarations.contribution_validate(contribution=contribution,
                                       membership=Membership.objects.of(fabrique).get(user=people["alice"]))
    period = period_close(period=period, actor=people["alice"])
    assert period.status == PeriodStatus.DEFICIT, "the budget's overspend policy no longer holds a deficit"
    return period


def pages_to_visit(common: dict, variants: dict) -> tuple[list[Page], list[str]]:
    """The pages of every pattern, and the patterns nobody said how to fill."""
    pages, unfilled = [], []
    for route, name, parameters in url_patterns():
        if name in UNFILLABLE:
            continue
        missing = parameters - set(common)
        if missing:
            unfilled.append(f"{route} ({name}): no demo value for {', '.join(sorted(missing))}")
            continue
        for variant, overrides in variants.get(name, {"": {}}).items():
            kwargs = {parameter: {**common, **overrides}[parameter] for parameter in parameters}
            pages.append(Page(f"{name}[{variant}]" if variant else name, reverse(name, kwargs=kwargs)))
    pages += [Page(label, path) for label, path in EXTRA_PAGES.items()]
    return pages, unfilled


def layout_problems(tab, where: str) -> list[str]:
    facts = tab.evaluate(PAGE_FACTS)
    problems = []
    if facts["scrollWidth"] > facts["innerWidth"]:
        problems.append(f"{where}: wider than the viewport ({facts['scrollWidth']} px > {facts['innerWidth']} px)")
    if not facts["title"]:
        problems.append(f"{where}: no <title>")
    if not facts["lang"]:
        problems.append(f"{where}: no <html lang>")
    return problems


def log_in(context, email: str) -> None:
    tab = context.new_page()
    tab.goto("/accounts/login/")
    tab.fill("input[name=login]", email)
    tab.fill("input[name=password]", demo.DEMO_PASSWORD)
    tab.click("main button[type=submit]")
    tab.wait_for_load_state()
    assert "/accounts/login/" not in tab.url, f"{email} could not log in"
    tab.close()


def assert_still_logged_in(context, role: str) -> None:
    assert urlsplit(context.request.get("/settings/").url).path == "/settings/", \
        f"{role} was logged out during the crawl: a page that logs out is missing from LOGS_OUT"


@dataclass
class RoleCrawl:
    """One role's visit of the pages, in one browser context per width (they share the login)."""

    role: str
    tabs: dict  # width -> page
    pattern_paths: set[str]
    crawled: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    lesser: dict = field(default_factory=dict)  # moderate and minor violations: "<impact> <rule>" -> pages
    seen: set[str] = field(default_factory=set)  # the paths crawled
    error_pages: set[int] = field(default_factory=set)  # the error statuses crawled

    def visit(self, page: Page) -> None:
        probed = self._probe(page)
        if probed is None:
            return
        status, final = probed
        self.crawled.append(page.label if status == 200 else f"{page.label} ({status})")
        for width, tab in self.tabs.items():
            tab.goto(page.path)
            where = f"[{self.role} {width}] {page.label} {final}"
            self.problems += layout_problems(tab, where)
            for violation in axe_violations(tab):
                if violation["impact"] in FAILING:
                    self.problems.append(described(violation, where))
                else:
                    rule = f"{violation['impact']} {violation['id']}"
                    self.lesser.setdefault(rule, set()).add(f"{page.label} {final}")
            stem = SCREENSHOTS.get((self.role, page.label))
            if stem:
                tab.screenshot(path=SCREENSHOTS_DIR / f"{stem}-{width}.png", full_page=True)

    def _probe(self, page: Page) -> tuple[int, str] | None:
        """(status, final path) when the page is to be crawled; None after noting why it is not."""
        # The request shares the context's cookies: it answers as the browser would, without rendering.
        response = self.tabs[min(self.tabs)].context.request.get(page.path)
        content_type = response.headers.get("content-type", "").split(";")[0]
        final, status = urlsplit(response.url).path, response.status
        reason = None
        if content_type != "text/html" or status not in (200, 403, 404):
            reason = f"{status} {content_type}"
        elif "<html" not in response.text()[:1000].lower():
            reason = "an HTML fragment"
        elif status in self.error_pages:
            reason = f"{status} (one {status} page is enough)"
        elif final != page.path and (final in self.pattern_paths or final in self.seen):
            reason = f"redirects to {final}"
        if reason:
            self.left_out.append(f"{page.label}: {reason}")
            return None
        if status == 200:
            self.seen.add(final)
        else:
            self.error_pages.add(status)
        return status, final


def crawl_role(browser, base_url: str, role: str, pages: list[Page]) -> RoleCrawl:
    axe = AXE_SCRIPT.read_text()
    contexts = [browser.new_context(base_url=base_url, locale="en-GB", **options) for options in VIEWPORTS.values()]
    try:
        for context in contexts:
            # axe-core in every document the context opens: an init script runs through the DevTools protocol,
            # which the page's CSP does not restrict (a <script> tag would be refused), and is compiled once.
            context.add_init_script(script=axe)
        if ROLES[role]:
            log_in(contexts[0], demo.demo_email(ROLES[role]))
            for context in contexts[1:]:
                context.add_cookies(contexts[0].cookies())
        crawl = RoleCrawl(role, {width: context.new_page() for width, context in zip(VIEWPORTS, contexts, strict=True)},
                          {page.path for page in pages})
        for page in pages:
            if not page.logs_out:
                crawl.visit(page)
        if ROLES[role]:
            assert_still_logged_in(contexts[0], role)
        for page in pages:
            if page.logs_out:
                crawl.visit(page)
        return crawl
    finally:
        for context in contexts:
            context.close()


def crawl_roles(base_url: str, roles: queue.Queue, pages: list[Page]) -> list[RoleCrawl]:
    """A worker: one Chromium (Playwright's sync objects stay in the thread that made them) for the roles it takes."""
    crawls = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            while not roles.empty():
                crawls.append(crawl_role(browser, base_url, roles.get_nowait(), pages))
        finally:
            browser.close()
    return crawls


def test_every_page_of_every_role_passes_axe_and_fits_both_widths(live_server, transactional_db):
    assert AXE_SCRIPT.exists(), "axe-core is missing: run `npm ci` (make test does)"
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    pages, unfilled = pages_to_visit(*demo_objects())
    assert not unfilled, "URL patterns the crawl cannot fill (fill them in demo_objects or list them in " \
                         "UNFILLABLE with a reason):\n" + "\n".join(unfilled)

    started = time.monotonic()
    roles = queue.Queue()
    for role in sorted(ROLES, key=lambda role: ROLES[role] is None):  # the visitor, who sees least, last
        roles.put(role)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        workers = [pool.submit(crawl_roles, live_server.url, roles, pages) for _ in range(WORKERS)]
        crawls = {crawl.role: crawl for worker in workers for crawl in worker.result()}
    elapsed = time.monotonic() - started

    readme_dir = os.environ.get("README_SCREENSHOTS_DIR")
    if readme_dir:
        Path(readme_dir).mkdir(parents=True, exist_ok=True)
        for name in README_SCREENSHOTS:
            shutil.copyfile(SCREENSHOTS_DIR / name, Path(readme_dir) / name)
    print(f"\nAccessibility crawl: {elapsed:.0f} s, {sum(len(c.crawled) for c in crawls.values())} pages × "
          f"{len(VIEWPORTS)} widths. Moderate and minor violations (they do not fail the test):")
    for rule in sorted({rule for crawl in crawls.values() for rule in crawl.lesser}):
        print(f"  {rule}: {', '.join(sorted({page for c in crawls.values() for page in c.lesser.get(rule, ())}))}")
    for role in ROLES:
        print(f"{role} ({len(crawls[role].crawled)} pages): {', '.join(crawls[role].crawled)}\n"
              f"  left out: {'; '.join(crawls[role].left_out)}")
    problems = [problem for role in ROLES for problem in crawls[role].problems]
    assert not problems, f"{len(problems)} accessibility problems:\n" + "\n".join(problems)
