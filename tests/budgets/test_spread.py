"""A budget without an amount per period spreads its funded total (received and pledged) evenly over its
periods; an open-ended one cannot count its periods, so each period may use all the funds not yet granted."""

from datetime import date
from decimal import Decimal

import pytest

from budgets.closing import period_close
from budgets.fundings import funding_create

from .helpers import declare, make_budget, period_at, person

pytestmark = pytest.mark.django_db

BASE = "/api/v1/collectives/la-fabrique"


def available(api, user, budget) -> list[str]:
    return [p["available"] for p in api(user).get(f"{BASE}/budgets/{budget.pk}/periods/").json()["results"]]


def test_a_budget_with_an_end_spreads_received_and_pledged_money_exactly_over_its_periods(api, coordinator,
                                                                                          collective):
    budget = make_budget(collective, coordinator, amount_per_period=None, received="700.00", pledged="300.01",
                         starts_on=date(2025, 1, 6), ends_on=date(2025, 1, 26))
    shares = available(api, coordinator, budget)
    assert len(shares) == 3
    assert sum(Decimal(s) for s in shares) == Decimal("1000.01")
    assert sorted(shares) == ["333.33", "333.34", "333.34"]


def test_an_open_ended_budget_offers_each_period_the_funds_not_yet_granted(api, coordinator, collective):
    budget = make_budget(collective, coordinator, amount_per_period=None, received="1000.00", ends_on=None,
                         starts_on=date(2025, 1, 6))
    assert available(api, coordinator, budget)[0] == "1000.00"
    declare(budget, person(collective, 1), "300.00")
    period_close(period=period_at(budget, 0), actor=coordinator)
    assert available(api, coordinator, budget)[:2] == ["1000.00", "700.00"]
    funding_create(budget=budget, actor=coordinator, source="Don", amount=Decimal("50.00"), status="received")
    assert available(api, coordinator, budget)[1] == "750.00"


def test_the_budget_form_explains_the_spread_rule(client, coordinator, collective):
    client.force_login(coordinator)
    html = client.get(f"/c/{collective.slug}/budgets/new/", headers={"accept-language": "en"}).content.decode()
    assert "divided by the number of periods" in html
    assert "Without an end date" in html
