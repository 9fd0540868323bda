"""Each role opens its dashboard and sees its figures and charts, at 1366 px and on a 375 px phone; so do the
budget page, my earnings and a round's results: each chart drawn (SVG), with its text alternative, and no page
wider than the screen."""

from datetime import date

import pytest
from allauth.account.models import EmailAddress

from cobudget import services as cobudget
from contributions.closing import period_close
from tests.budgets.helpers import declare, make_budget, period_at

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": {"viewport": {"width": 1366, "height": 900}},
          "phone": {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True}}


@pytest.fixture
def money(collective, coordinator, member, accountant):
    """A budget with €10,000 received and €2,000 promised; Bob's first week closed (€1,000 granted of his €1,600
    validated, payable) and €600 of his work under review; an open round with Alice's bucket at €30 of €50–80."""
    for person in (coordinator, member, accountant):
        EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    budget = make_budget(collective, coordinator, pledged="2000.00")
    declare(budget, member, "1600.00")
    declare(budget, member, "600.00", status="pending", day=date(2025, 1, 8))
    period_close(period=period_at(budget, 0), actor=coordinator)
    round = cobudget.round_open(round=cobudget.round_create(
        collective=collective, actor=coordinator, name="Printemps", envelope_policy="equal",
        envelope_amount="100.00"), actor=coordinator)
    bucket = cobudget.bucket_propose(bucket=cobudget.bucket_create(
        round=round, actor=coordinator, title="Jardin partagé",
        lines=[{"description": "Graines", "min_amount": "50.00", "max_amount": "80.00"}]), actor=coordinator)
    cobudget.allocation_create(bucket=bucket, actor=member, amount="30.00")
    return {"budget": budget, "round": round, "bucket": bucket}


def _open_as(new_context, login, person, width: str):
    page = new_context(**WIDTHS[width]).new_page()
    login(page, person.email)
    return page


def _fits(page) -> None:
    """No horizontal scroll. A mobile browser widens its layout to content that overflows, so the page is
    measured against the screen's width, not only its own window."""
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url
    assert page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]") == [width, width], page.url


def _chart(page, selector: str) -> str:
    """The chart is drawn and visible; returns its text alternative (the SVG's accessible name)."""
    svg = page.locator(f"{selector} svg[role=img]").first
    assert svg.is_visible(), selector
    assert svg.bounding_box()["width"] > 100
    label = svg.get_attribute("aria-label")
    assert label, selector
    return label


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_coordinator_sees_the_money_the_periods_and_what_to_do(new_context, login, collective, coordinator,
                                                                     money, width):
    page = _open_as(new_context, login, coordinator, width)
    page.goto(f"/c/{collective.slug}/")
    budget = money["budget"]
    gauge = page.locator(f"#budget-{budget.pk}-money")
    assert "Received €10,000.00" in _chart(page, f"#budget-{budget.pk}-money").replace("\u00a0", " ")
    legend = gauge.locator(".chart-legend").inner_text()
    for figure in ("Received", "€10,000.00", "Promised", "€2,000.00", "Granted", "€1,000.00", "Left", "€11,000.00"):
        assert figure in legend, figure
    waiting = page.locator("#waiting").inner_text()
    assert "1 declaration waits for your review" in waiting and "periods have ended and wait to be closed" in waiting
    assert page.locator("[data-panel='budgets.periods'] svg[role=img]").count() >= 1
    # The coordinator gives too: their wallet in the open round, and the bucket nearest its goal.
    rounds = page.locator("[data-panel='cobudget.rounds']")
    assert "Jardin partagé" in rounds.inner_text()
    assert "€30.00" in _chart(page, f"#bucket-{money['bucket'].pk}-funding")
    _fits(page)
    with page.expect_navigation():
        page.locator("#waiting a:has-text('Review')").click()
    assert page.url.endswith(f"/c/{collective.slug}/contributions/?status=pending")


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_a_contributor_sees_their_work_and_wallet_but_no_coordinator_tasks(new_context, login, collective, member,
                                                                             money, width):
    page = _open_as(new_context, login, member, width)
    page.goto(f"/c/{collective.slug}/")
    mine = _chart(page, "#my-work")
    assert "Granted €1,000.00" in mine and "Under review €600.00" in mine
    wallet = page.locator(f"[data-round='{money['round'].pk}']")
    assert "Given" in wallet.inner_text() and "€70.00" in wallet.inner_text()  # €30 given, €70 left to give
    waiting = page.locator("[data-panel='members.waiting']").inner_text()
    assert "review" not in waiting and "closed" not in waiting
    assert "Your wallet still holds €70.00" in waiting
    _fits(page)

    page.goto("/me/earnings/")
    months = _chart(page, "#earnings-eur-months")
    assert "Granted for my work" in months
    page.locator("#earnings-eur-months summary").click()
    table = page.locator("#earnings-eur-months table").inner_text()
    assert "January 2025" in table and "€1,000.00" in table
    assert "€1,000.00" in page.locator("#total-payable").inner_text()
    assert "1 declaration under review, asking €600.00" in page.locator("#under-review-totals").inner_text()
    _fits(page)


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_accountant_sees_payouts_to_pay_and_the_charts_of_budget_and_round(new_context, login, collective,
                                                                                accountant, money, width):
    page = _open_as(new_context, login, accountant, width)
    page.goto(f"/c/{collective.slug}/")
    waiting = page.locator("#waiting").inner_text()
    assert "1 payout to pay: €1,000.00" in waiting and "review" not in waiting
    assert page.locator(f"#budget-{money['budget'].pk}-money svg[role=img]").count() == 2
    _fits(page)

    page.goto(f"/c/{collective.slug}/budgets/{money['budget'].pk}/")
    periods = _chart(page, f"#budget-{money['budget'].pk}-periods")
    assert "12 periods" in periods
    assert page.locator(f"#budget-{money['budget'].pk}-periods rect").count() > 12
    assert "€10,000.00" in page.locator("#money-received").inner_text()
    assert "means the requests of the period" in page.locator("#over-help").inner_text()
    _fits(page)

    page.goto(f"/c/{collective.slug}/cobudget/{money['round'].pk}/results/")
    goals = _chart(page, "#funding-goals")
    assert "Raised €30.00" in goals and "minimum €50.00 (60%)" in goals
    page.locator("#funding-goals summary").click()
    assert "Jardin partagé" in page.locator("#funding-goals-table").inner_text()
    _fits(page)
