"""A real Celery worker, started by the test rig, sends the invitation email through Redis."""

import time
from pathlib import Path

import pytest
from django.db import transaction

from members import services
from members.models import Invitation, Role
from tests.factories import CollectiveFactory, MembershipFactory, UserFactory

WAIT_SECONDS = 30


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def celery_worker_env(mail_dir):
    # Four slashes: django-environ keeps the path absolute.
    return {"EMAIL_URL": f"filemail:///{mail_dir}"}


def _wait_for_files(directory: Path, timeout: float) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = sorted(directory.glob("*.log")) if directory.exists() else []
        if files:
            return files
        time.sleep(0.2)
    return []


@pytest.mark.slow
def test_the_worker_emails_an_invitation_created_in_a_committed_transaction(celery_worker, mail_dir, settings):
    collective = CollectiveFactory(name="Le Jardin", slug="le-jardin", locale="en")
    coordinator = MembershipFactory(collective=collective, user=UserFactory(email="alice@example.org", name="Alice"),
                                    roles=[Role.COORDINATOR.value]).user
    with transaction.atomic():
        invitation = services.invitation_create(collective=collective, actor=coordinator,
                                                email="newcomer@example.org", roles=[Role.MEMBER.value])
        # Nothing leaves before the commit: the worker could not read the invitation yet.
        assert not mail_dir.exists()

    files = _wait_for_files(mail_dir, WAIT_SECONDS)
    assert files, f"the worker wrote no email within {WAIT_SECONDS} s"
    message = files[0].read_text()
    assert "To: newcomer@example.org" in message
    assert f"{settings.SITE_URL}/invitations/{invitation.token}/" in message
    assert "Alice invites you to join Le Jardin" in message


@pytest.mark.django_db
def test_the_invitation_email_speaks_the_collective_language(mailoutbox):
    collective = CollectiveFactory(name="La Fabrique", slug="fab", locale="fr")
    inviter = UserFactory(email="alice@example.org", name="Alice")
    invitation = Invitation.objects.create(
        collective=collective, email="new@example.org", roles=[Role.MEMBER.value], invited_by=inviter
    )
    services.invitation_send(invitation=invitation)
    assert mailoutbox[0].subject == "Vous êtes invité·e à rejoindre La Fabrique"
    assert "Alice vous invite à rejoindre La Fabrique" in mailoutbox[0].body
    assert "Accepter l'invitation" in mailoutbox[0].body


@pytest.mark.django_db
def test_a_revoked_invitation_is_not_sent(mailoutbox):
    collective = CollectiveFactory()
    inviter = MembershipFactory(collective=collective, roles=[Role.COORDINATOR.value]).user
    invitation = Invitation.objects.create(
        collective=collective, email="new@example.org", roles=[Role.MEMBER.value], invited_by=inviter
    )
    services.invitation_revoke(invitation=invitation, actor=inviter)
    services.invitation_send(invitation=invitation)
    assert mailoutbox == []
