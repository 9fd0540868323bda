"""One parser for amounts typed by people, used by budgets and declarations alike."""

from decimal import Decimal

import pytest

from contrib_budget.errors import DomainError
from contrib_budget.money import parse_money


@pytest.mark.parametrize("value, code", [
    ("abc", "invalid_amount"), ("NaN", "invalid_amount"), ("-0.01", "negative_amount"),
    ("12.345", "amount_precision"), ("100.01", "amount_too_large"),
])
def test_a_bad_amount_is_refused_naming_its_field(value, code):
    with pytest.raises(DomainError) as refused:
        parse_money(value, "price", maximum=Decimal("100.00"))
    assert refused.value.code == code and list(refused.value.fields) == ["price"]


def test_zero_is_refused_only_where_an_amount_must_be_positive():
    assert parse_money("0", "amount") == Decimal("0.00")
    with pytest.raises(DomainError):
        parse_money("0", "amount", positive=True)


def test_a_good_amount_comes_back_to_the_cent():
    assert parse_money("12.5", "amount") == Decimal("12.50")
    assert str(parse_money(Decimal("7"), "amount", maximum=Decimal("7"))) == "7.00"
