import pytest
from rest_framework.test import APIClient

from members.models import Role

from .factories import CollectiveFactory, MembershipFactory, UserFactory

PASSWORD = "correct horse battery staple"


@pytest.fixture
def collective(db):
    return CollectiveFactory(name="La Fabrique", slug="la-fabrique")


@pytest.fixture
def coordinator(collective):
    return MembershipFactory(collective=collective, user=UserFactory(email="alice@example.org", name="Alice"),
                             roles=[Role.COORDINATOR.value, Role.MEMBER.value]).user


@pytest.fixture
def member(collective):
    return MembershipFactory(collective=collective, user=UserFactory(email="bob@example.org", name="Bob"),
                             roles=[Role.MEMBER.value, Role.CONTRIBUTOR.value]).user


@pytest.fixture
def accountant(collective):
    return MembershipFactory(collective=collective, user=UserFactory(email="carol@example.org", name="Carol"),
                             roles=[Role.ACCOUNTANT.value]).user


@pytest.fixture
def outsider(db):
    """Charlie belongs to another collective only."""
    other = CollectiveFactory(name="Ailleurs", slug="ailleurs")
    return MembershipFactory(collective=other, user=UserFactory(email="charlie@example.org", name="Charlie"),
                             roles=[Role.COORDINATOR.value]).user


@pytest.fixture
def api():
    def client_for(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return client_for
