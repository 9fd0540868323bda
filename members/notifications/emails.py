"""Notification emails: one at once, or a daily digest, in the recipient's language, each sent once.

A send claims its rows under a lock and marks them sent in the same
transaction: a redelivered or repeated task finds them marked and sends
nothing; a failed send rolls the mark back, and Celery retries it.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import ngettext

from members.models import Membership

from .models import DigestRun, EmailMode, Notification
from .selectors import text_of

SETTINGS_SALT = "notifications.settings"
# Daily digests leave at this local hour.
DIGEST_HOUR = 8
SUBJECT_MAX = 150
# An instant email still unsent this long after it was recorded is queued again, until it is this old.
UNSENT_AFTER = timedelta(minutes=30)
UNSENT_FOR = timedelta(days=2)


def settings_token(user) -> str:
    return signing.dumps(user.pk, salt=SETTINGS_SALT)


def user_from_settings_token(token: str):
    """The person a settings link was signed for, or None for a forged or damaged link."""
    try:
        user_id = signing.loads(token, salt=SETTINGS_SALT)
    except signing.BadSignature:
        return None
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def settings_link(user) -> str:
    return absolute(reverse("notification_settings_signed", args=[settings_token(user)]))


def language_of(user, collective) -> str:
    return user.language or collective.locale


def _subject(names: str, text: str) -> str:
    subject = f"[{names}] {' '.join(text.split())}"
    return subject if len(subject) <= SUBJECT_MAX else subject[:SUBJECT_MAX - 1] + "…"


def _message(*, user, subject: str, template: str, context: dict) -> EmailMultiAlternatives:
    context = {**context, "user": user, "settings_link": settings_link(user)}
    message = EmailMultiAlternatives(subject=subject, body=render_to_string(f"notifications/email/{template}.txt",
                                                                            context),
                                     to=[user.email], headers={"List-Unsubscribe": f"<{context['settings_link']}>"})
    message.attach_alternative(render_to_string(f"notifications/email/{template}.html", context), "text/html")
    return message


def notification_email_send(*, notification_id: int) -> bool:
    """Send one notification's email unless it was sent already; True when it left now."""
    with transaction.atomic():
        notification = (Notification.objects.select_for_update(of=("self",))
                        .select_related("recipient", "collective")
                        .filter(pk=notification_id, email=EmailMode.INSTANT, emailed_at__isnull=True).first())
        if notification is None or not notification.recipient.is_active:
            return False
        user, collective = notification.recipient, notification.collective
        with translation.override(language_of(user, collective)):
            text = text_of(notification)
            message = _message(user=user, subject=_subject(collective.name, text), template="notification",
                               context={"text": text, "link": absolute(notification.url), "collective": collective})
        message.send()
        Notification.objects.filter(pk=notification.pk).update(emailed_at=timezone.now())
    return True


def notification_email_refused(*, notification_id: int) -> None:
    """The mail server refuses the address for good: no email will leave for this notification."""
    Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(email=EmailMode.OFF)


def instant_emails_unsent(*, now: datetime) -> list[int]:
    """Instant emails still unsent a while after they were queued (a task lost, or out of retries), for two days."""
    return list(Notification.objects.filter(
        email=EmailMode.INSTANT, emailed_at__isnull=True,
        created_at__lt=now - UNSENT_AFTER, created_at__gte=now - UNSENT_FOR,
    ).order_by("pk").values_list("pk", flat=True))


@dataclass(frozen=True)
class DueDigest:
    user_id: int
    day: date
    cutoff: datetime


def _zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or settings.TIME_ZONE)


def digests_due(*, now: datetime) -> list[DueDigest]:
    """People with digest items older than today's 08:00 in their collective's time zone, not sent today.

    A person's time zone is that of the collective they joined first.
    """
    first_zone = (Membership.objects.filter(user=OuterRef("recipient_id"))
                  .order_by("joined_at", "pk").values("collective__timezone")[:1])
    pending = (Notification.objects.filter(email=EmailMode.DAILY, emailed_at__isnull=True).order_by()
               .values("recipient_id").distinct().annotate(zone=Subquery(first_zone))
               .values_list("recipient_id", "zone"))
    due = []
    for user_id, zone in pending:
        local = now.astimezone(_zone(zone))
        if local.hour < DIGEST_HOUR:
            continue
        cutoff = datetime.combine(local.date(), time(DIGEST_HOUR), tzinfo=local.tzinfo)
        due.append(DueDigest(user_id, local.date(), cutoff))
    sent = set(DigestRun.objects.filter(user_id__in=[d.user_id for d in due], day__in={d.day for d in due},
                                        sent_at__isnull=False).values_list("user_id", "day"))
    return [d for d in due if (d.user_id, d.day) not in sent]


def digest_send(*, user_id: int, day: date, cutoff: datetime) -> bool:
    """Send the person's digest of `day` (items recorded before `cutoff`) at most once; True when it left now."""
    DigestRun.objects.get_or_create(user_id=user_id, day=day)
    with transaction.atomic():
        run = DigestRun.objects.select_for_update().select_related("user").get(user_id=user_id, day=day)
        if run.sent_at is not None:
            return False
        items = list(Notification.objects.select_for_update(of=("self",)).select_related("collective")
                     .filter(recipient_id=user_id, email=EmailMode.DAILY, emailed_at__isnull=True,
                             created_at__lt=cutoff).order_by("created_at", "id"))
        if not items or not run.user.is_active:
            return False
        message = _digest_message(run.user, items)
        message.send()
        now = timezone.now()
        Notification.objects.filter(pk__in=[item.pk for item in items]).update(emailed_at=now)
        run.sent_at, run.item_count = now, len(items)
        run.save(update_fields=["sent_at", "item_count"])
    return True


def _digest_message(user, items: list[Notification]) -> EmailMultiAlternatives:
    collectives = list(dict.fromkeys(item.collective for item in items))
    with translation.override(language_of(user, collectives[0])):
        groups = [{"collective": collective,
                   "items": [{"text": text_of(item), "link": absolute(item.url), "created_at": item.created_at}
                             for item in items if item.collective == collective]}
                  for collective in collectives]
        summary = ngettext("Your daily digest: %(count)s piece of news", "Your daily digest: %(count)s pieces of news",
                           len(items)) % {"count": len(items)}
        return _message(user=user, subject=_subject(", ".join(c.name for c in collectives), summary),
                        template="digest", context={"groups": groups, "summary": summary})

