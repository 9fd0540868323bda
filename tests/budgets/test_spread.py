"""A budget without an amount per period spreads the funds not granted yet (received and pledged) evenly over
its periods still open, so what the periods offer adds up to the funds; an open-ended one cannot count its
periods, so each period may use all the funds not yet granted."""

from datetime import date
from decimal import Decimal

import pytest

from budgets.fundings import funding_create
from contributions.closing import period_close

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
    assert "divided by the number of periods still open" in html
    assert "Without an end date" in html


def test_money_added_midway_is_spread_over_the_periods_still_open_so_the_offers_add_up(api, coordinator,
                                                                                       collective):
    budget = make_budget(collective, coordinator, amount_per_period=None, received="1000.00",
                         starts_on=date(2025, 1, 6), ends_on=date(2025, 2, 2))
    assert available(api, coordinator, budget) == ["250.00"] * 4
    for index in (0, 1):
        declare(budget, person(collective, index + 1), "250.00", day=date(2025, 1, 6 + 7 * index))
        period_close(period=period_at(budget, index), actor=coordinator)
    funding_create(budget=budget, actor=coordinator, source="Don", amount=Decimal("1000.00"), status="received")
    shares = available(api, coordinator, budget)
    assert shares == ["250.00", "250.00", "750.00", "750.00"]
    assert sum(Decimal(s) for s in shares) == Decimal("2000.00")


@pytest.mark.parametrize("policy, expected", [
    ("return_to_pool", ["450.00", "450.00"]),
    ("carry_over", ["566.67", "333.33"]),
])
def test_a_leftover_is_shared_by_the_open_periods_or_carried_to_the_next_exactly(api, coordinator, collective,
                                                                                 policy, expected):
    budget = make_budget(collective, coordinator, amount_per_period=None, received="1000.00", leftover_policy=policy,
                         starts_on=date(2025, 1, 6), ends_on=date(2025, 1, 26))
    declare(budget, person(collective, 1), "100.00")
    period_close(period=period_at(budget, 0), actor=coordinator)
    shares = available(api, coordinator, budget)
    assert shares[0] == "333.34"
    assert shares[1:] == expected
    assert sum(Decimal(s) for s in shares[1:]) == Decimal("900.00")
