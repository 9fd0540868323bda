"""A round with more buckets than a page: a member searches, sorts and turns the page, and another member's
allocation reaches their tab without a reload, the live refresh carrying that bucket alone."""

import re
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from budgets.models import Account, AccountKind
from cobudget import services
from cobudget.models import Bucket, BucketStatus
from cobudget.views import BUCKETS_PER_PAGE
from tests.e2e.axe import AXE_SCRIPT, FAILING, axe_violations, described

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CARDS = "#cb-buckets article.cb-bucket"


def open_buckets(round, author, titles: list[str]) -> list[Bucket]:
    collective = round.collective
    accounts = Account.objects.bulk_create(
        Account(collective=collective, kind=AccountKind.BUCKET, code=f"e2e:bucket:{i}", name=title,
                currency=collective.currency) for i, title in enumerate(titles))
    return Bucket.objects.bulk_create(
        Bucket(collective=collective, round=round, title=title, status=BucketStatus.OPEN, created_by=author,
               min_goal=Decimal("50.00"), max_goal=Decimal("100.00"), account=account)
        for title, account in zip(titles, accounts, strict=True))


def assert_accessible(tab, where: str) -> None:
    problems = [described(v, where) for v in axe_violations(tab) if v["impact"] in FAILING]
    assert not problems, "\n".join(problems)


def test_a_member_searches_sorts_pages_and_sees_another_members_allocation_live(new_context, login, collective,
                                                                                coordinator, member):
    for person in (coordinator, member):
        EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    round = services.round_create(collective=collective, actor=coordinator, name="Printemps",
                                  envelope_amount=Decimal("100.00"))
    services.round_open(round=round, actor=coordinator)
    titles = [f"Atelier {i:02d}" for i in range(BUCKETS_PER_PAGE + 4)]
    titles[5], titles[BUCKETS_PER_PAGE + 2] = "Four solaire", "Jardin partagé"
    buckets = {bucket.title: bucket for bucket in open_buckets(round, coordinator, titles)}
    services.allocation_create(bucket=buckets["Jardin partagé"], actor=coordinator, amount="20.00")

    context = new_context()
    context.add_init_script(script=AXE_SCRIPT.read_text())
    bob = context.new_page()
    live_answers = []
    bob.on("response", lambda response: live_answers.append(response) if "/live/" in response.url else None)
    login(bob, member.email)
    bob.goto(f"/c/{collective.slug}/cobudget/{round.pk}/")
    bob.evaluate("window.notReloaded = true")
    expect(bob.locator(CARDS)).to_have_count(BUCKETS_PER_PAGE)
    expect(bob.locator("#cb-found")).to_have_text(f"{BUCKETS_PER_PAGE + 4} buckets")

    # Search: the form is labelled, its words stay in the address and the box.
    bob.get_by_label("Search the buckets").fill("SOLAIRE")
    bob.get_by_role("button", name="Show").click()
    bob.wait_for_url(re.compile(r"q=SOLAIRE"))
    expect(bob.locator(CARDS)).to_have_count(1)
    expect(bob.locator(CARDS).first).to_contain_text("Four solaire")
    expect(bob.locator("#cb-found")).to_have_text("1 bucket matches “SOLAIRE”")
    assert_accessible(bob, "search results")
    bob.get_by_role("link", name="Clear the search").click()
    expect(bob.locator(CARDS)).to_have_count(BUCKETS_PER_PAGE)

    # Sort: the bucket on page 2 that raised money comes first.
    bob.get_by_label("Sort").select_option(label="Most funded first")
    bob.get_by_role("button", name="Show").click()
    bob.wait_for_url(re.compile(r"sort=most_funded"))
    expect(bob.locator(CARDS).first).to_contain_text("Jardin partagé")

    # Turn the page: the order is kept, the rest of the buckets follow.
    bob.get_by_role("link", name="Next buckets").click()
    bob.wait_for_url(re.compile(r"sort=most_funded&page=2"))
    expect(bob.locator(CARDS)).to_have_count(4)
    expect(bob.locator(".pagination")).to_contain_text("Page 2 of 2")
    assert_accessible(bob, "second page")
    bob.get_by_role("link", name="Previous buckets").click()
    bob.wait_for_url(re.compile(r"page=1"))

    # Live: Alice gives to a bucket of Bob's page; it moves without a reload, and only it is sent.
    bob.evaluate("window.notReloaded = true")
    target = buckets["Four solaire"]
    expect(bob.locator(f"#funding-{target.pk}")).to_be_visible()
    bob.wait_for_timeout(2500)  # one quiet poll at least
    assert any(answer.status == 204 for answer in live_answers)
    live_answers.clear()
    services.allocation_create(bucket=target, actor=coordinator, amount="40.00")
    expect(bob.locator(f"#funding-{target.pk} .cb-funded")).to_have_text("€40.00", timeout=8000)
    expect(bob.locator(f"#funding-{target.pk}")).to_have_class(re.compile("cb-changed"))
    assert bob.evaluate("window.notReloaded") is True
    carried = [answer for answer in live_answers if answer.status == 200]
    assert carried and re.findall(r'id="funding-(\d+)"', carried[0].text()) == [str(target.pk)]
    expect(bob.locator("#wallet .cb-balance")).to_have_text("€100.00")
