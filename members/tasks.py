"""Celery tasks of members: thin, they take ids, reload and call a service."""

from celery import shared_task
from django.utils import timezone

from contrib_budget.queue import enqueue

from . import selectors, services
from .models import Invitation


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation_email(invitation_id: int) -> bool:
    """Send the invitation's email once (a second run finds it sent and sends nothing)."""
    invitation = Invitation.objects.filter(pk=invitation_id).first()
    return invitation is not None and services.invitation_send(invitation=invitation)


@shared_task(name="members.send_unsent_invitation_emails")
def send_unsent_invitation_emails() -> int:
    """Beat: pending invitations whose email task was lost (the broker was down) or ran out of retries are queued
    again; each email still leaves once."""
    unsent = selectors.invitations_email_unsent(now=timezone.now())
    for invitation_id in unsent:
        enqueue("members.tasks.send_invitation_email", invitation_id)
    return len(unsent)
