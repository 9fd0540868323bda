from decimal import Decimal
from fractions import Fraction

import pytest
from django.apps import apps
from django.db import models
from django.template import Context, Template
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from contrib_budget import money
from contrib_budget.errors import DomainError
from contrib_budget.money import CENT, format_money, has_at_most_two_decimals, split_largest_remainder, to_money

totals = st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=2,
                     allow_nan=False, allow_infinity=False)
weights = st.decimals(min_value=Decimal("0"), max_value=Decimal("1000"), places=3,
                      allow_nan=False, allow_infinity=False)
weight_lists = st.lists(weights, min_size=1, max_size=30).filter(lambda ws: sum(ws) > 0)
rotations = st.integers(min_value=0, max_value=1000)


@given(total=totals, weights=weight_lists, rotation=rotations)
def test_parts_always_sum_to_the_total(total, weights, rotation):
    parts = split_largest_remainder(total, weights, rotation=rotation)
    assert len(parts) == len(weights)
    assert sum(parts, Decimal(0)) == total
    assert all(part == part.quantize(CENT) for part in parts)


@given(total=totals, weights=weight_lists, rotation=rotations)
def test_each_part_is_within_a_cent_of_its_exact_share(total, weights, rotation):
    parts = split_largest_remainder(total, weights, rotation=rotation)
    weight_sum = Fraction(sum(weights, Decimal(0)))
    for part, weight in zip(parts, weights, strict=True):
        exact = Fraction(total) * Fraction(weight) / weight_sum
        assert abs(Fraction(part) - exact) < Fraction(CENT)


@given(total=totals, count=st.integers(min_value=1, max_value=50), weight=weights.filter(lambda w: w > 0),
       rotation=rotations)
def test_equal_weights_never_differ_by_more_than_a_cent(total, count, weight, rotation):
    parts = split_largest_remainder(total, [weight] * count, rotation=rotation)
    assert max(parts) - min(parts) <= CENT
    assert sum(parts, Decimal(0)) == total


@given(total=totals, weights=weight_lists, rotation=rotations)
def test_a_zero_weight_gets_nothing(total, weights, rotation):
    weights = [*weights, Decimal(0)]
    parts = split_largest_remainder(total, weights, rotation=rotation)
    assert parts[-1] == 0
    assert sum(parts, Decimal(0)) == total


@given(count=st.integers(min_value=2, max_value=20), odd_cents=st.integers(min_value=1, max_value=19),
       rotation=rotations)
def test_rotation_moves_the_odd_cents_to_the_following_positions(count, odd_cents, rotation):
    odd_cents %= count
    if odd_cents == 0:
        odd_cents = 1
    total = Decimal(count * 5) + odd_cents * CENT
    parts = split_largest_remainder(total, [1] * count, rotation=rotation)
    winners = {i for i, part in enumerate(parts) if part > Decimal(5)}
    assert winners == {(rotation + k) % count for k in range(odd_cents)}
    next_parts = split_largest_remainder(total, [1] * count, rotation=rotation + 1)
    assert next_parts != parts
    assert next_parts == parts[-1:] + parts[:-1]


def test_one_odd_cent_visits_everyone_once_over_a_full_rotation():
    winners = [
        max(range(3), key=split_largest_remainder(Decimal("10.00"), [1, 1, 1], rotation=k).__getitem__)
        for k in range(3)
    ]
    assert sorted(winners) == [0, 1, 2]


def test_largest_remainder_wins_before_the_rotation_applies():
    # Exact shares 0.6, 0.3, 0.1 of 0.01: the first has the largest remainder.
    assert split_largest_remainder(Decimal("0.01"), [6, 3, 1], rotation=2) == [
        Decimal("0.01"), Decimal("0.00"), Decimal("0.00")
    ]


def test_negative_totals_split_exactly():
    parts = split_largest_remainder(Decimal("-10.00"), [1, 1, 1])
    assert sum(parts) == Decimal("-10.00")
    assert sorted(parts) == [Decimal("-3.34"), Decimal("-3.33"), Decimal("-3.33")]


def test_weights_whose_decimal_ratio_is_inexact_still_split_exactly():
    third = Decimal(1) / 3
    assert split_largest_remainder(Decimal("10.00"), [third] * 3) == [
        Decimal("3.34"), Decimal("3.33"), Decimal("3.33")
    ]


def test_zero_total_gives_zero_parts():
    assert split_largest_remainder(Decimal("0"), [1, 2]) == [Decimal("0.00"), Decimal("0.00")]
    assert split_largest_remainder(Decimal("0"), [0, 0]) == [Decimal("0.00"), Decimal("0.00")]
    assert split_largest_remainder(Decimal("0"), []) == []


def test_a_single_part_takes_the_whole():
    assert split_largest_remainder(Decimal("12.34"), [Decimal("0.5")]) == [Decimal("12.34")]


def test_the_total_is_rounded_to_the_cent_first():
    assert split_largest_remainder(Decimal("1.005"), [1, 1]) == [Decimal("0.51"), Decimal("0.50")]


@pytest.mark.parametrize(
    ("total", "weights", "message"),
    [
        (Decimal("1.00"), [], "no parts"),
        (Decimal("1.00"), [0, 0], "zero weights"),
        (Decimal("1.00"), [1, -1], "negative"),
    ],
)
def test_impossible_splits_are_refused(total, weights, message):
    with pytest.raises(ValueError, match=message):
        split_largest_remainder(total, weights)


def test_to_money_rounds_half_away_from_zero():
    assert to_money("2.345") == Decimal("2.35")
    assert to_money("-2.345") == Decimal("-2.35")
    assert to_money(7) == Decimal("7.00")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1.23", True), ("1.2", True), ("5", True), ("1.234", False), ("NaN", False), ("Infinity", False)],
)
def test_has_at_most_two_decimals(value, expected):
    assert has_at_most_two_decimals(Decimal(value)) is expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [("fr", "1\u202f234,56\u00a0€"), ("en", "€1,234.56")],
)
def test_money_follows_the_active_language(language, expected):
    with translation.override(language):
        assert format_money(Decimal("1234.56"), "EUR") == expected
        rendered = Template("{% load money_tags %}{{ amount|money:'EUR' }}").render(Context({"amount": "1234.56"}))
    assert rendered == expected


def test_a_written_amount_is_remembered_apart_for_each_language_currency_and_sign():
    """format_money keeps what it wrote: the same amount asked again, in another language or currency, or as a
    negative zero, is written as if for the first time."""
    amounts = [Decimal("12.5"), "12.50", 12.5, Decimal("-0.00"), Decimal("0")]
    for _round in range(2):
        with translation.override("fr"):
            assert [format_money(a, "EUR") for a in amounts] == ["12,50\u00a0€"] * 3 + ["-0,00\u00a0€", "0,00\u00a0€"]
            assert format_money(Decimal("12.5"), "CHF") == "12,50\u00a0CHF"
        with translation.override("en"):
            assert format_money(Decimal("12.5"), "EUR") == "€12.50"
            assert format_money(Decimal("12.5")) == "12.50"


def test_money_filter_shows_a_dash_for_no_amount():
    assert Template("{% load money_tags %}{{ amount|money:'EUR' }}").render(Context({"amount": None})) == "—"


def test_money_filter_without_a_currency_shows_the_figure_alone():
    """The accountant's tables: the currency is said once, in the totals."""
    with translation.override("en"):
        assert Template("{% load money_tags %}{{ amount|money }}").render(Context({"amount": "1234.5"})) == "1,234.50"
        assert Template("{% load money_tags %}{{ amount|money:'' }}").render(Context({"amount": "1"})) == "€1.00"


# Every money column of the app's models, and the kind of amount it holds. A column that
# sums or derives amounts holds at least one amount of its kind.
KIND_OF_COLUMN = {
    "Account.balance": money.MAX_FUNDING,
    "Entry.amount": money.MAX_FUNDING,
    "Budget.amount_per_period": money.MAX_BUDGET_AMOUNT,
    "Budget.granted_total": money.MAX_FUNDING,  # what closings granted of the money received into the budget
    "RateLevel.hourly_rate": money.MAX_BUDGET_AMOUNT,
    "Funding.amount": money.MAX_FUNDING,
    "FundingImportLine.amount": money.MAX_FUNDING,  # becomes a funding's amount
    "Envelope.amount": money.MAX_BUDGET_AMOUNT,
    "Period.available": money.MAX_BUDGET_AMOUNT,
    "Period.granted_total": money.MAX_FUNDING,  # what the period's closing granted of the money received
    "Period.requested_total": money.MAX_DECLARATION,  # what the period's declarations ask, summed
    "Period.validated_total": money.MAX_DECLARATION,
    "Contribution.hourly_rate": money.MAX_DECLARATION,
    "Contribution.amount": money.MAX_DECLARATION,
    "Contribution.validated_amount": money.MAX_DECLARATION,
    "Payout.requested": money.MAX_DECLARATION,
    "Payout.granted": money.MAX_DECLARATION,
    "Payout.payable_amount": money.MAX_DECLARATION,
    "Payout.withheld": money.MAX_DECLARATION,
    "Payout.reversed_amount": money.MAX_DECLARATION,
    "PayoutCorrection.amount": money.MAX_DECLARATION,
    "PayoutBatch.total": money.MAX_FUNDING,  # at most 1,000 payouts of one declaration's maximum each
    "Round.envelope_amount": money.MAX_ENVELOPE,
    "Round.total_amount": money.MAX_FUNDING,  # what an Equal Shares round shares out
    "Round.envelope_floor": money.MAX_ENVELOPE,
    "Round.envelope_cap": money.MAX_ENVELOPE,
    "Round.max_per_member_per_bucket": money.MAX_ALLOCATION,
    "Wallet.envelope": money.MAX_ENVELOPE,
    "Wallet.allocated": money.MAX_ENVELOPE,  # what the wallet has in buckets: never more than its envelope
    "MemberBucketTotal.amount": money.MAX_ENVELOPE,  # a member's share of that in one bucket
    "Bucket.min_goal": money.MAX_BUCKET_GOAL,
    "Bucket.max_goal": money.MAX_BUCKET_GOAL,
    "Bucket.converted_amount": money.MAX_BUCKET_GOAL,
    "BudgetLine.min_amount": money.MAX_BUCKET_GOAL,
    "BudgetLine.max_amount": money.MAX_BUCKET_GOAL,
    "Allocation.amount": money.MAX_ALLOCATION,
}
APPS = {"budgets", "contributions", "cobudget", "members", "contrib_budget", "accounting"}


def test_every_money_column_holds_the_maximum_of_its_kind():
    columns = {
        f"{model.__name__}.{field.name}": field
        for model in apps.get_models() if model.__module__.split(".")[0] in APPS
        for field in model._meta.get_fields() if isinstance(field, models.DecimalField)
    }
    # A new money column must say which kind of amount it holds.
    assert set(columns) == set(KIND_OF_COLUMN)
    for name, field in columns.items():
        maximum = KIND_OF_COLUMN[name]
        assert field.decimal_places == 2, name
        field.run_validators(maximum)  # the column's digits (and its minimum) take the maximum
        assert field.to_python(maximum) == maximum, name


@pytest.mark.parametrize("maximum", [money.MAX_DECLARATION, money.MAX_BUDGET_AMOUNT, money.MAX_FUNDING,
                                     money.MAX_ENVELOPE, money.MAX_BUCKET_GOAL, money.MAX_ALLOCATION])
def test_each_maximum_is_the_most_parse_money_accepts(maximum):
    assert money.parse_money(str(maximum), "amount", maximum=maximum) == maximum
    with pytest.raises(DomainError) as refused:
        money.parse_money(str(maximum + CENT), "amount", maximum=maximum)
    assert refused.value.code == "amount_too_large" and list(refused.value.fields) == ["amount"]


def test_a_signed_amount_is_bounded_either_way():
    assert money.parse_money("-12.50", "amount", signed=True, maximum=Decimal("100")) == Decimal("-12.50")
    with pytest.raises(DomainError) as refused:
        money.parse_money("-100.01", "amount", signed=True, maximum=Decimal("100"))
    assert refused.value.code == "amount_too_large"
