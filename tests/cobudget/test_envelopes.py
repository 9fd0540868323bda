from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budgets.models import Budget, Payout, Period
from cobudget import selectors, services
from cobudget.envelopes import weighted_envelopes
from cobudget.models import Wallet
from contrib_budget.errors import DomainError
from contributions.models import Contribution

D = Decimal

amounts = st.decimals(min_value=0, max_value=5000, places=2)


@settings(max_examples=150, deadline=None)
@given(total=st.decimals(min_value=1, max_value=100000, places=2),
       weights=st.lists(amounts, min_size=1, max_size=12))
def test_weighted_envelopes_sum_exactly_to_the_total(total, weights):
    shares = weighted_envelopes(total=total, weights=dict(enumerate(weights)), floor=None, cap=None, rotation=3)
    assert sum(shares.values()) == total
    assert all(share == share.quantize(D("0.01")) and share >= 0 for share in shares.values())


@settings(max_examples=150, deadline=None)
@given(weights=st.lists(amounts, min_size=2, max_size=10), floor=st.decimals(min_value=0, max_value=50, places=2),
       spread=st.decimals(min_value=0, max_value=200, places=2), extra=st.decimals(min_value=0, max_value=1, places=2))
def test_weighted_envelopes_respect_floor_and_cap(weights, floor, spread, extra):
    cap = floor + spread
    people = dict(enumerate(weights))
    weighted = sum(1 for w in weights if w > 0) or len(weights)
    unweighted = len(weights) - weighted if any(w > 0 for w in weights) else 0
    most = floor * unweighted + cap * weighted
    least = floor * len(weights)
    total = (least + (most - least) * extra).quantize(D("0.01"))
    shares = weighted_envelopes(total=total, weights=people, floor=floor, cap=cap)
    assert sum(shares.values()) == total
    assert all(floor <= share <= cap for share in shares.values())


def test_a_member_with_no_contributions_gets_the_floor():
    shares = weighted_envelopes(total=D("1000.00"), weights={1: D("0"), 2: D("300"), 3: D("100")},
                                floor=D("50.00"), cap=None)
    assert shares == {1: D("50.00"), 2: D("712.50"), 3: D("237.50")}


def test_the_cap_sends_the_excess_to_the_others():
    shares = weighted_envelopes(total=D("900.00"), weights={1: D("800"), 2: D("100"), 3: D("100")},
                                floor=None, cap=D("500.00"))
    assert shares == {1: D("500.00"), 2: D("200.00"), 3: D("200.00")}


def test_an_impossible_floor_is_refused():
    with pytest.raises(DomainError) as error:
        weighted_envelopes(total=D("100.00"), weights={1: D("1"), 2: D("1")}, floor=D("60.00"), cap=None)
    assert error.value.code == "envelope_floor_too_high"


def grant(collective, person, amount, performed_on):
    budget = Budget.objects.of(collective).first() or Budget.objects.create(
        collective=collective, name="Fabrique", starts_on=date(2026, 1, 1))
    period, _created = Period.objects.get_or_create(
        collective=collective, budget=budget, index=0,
        defaults={"starts_on": date(2026, 1, 1), "ends_on": date(2026, 12, 31)})
    contribution = Contribution.objects.create(
        collective=collective, author=person, budget=budget, period=period, performed_on=performed_on,
        description="work", amount=amount, validated_amount=amount, status="validated")
    Payout.objects.create(collective=collective, contribution=contribution, period=period, person=person,
                          requested=amount, granted=amount, explanation_code="granted_in_full")


def test_weighted_round_weights_by_granted_contributions_in_the_range(collective, coordinator, people):
    grant(collective, people[1], D("300.00"), date(2026, 3, 1))
    grant(collective, people[2], D("100.00"), date(2026, 3, 2))
    grant(collective, people[2], D("999.00"), date(2025, 12, 31))  # outside the range
    assert selectors.granted_by_member(collective, date(2026, 1, 1), date(2026, 6, 30)) == {
        people[1].pk: D("300.00"), people[2].pk: D("100.00")}
    round = services.round_create(
        collective=collective, actor=coordinator, name="Weighted", envelope_policy="weighted",
        envelope_amount=D("1000.00"), envelope_floor=D("10.00"), weight_from=date(2026, 1, 1),
        weight_to=date(2026, 6, 30))
    services.round_open(round=round, actor=coordinator)
    envelopes = dict(Wallet.objects.filter(round=round).values_list("user_id", "envelope"))
    assert sum(envelopes.values()) == D("1000.00")
    assert [envelopes[p.pk] for p in people if p not in people[1:3]] == [D("10.00")] * 4
    assert envelopes[people[1].pk] == D("720.00") and envelopes[people[2].pk] == D("240.00")
