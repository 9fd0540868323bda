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


@pytest.fixture
def make_round(collective, coordinator):
    def make(*, open=True, **fields):
        fields.setdefault("name", "Round 2026")
        fields.setdefault("envelope_policy", "equal")
        fields.setdefault("envelope_amount", Decimal("100.00"))
        round = services.round_create(collective=collective, actor=coordinator, **fields)
        if open:
            round = services.round_open(round=round, actor=coordinator)
        return round

    return make


@pytest.fixture
def make_bucket(coordinator):
    def make(round, *, by=None, min_goal="100.00", max_goal=None, title="Bucket", propose=True, lines=None):
        actor = by or coordinator
        bucket = services.bucket_create(
            round=round, actor=actor, title=title,
            lines=lines or [{"description": "All", "min_amount": min_goal, "max_amount": max_goal}],
        )
        if propose:
            bucket = services.bucket_propose(bucket=bucket, actor=actor)
        return bucket

    return make


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Many people are created here; a slow hasher would make these tests crawl."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
