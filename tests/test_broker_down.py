"""With the broker (Redis) down, people still work: the change is committed, the answer is given, and the emails
and jobs it queues go out once the broker is back, through beat's sweeps."""

from datetime import timedelta

import pytest
from celery.app.task import Task
from django.utils import timezone
from kombu.exceptions import OperationalError

from budgets.accounting.models import Export, ExportStatus
from budgets.accounting.services import exports_resume_stale
from contributions.models import Comment
from members.notifications import emails, tasks
from members.notifications.models import Notification
from tests.contributions.conftest import MONDAY, budget, rate  # noqa: F401  (fixtures)


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
