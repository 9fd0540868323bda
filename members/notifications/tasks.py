"""Celery tasks of notifications: thin, they take ids and call the email functions, which send each email once."""

import logging
from datetime import date, datetime
from smtplib import SMTPRecipientsRefused

from celery import shared_task
from django.utils import timezone

from contrib_budget.queue import enqueue

from . import emails, reminders

logger = logging.getLogger(__name__)

RETRY = {"autoretry_for": (OSError,), "retry_backoff": True, "retry_backoff_max": 600, "max_retries": 8,
         "acks_late": True}
# Instant emails are queued in batches of this many notifications per task.
EMAIL_BATCH = 200


@shared_task(bind=True, name="notifications.send_emails", acks_late=True, max_retries=8)
def send_notification_emails(self, notification_ids: list[int]) -> int:
    """Send each notification's email once; only those that failed are retried, with backoff."""
    sent, failed = 0, []
    for notification_id in notification_ids:
        try:
            sent += emails.notification_email_send(notification_id=notification_id)
        except SMTPRecipientsRefused:
            logger.warning("notifications: the mail server refuses the address of notification %s", notification_id)
            emails.notification_email_refused(notification_id=notification_id)
        except OSError:
            logger.warning("notifications: the email of notification %s failed, retried later", notification_id,
                           exc_info=True)
            failed.append(notification_id)
    if failed:
        raise self.retry(args=[failed], countdown=min(600, 2 ** self.request.retries))
    return sent


def queue_emails(notification_ids: list[int]) -> None:
    for start in range(0, len(notification_ids), EMAIL_BATCH):
        enqueue("notifications.send_emails", notification_ids[start:start + EMAIL_BATCH])


@shared_task(name="notifications.send_unsent_emails")
def send_unsent_emails() -> int:
    """Beat: instant emails whose task was lost or ran out of retries are queued again (each still leaves once)."""
    unsent = emails.instant_emails_unsent(now=timezone.now())
    queue_emails(unsent)
    return len(unsent)


@shared_task(name="notifications.send_digest", **RETRY)
def send_digest(user_id: int, day: str, cutoff: str) -> bool:
    return emails.digest_send(user_id=user_id, day=date.fromisoformat(day), cutoff=datetime.fromisoformat(cutoff))


@shared_task(name="notifications.send_due_digests")
def send_due_digests() -> int:
    """Beat runs it every quarter of an hour: each person's digest leaves once a day, after 08:00 their time."""
    due = emails.digests_due(now=timezone.now())
    for digest in due:
        enqueue("notifications.send_digest", digest.user_id, digest.day.isoformat(), digest.cutoff.isoformat())
    return len(due)


@shared_task(name="notifications.send_reminders")
def send_reminders() -> int:
    """Beat runs it hourly; each reminder reaches each person once per occasion."""
    return reminders.reminders_send(now=timezone.now())
