"""The budget page and "my earnings" with their charts and labelled figures; the periods' figures of many
budgets at once, as a closing would grant them."""

from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from budgets.available import period_available
from budgets.models import Payout, Period, PeriodStatus
from budgets.payouts import payouts_mark_paid
from budgets.selectors import with_figures
from contributions.closing import period_close
from contributions.models import ContributionStatus
from tests.factories import CollectiveFactory, MembershipFactory

from .helpers import declare, make_budget, period_at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def _get(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response


# The budget page ---------------------------------------------------------------------------------


def test_the_budget_page_charts_each_period_and_the_money_in_and_out(client, collective, coordinator, member):
    budget = make_budget(collective, coordinator, pledged="2000.00")
    declare(budget, member, "400.00")
    declare(budget, member, "250.00", status=ContributionStatus.PENDING, day=date(2025, 1, 14))
    period_close(period=period_at(budget, 0), actor=coordinator)
    response = _get(client, member, reverse("budget_detail", args=[collective.slug, budget.pk]))
    chart = response.context["periods_chart"]
    assert [s.label for s in chart.series] == ["Available", "Requested", "Validated", "Granted"]
    assert len(chart.categories) == 12  # every week of the budget has started
    first, second = chart.categories[:2]
    assert first.label == "Jan. 6, 2025 – Jan. 12, 2025" and first.short == "6 Jan."
    assert first.values == ("€1,000.00", "€400.00", "€400.00", "€400.00")
    assert second.values == ("€1,600.00", "€250.00", "€0.00", "€0.00")  # €600 carried over
    body = response.content.decode()
    assert f'id="budget-{budget.pk}-periods"' in body and 'role="img"' in body
    for received, pledged, granted, left in [("€10,000.00", "€2,000.00", "€400.00", "€11,600.00")]:
        assert f'id="money-received">{received}<' in body and f'id="money-pledged">{pledged}<' in body
        assert f'id="money-granted">{granted}<' in body and f'id="money-remaining">{left}<' in body


def test_the_summary_line_becomes_labelled_facts(client, collective, coordinator, member):
    budget = make_budget(collective, coordinator, overspend_policy="hold", leftover_policy="return_to_pool",
                         required_approvals=2, auto_close_after_days=None)
    body = _get(client, member, reverse("budget_detail", args=[collective.slug, budget.pk])).content.decode()
    facts = body[body.index('<dl class="facts facts-stack" id="budget-facts">'):]
    facts = facts[:facts.index("</dl>")]
    for term, value in (("Periods", "one a week"), ("Runs", "from Jan. 6, 2025 to March 30, 2025"),
                        ("Money per period", "€1,000.00"), ("When requests exceed the money", "Hold for a decision"),
                        ("Money left at the end of a period", "Return to the pool"),
                        ("Approvals per declaration", "2 coordinators"), ("Closing", "by a coordinator")):
        assert f"<dt>{term}</dt><dd>{value}</dd>" in facts, term


def test_a_red_figure_says_over_in_words_and_the_page_explains_it(client, collective, coordinator, member):
    budget = make_budget(collective, coordinator)
    declare(budget, member, "1200.00", status=ContributionStatus.PENDING)
    declare(budget, member, "100.00", day=date(2025, 1, 14))
    body = _get(client, member, reverse("budget_detail", args=[collective.slug, budget.pk])).content.decode()
    first = period_at(budget, 0)
    row = body[body.index(f'<tr data-period="{first.pk}">'):]
    row = row[:row.index("</tr>")]
    assert 'class="over" aria-describedby="over-help">€1,200.00 <span class="over-mark">(over)</span>' in row
    assert "€0.00" in row and row.count("(over)") == 1  # nothing validated yet: only the requests are over
    second = body[body.index(f'<tr data-period="{period_at(budget, 1).pk}">'):]
    assert "(over)" not in second[:second.index("</tr>")]
    assert 'id="over-help"' in body and "exceed the money available" in body


def test_an_outsider_cannot_see_the_budget_page(client, collective, coordinator, outsider):
    budget = make_budget(collective, coordinator)
    client.force_login(outsider)
    assert client.get(reverse("budget_detail", args=[collective.slug, budget.pk])).status_code == 404


def test_the_figures_of_many_budgets_at_once_are_what_a_closing_would_make_available(collective, coordinator,
                                                                                   member):
    carrying = make_budget(collective, coordinator, name="Report")
    pool = make_budget(collective, coordinator, name="Retour", leftover_policy="return_to_pool")
    spread = make_budget(collective, coordinator, name="Réparti", amount_per_period=None, received="9000.00",
                         pledged="1001.00")
    open_ended = make_budget(collective, coordinator, name="Sans fin", amount_per_period=None, ends_on=None,
                             period_kind="month", starts_on=date(2025, 1, 1))
    for budget in (carrying, pool, spread, open_ended):
        declare(budget, member, "300.00")
        period_close(period=period_at(budget, 0), actor=coordinator)
        declare(budget, member, "100.00", day=period_at(budget, 1).starts_on)
    with CaptureQueriesContext(connection) as queries:
        periods = with_figures(Period.objects.of(collective).filter(status=PeriodStatus.OPEN)
                               .order_by("budget_id", "index"))
    assert len(queries) <= 3
    assert len(periods) > 20
    for period in periods:
        assert period.available_now == period_available(budget=period.budget, period=period), (period.budget, period)
    second = {period.budget.name: period.available_now for period in periods if period.index == 1}
    assert second["Report"] == Decimal("1700.00") and second["Retour"] == Decimal("1000.00")


# My earnings ------------------------------------------------------------------------------------


def test_my_earnings_chart_each_month_by_collective_and_the_state_of_each_payout(client, collective, coordinator,
                                                                                member):
    other = CollectiveFactory(name="Atelier", slug="atelier")
    MembershipFactory(collective=other, user=member, roles=["contributor"])
    MembershipFactory(collective=other, user=coordinator, roles=["coordinator"])
    here = make_budget(collective, coordinator)
    there = make_budget(other, coordinator, received=None, pledged="5000.00", period_kind="month",
                        starts_on=date(2025, 1, 1))
    declare(here, member, "400.00")
    declare(here, member, "250.00", day=date(2025, 2, 4))
    declare(there, member, "300.00", day=date(2025, 2, 10))
    declare(there, member, "90.00", status=ContributionStatus.PENDING, day=date(2025, 3, 3))
    declare(here, member, "40.00", status=ContributionStatus.VALIDATED, day=date(2025, 3, 3))
    for index in range(5):
        period_close(period=period_at(here, index), actor=coordinator)
    period_close(period=period_at(there, 0), actor=coordinator)
    period_close(period=period_at(there, 1), actor=coordinator)
    paid = Payout.objects.get(contribution__amount=Decimal("400.00"))
    payouts_mark_paid(collective=collective, payout_ids=[paid.pk], actor=coordinator, paid_on=date(2025, 2, 1))

    response = _get(client, member, reverse("earnings"))
    [total] = response.context["totals"]
    chart = total["months_chart"]
    assert [s.label for s in chart.series] == ["Atelier", "La Fabrique"]
    assert [(c.label, c.values) for c in chart.categories] == [
        ("January 2025", ("€0.00", "€400.00", "€400.00")),
        ("February 2025", ("€300.00", "€250.00", "€550.00")),
    ]
    assert chart.stacked and not chart.empty
    assert [(item.series.label, item.text) for item in total["states_chart"].legend] == [
        ("Paid", "€400.00"), ("Payable", "€250.00"), ("Owed", "€300.00")]
    body = response.content.decode()
    assert 'id="earnings-eur-months"' in body and "Granted for my work, by month and by collective" in body
    assert "1 declaration under review, asking €90.00; €40.00 validated, waiting for its period's closing" in body
    states = [payout.state for payout in response.context["payouts"]]
    assert sorted(states) == ["owed", "paid", "payable"] and states[-1] == "paid"  # the unpaid first
    assert [d.amount for d in response.context["pending"]] == [Decimal("90.00")]


def test_each_currency_has_its_own_earnings_chart(client, collective, coordinator, member):
    swiss = CollectiveFactory(name="Genève", slug="geneve", currency="CHF")
    MembershipFactory(collective=swiss, user=member, roles=["contributor"])
    MembershipFactory(collective=swiss, user=coordinator, roles=["coordinator"])
    declare(make_budget(collective, coordinator), member, "100.00")
    declare(make_budget(swiss, coordinator), member, "200.00")
    for period in Period.objects.filter(index=0):
        period_close(period=period, actor=coordinator)
    response = _get(client, member, reverse("earnings"))
    charts = {total["currency"]: total["months_chart"] for total in response.context["totals"]}
    assert set(charts) == {"CHF", "EUR"}
    assert charts["CHF"].categories[0].values == ("CHF200.00", "CHF200.00")
    assert charts["EUR"].categories[0].values == ("€100.00", "€100.00")


def test_nothing_granted_yet_says_so_instead_of_an_empty_chart(client, collective, member):
    body = _get(client, member, reverse("earnings")).content.decode()
    assert "Nothing granted yet" in body and 'id="earnings-eur-months"' in body
    assert "Nothing of mine waits for a review or a closing." in body and "No payout yet." in body
