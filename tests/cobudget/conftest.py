from decimal import Decimal

import pytest

from cobudget import services
from members.models import Role
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture
def people(collective, coordinator, member):
    """Alice (coordinator, member), Bob and four more members: six participants."""
    extra = [
        MembershipFactory(collective=collective, user=UserFactory(email=f"{name}@example.org", name=name.title()),
                          roles=[Role.MEMBER.value]).user
        for name in ("gaelle", "hugo", "ines", "jules")
    ]
    return [coordinator, member, *extra]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Many people are created here; a slow hasher would make these tests crawl."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def shares_round(collective, coordinator, people):
    """Make an open Equal Shares round of 400.00 for the first four people (its rules as given)."""
    def make(**fields):
        fields.setdefault("total_amount", Decimal("400.00"))
        round = services.round_create(collective=collective, actor=coordinator, name="Équitable",
                                      mode="equal_shares", participants=people[:4], **fields)
        return services.round_open(round=round, actor=coordinator)

    return make
