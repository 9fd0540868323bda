"""What is asked of each period's money.

Budgets hold the money; the claims on it (declarations of work) are defined by an app above, which registers
how to sum them per period when it loads (contributions.demand). Until one registers, nothing is asked.
"""

from collections.abc import Callable

from django.db.models import DecimalField, Expression, IntegerField, Value

from contrib_budget.money import ZERO

from .models import MONEY

# A function of no argument returning expressions over the outer Period row (OuterRef("pk")):
# `requested`, `validated` (money) and `declaration_count`.
PeriodDemand = Callable[[], dict[str, Expression]]

_demand: list[PeriodDemand] = []


def register_period_demand(demand: PeriodDemand) -> PeriodDemand:
    """Declare how the claims on a period are summed (one app registers; a second replaces it)."""
    _demand[:] = [demand]
    return demand


def period_demand() -> dict[str, Expression]:
    """The annotations that give each period what is asked of it."""
    if _demand:
        return _demand[0]()
    nothing = Value(ZERO, output_field=DecimalField(max_digits=MONEY["max_digits"],
                                                    decimal_places=MONEY["decimal_places"]))
    return {"requested": nothing, "validated": nothing, "declaration_count": Value(0, output_field=IntegerField())}
