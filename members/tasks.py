"""Celery tasks of members: thin, they take ids, reload and call a service."""

from celery import shared_task

from . import services
from .models import Invitation


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation_email(invitation_id: int) -> None:
    invitation = Invitation.objects.select_related("collective", "invited_by").filter(pk=invitation_id).first()
    if invitation is not None:
        services.invitation_send(invitation=invitation)
