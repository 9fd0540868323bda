"""Arrange budgets, fundings and validated declarations for the budget-side tests."""

from datetime import date
from decimal import Decimal

from budgets.fundings import funding_create
from budgets.models import Period
from budgets.periods import period_for_date
from budgets.services import budget_create
from contributions.models import Contribution, ContributionStatus, ValueMode
from tests.factories import MembershipFactory, UserFactory


def make_budget(collective, actor, *, amount_per_period="1000.00", received="10000.00", pledged=None, **fields):
    options = {"name": "Semaine", "period_kind": "week", "starts_on": date(2025, 1, 6), "ends_on": date(2025, 3, 30),
               "amount_per_period": Decimal(amount_per_period) if amount_per_period is not None else None,
               "auto_close_after_days": 2, **fields}
    budget = budget_create(collective=collective, actor=actor, **options)
    if received:
        funding_create(budget=budget, actor=actor, source="Région", amount=Decimal(received), status="received")
    if pledged:
        funding_create(budget=budget, actor=actor, source="Client", amount=Decimal(pledged), status="pledged",
                       source_kind="client_contract")
    return budget


def person(collective, n: int):
    return MembershipFactory(collective=collective, user=UserFactory(email=f"p{n}@example.org", name=f"P{n:02d}"),
                             roles=["contributor", "member"]).user


def declare(budget, author, amount, *, status=ContributionStatus.VALIDATED, day=None, mode=ValueMode.SELF_ASSESSED,
            validated_amount=None) -> Contribution:
    day = day or budget.starts_on
    period = period_for_date(budget=budget, day=day)
    amount = Decimal(amount)
    validated = None
    if status in (ContributionStatus.VALIDATED, ContributionStatus.ADJUSTED):
        validated = Decimal(validated_amount) if validated_amount is not None else amount
    return Contribution.objects.create(
        collective=budget.collective, author=author, budget=budget, period=period, performed_on=day,
        description="Travail", value_mode=mode, amount=amount, validated_amount=validated, status=status,
    )


def period_at(budget, index: int) -> Period:
    return Period.objects.get(budget=budget, index=index)
