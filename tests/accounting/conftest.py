"""A busy collective: many balanced movements posted through the ledger's services."""

from datetime import date
from decimal import Decimal

import pytest

from budgets import ledger
from budgets.fundings import funding_create
from budgets.grants import payout_grant_post
from budgets.models import AccountKind, Budget, Payout, Period, PeriodStatus
from cobudget import services as cobudget
from contributions.models import Contribution, ContributionStatus
from members.models import Role
from tests.factories import MembershipFactory, UserFactory


def post_busy_ledger(collective, actor, *, rounds: int = 25) -> None:
    """Fund a budget, split it into envelopes, grant people, pay them, reverse a few: ~8 entries a round."""
    account = ledger.account_get_or_create
    source = account(collective=collective, kind=AccountKind.FUNDING_SOURCE, code="source:1", name="Fondation Lille")
    budget = account(collective=collective, kind=AccountKind.BUDGET, code="budget:1", name="Tiers-lieu 2025")
    envelopes = [account(collective=collective, kind=AccountKind.ENVELOPE, code=f"envelope:{i}", name=f"Mission {i}")
                 for i in range(3)]
    payables = [account(collective=collective, kind=AccountKind.PAYABLE, code=f"payable:{i}", name=f"Personne {i}")
                for i in range(5)]
    paid = account(collective=collective, kind=AccountKind.PAID, code="paid", name="Versé")
    for n in range(rounds):
        amount = Decimal(1000 + n * 7) / 10
        ledger.transfer(collective=collective, source=source, destination=budget, amount=amount,
                        kind="funding_received", memo=f"Versement {n}", actor=actor)
        envelope = envelopes[n % 3]
        ledger.transfer(collective=collective, source=budget, destination=envelope, amount=amount, kind="envelope_fund",
                        actor=actor)
        share = (amount / 3).quantize(Decimal("0.01"))
        txn = ledger.transaction_post(
            collective=collective, kind="period_close", actor=actor, memo=f"Clôture {n}",
            legs=[(envelope, -share * 2), (payables[n % 5], share), (payables[(n + 1) % 5], share)],
            linked=("budgets.period", n),
        )
        if n % 7 == 0:
            ledger.transaction_reverse(txn=txn, actor=actor)
        else:
            ledger.transfer(collective=collective, source=payables[n % 5], destination=paid, amount=share,
                            kind="payout_paid", actor=actor, memo=f"Virement {n}")


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings, monkeypatch):
    """Export files land in a temporary MEDIA_ROOT, for this process and a Celery worker it starts."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    monkeypatch.setenv("MEDIA_ROOT", settings.MEDIA_ROOT)
    return settings.MEDIA_ROOT


@pytest.fixture
def busy_collective(collective, coordinator):
    post_busy_ledger(collective, coordinator)
    return collective


@pytest.fixture
def contributor(collective):
    return MembershipFactory(collective=collective, user=UserFactory(email="david@example.org", name="David Martin"),
                             roles=[Role.CONTRIBUTOR.value, Role.MEMBER.value]).user


@pytest.fixture
def budget(collective, coordinator):
    return Budget.objects.create(collective=collective, name="Tiers-lieu 2025", starts_on=date(2025, 1, 1))


@pytest.fixture
def closed_period(collective, budget, coordinator):
    return Period.objects.create(collective=collective, budget=budget, index=0, starts_on=date(2025, 1, 1),
                                 ends_on=date(2025, 3, 31), status=PeriodStatus.CLOSED, available=Decimal("1500.00"),
                                 closed_by=coordinator)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def declare(period, author, amount, granted, description, paid_on=None):
    contribution = Contribution.objects.create(
        collective=period.collective, author=author, budget=period.budget, period=period,
        performed_on=period.starts_on, description=description, amount=Decimal(amount),
        validated_amount=Decimal(amount), status=ContributionStatus.VALIDATED, value_mode="self_assessed",
    )
    Payout.objects.create(collective=period.collective, contribution=contribution, period=period, person=author,
                          requested=Decimal(amount), granted=Decimal(granted), payable_amount=Decimal(granted),
                          explanation_code="pro_rata", paid_on=paid_on, reference="CB-1" if paid_on else "")
    return contribution


@pytest.fixture
def granted_period(closed_period, contributor, member, coordinator):
    funding_create(budget=closed_period.budget, actor=coordinator, source="Région", amount="3000.00",
                   status="received", received_on=date(2025, 1, 15))
    funding_create(budget=closed_period.budget, actor=coordinator, source="Fondation", amount="1000.00")
    declare(closed_period, contributor, "1200.00", "900.00", "Ateliers", paid_on=date(2025, 4, 10))
    declare(closed_period, contributor, "300.00", "300.00", "Affiches")
    declare(closed_period, member, "800.00", "600.00", "Comptabilité")
    for payout in Payout.objects.filter(period=closed_period).select_related("period__budget", "person"):
        payout_grant_post(payout=payout, actor=coordinator)
    return closed_period


@pytest.fixture
def closed_round(collective, coordinator, member):
    round_ = cobudget.round_create(collective=collective, actor=coordinator, name="Cobudget 2026",
                                   envelope_policy="equal", envelope_amount=Decimal("100.00"))
    round_ = cobudget.round_open(round=round_, actor=coordinator)
    garden, oven = (
        cobudget.bucket_propose(bucket=cobudget.bucket_create(
            round=round_, actor=coordinator, title=title, lines=[{"description": "Tout", "min_amount": goal}]),
            actor=coordinator)
        for title, goal in (("Jardin partagé", "100.00"), ("Four à pain", "150.00"))
    )
    cobudget.allocation_create(bucket=garden, actor=coordinator, amount="60.00")
    cobudget.allocation_create(bucket=garden, actor=member, amount="40.00")
    cobudget.allocation_create(bucket=oven, actor=member, amount="30.00")
    return cobudget.round_close(round=round_, actor=coordinator)
