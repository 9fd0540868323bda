import pytest

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
