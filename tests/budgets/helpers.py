"""Arrange budgets, fundings and validated declarations for the budget-side tests."""

from datetime import date
from decimal import Decimal

from budgets.fundings import funding_create
from budgets.models import Period
from budgets.periods import period_for_date
from budgets.services import budget_create
from contributions.closing import period_close
from contributions.models import Contribution, ContributionStatus, ValueMode
from members.bank import bank_details_set, collective_bank_account_set
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


COLLECTIVE_IBAN = "FR1420041010050500013M02606"


def paid_by_transfer_or_not(collective, coordinator, *, with_iban: str, without: str):
    """A closed period granting two people: one who gave an IBAN, one with no bank details; the collective has its
    own account. Returns (with IBAN, without)."""
    collective_bank_account_set(collective=collective, actor=coordinator, bank_iban=COLLECTIVE_IBAN, bank_bic="",
                                bank_holder="La Fabrique")
    collective.refresh_from_db()
    budget = make_budget(collective, coordinator, received="5000.00", amount_per_period="5000.00")
    paid, unknown = person(collective, 1), person(collective, 2)
    bank_details_set(collective=collective, person=paid, actor=paid, method="transfer",
                     iban="FR76 3000 6000 0112 3456 7890 189", holder="P01")
    declare(budget, paid, with_iban)
    declare(budget, unknown, without)
    period_close(period=period_at(budget, 0), actor=coordinator)
    return paid, unknown
