"""Celery tasks of notifications: thin, they take ids and call the email functions, which send each email once."""

from datetime import date, datetime

from celery import shared_task
from django.utils import timezone

from . import emails, reminders

RETRY = {"autoretry_for": (OSError,), "retry_backoff": True, "retry_backoff_max": 600, "max_retries": 8,
         "acks_late": True}


@shared_task(name="notifications.send_emails", **RETRY)
def send_notification_emails(notification_ids: list[int]) -> int:
    return sum(emails.notification_email_send(notification_id=pk) for pk in notification_ids)


@shared_task(name="notifications.send_digest", **RETRY)
def send_digest(user_id: int, day: str, cutoff: str) -> bool:
    return emails.digest_send(user_id=user_id, day=date.fromisoformat(day), cutoff=datetime.fromisoformat(cutoff))


@shared_task(name="notifications.send_due_digests")
def send_due_digests() -> int:
    """Beat runs it every quarter of an hour: each person's digest leaves once a day, after 08:00 their time."""
    due = emails.digests_due(now=timezone.now())
    for digest in due:
        send_digest.delay(digest.user_id, digest.day.isoformat(), digest.cutoff.isoformat())
    return len(due)


@shared_task(name="notifications.send_reminders")
def send_reminders() -> int:
    """Beat runs it hourly; each reminder reaches each person once per occasion."""
    return reminders.reminders_send(now=timezone.now())
