"""With the broker (Redis) down, people still work: the change is committed, the answer is given, and the emails
and jobs it queues go out once the broker is back, through beat's sweeps."""

from datetime import timedelta

import pytest
from celery.app.task import Task
from django.utils import timezone
from kombu.exceptions import OperationalError

from accounting.models import Export, ExportStatus
from accounting.services import exports_resume_stale
from contributions.models import Comment
from members import selectors
from members import tasks as member_tasks
from members.models import Invitation
from members.notifications import emails, tasks
from members.notifications.models import Notification
from tests.conftest import MONDAY


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(Task, "apply_async", refuse)
    return monkeypatch


def test_a_question_is_recorded_and_its_email_leaves_once_the_broker_is_back(
        api, collective, coordinator, member, budget, rate, mailoutbox, broker_down,
        django_capture_on_commit_callbacks):
    declared = api(member).post(f"/api/v1/collectives/{collective.slug}/contributions/", {
        "budget": budget.pk, "performed_on": str(MONDAY), "description": "Accueil", "minutes": 60,
        "rate_level": rate.pk}, format="json")
    assert declared.status_code == 201
    url = f"/api/v1/collectives/{collective.slug}/contributions/{declared.json()['id']}/question/"
    with django_capture_on_commit_callbacks(execute=True):
        asked = api(coordinator).post(url, {"comment": "Combien de personnes ?"}, format="json")
    assert asked.status_code == 201 and Comment.objects.count() == 1
    notification = Notification.objects.get(kind="contribution.questioned")
    assert notification.emailed_at is None and mailoutbox == []

    broker_down.undo()
    later = timezone.now() + emails.UNSENT_AFTER + timedelta(minutes=1)
    assert emails.instant_emails_unsent(now=later) == [notification.pk]
    tasks.queue_emails(emails.instant_emails_unsent(now=later))  # what beat's sweep does
    assert [message.to for message in mailoutbox] == [[member.email]]
    assert emails.instant_emails_unsent(now=later) == []


def test_an_export_asked_for_while_the_broker_is_down_is_written_once_it_is_back(
        api, collective, accountant, broker_down, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = str(tmp_path)
    with django_capture_on_commit_callbacks(execute=True):
        asked = api(accountant).post(f"/api/v1/collectives/{collective.slug}/exports/",
                                     {"kind": "journal", "format": "csv"}, format="json")
    assert asked.status_code == 202
    export = Export.objects.get()
    assert export.status == ExportStatus.PENDING

    broker_down.undo()
    Export.objects.filter(pk=export.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    assert exports_resume_stale() == 1  # what beat's sweep does every minute
    export.refresh_from_db()
    assert export.status == ExportStatus.READY


def test_an_invitation_made_while_the_broker_is_down_is_emailed_once_it_is_back(
        api, collective, coordinator, mailoutbox, broker_down, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invited = api(coordinator).post(f"/api/v1/collectives/{collective.slug}/members/",
                                        {"email": "newcomer@example.org", "roles": ["member"]}, format="json")
    assert invited.status_code == 202
    invitation = Invitation.objects.get()
    assert invitation.email_sent_at is None and mailoutbox == []
    assert selectors.invitations_email_unsent(now=timezone.now()) == []  # its task may still be on its way

    broker_down.undo()
    Invitation.objects.update(created_at=timezone.now() - selectors.INVITATION_UNSENT_AFTER - timedelta(minutes=1))
    assert member_tasks.send_unsent_invitation_emails() == 1  # what beat's sweep does
    assert [message.to for message in mailoutbox] == [["newcomer@example.org"]]
    invitation.refresh_from_db()
    assert invitation.email_sent_at is not None
    # Swept again, or its first task delivered late: nothing leaves twice.
    assert member_tasks.send_unsent_invitation_emails() == 0
    assert member_tasks.send_invitation_email(invitation.pk) is False
    assert len(mailoutbox) == 1


def test_the_sweep_queues_only_pending_invitations_left_unsent_for_a_while(collective, coordinator):
    now = timezone.now()
    due = now - selectors.INVITATION_UNSENT_AFTER - timedelta(minutes=1)

    def invitation(email, created_at=due, **fields):
        made = Invitation.objects.create(collective=collective, email=email, roles=["member"],
                                         invited_by=coordinator, **fields)
        Invitation.objects.filter(pk=made.pk).update(created_at=created_at)
        return made.pk

    unsent = invitation("unsent@example.org")
    invitation("sent@example.org", email_sent_at=due)
    invitation("accepted@example.org", accepted_at=now)
    invitation("declined@example.org", declined_at=now)
    invitation("revoked@example.org", revoked_at=now)
    invitation("expired@example.org", expires_at=now - timedelta(minutes=1))
    invitation("just-made@example.org", created_at=now)
    invitation("given-up@example.org", created_at=now - selectors.INVITATION_UNSENT_FOR - timedelta(minutes=1))
    assert selectors.invitations_email_unsent(now=now) == [unsent]
