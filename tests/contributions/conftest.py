from decimal import Decimal

import pytest

from budgets.models import Envelope, PeriodStatus, Task
from budgets.periods import period_for_date
from members.models import Role
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture
def envelope(budget):
    return Envelope.objects.create(collective=budget.collective, budget=budget, name="Accueil",
                                   amount=Decimal("300.00"))


@pytest.fixture
def task(envelope):
    return Task.objects.create(collective=envelope.collective, envelope=envelope, title="Ouvrir le lieu")


@pytest.fixture
def contributor(collective):
    """Bob declares work (fixture `member` is Bob too: member + contributor)."""
    return MembershipFactory(collective=collective, user=UserFactory(email="david@example.org", name="David"),
                             roles=[Role.CONTRIBUTOR.value]).user


@pytest.fixture
def second_coordinator(collective):
    return MembershipFactory(collective=collective, user=UserFactory(email="farid@example.org", name="Farid"),
                             roles=[Role.COORDINATOR.value, Role.CONTRIBUTOR.value]).user


@pytest.fixture
def plain_member(collective):
    return MembershipFactory(collective=collective, user=UserFactory(email="gaelle@example.org", name="Gaëlle"),
                             roles=[Role.MEMBER.value]).user


@pytest.fixture
def close_period():
    def close(budget, day):
        period = period_for_date(budget=budget, day=day)
        period.status = PeriodStatus.CLOSED
        period.available = Decimal("0.00")
        period.save(update_fields=["status", "available"])
        return period

    return close
