"""Every write about notifications: recording them for the people concerned, reading them, and their settings.

`notify` and `notify_each` are called by the service that makes the change,
inside its transaction: the notifications exist exactly when the change does.
Instant emails are queued after commit (`tasks.send_notification_emails`).
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contrib_budget.bulk import copy_insert, ids_reserve, in_batches
from contrib_budget.errors import DomainError, Forbidden, NotFound, validated_or_raise
from contrib_budget.scopes import across_collectives
from members.audit import audit_record
from members.models import Collective, Membership, Role, User

from . import reminders, tasks
from .kinds import kind_of
from .models import EmailMode, Notification, NotificationPreference, ReminderSettings
from .selectors import preferences_for, preferences_of


@dataclass(frozen=True)
class Notice:
    """One person to tell, with what is particular to them."""

    recipient_id: int
    params: dict[str, Any]
    url: str
    occasion: str = ""


def _person_id(person: User | int) -> int:
    return person if isinstance(person, int) else person.pk


def notify(*, collective: Collective, kind: str, recipients: Iterable[User | int], params: dict[str, Any], url: str,
           actor: User | None = None, occasion: str = "", members_only: bool = True) -> list[int]:
    """Tell each of `recipients` (people or their ids) the same thing."""
    notices = [Notice(_person_id(person), params, url, occasion) for person in recipients]
    return notify_each(collective=collective, kind=kind, notices=notices, actor=actor, members_only=members_only)


def notify_each(*, collective: Collective, kind: str, notices: Iterable[Notice], actor: User | None = None,
                members_only: bool = True) -> list[int]:
    """Record one notification per person (never the actor, once per occasion), by their settings for `kind`.

    Only members of the collective are told, unless `members_only` is off (an
    invitation reaches someone who is not a member yet). Returns the ids of the
    notifications recorded now. A notice whose occasion was already notified to
    that person is skipped, even when two runs race.
    """
    registered = kind_of(kind)
    if registered is None:
        raise ValueError(f"Unregistered notification kind: {kind}")
    actor_id = _person_id(actor) if actor is not None else None
    by_person: dict[int, Notice] = {}
    for notice in notices:
        if notice.recipient_id != actor_id:
            by_person.setdefault(notice.recipient_id, notice)
    if members_only:
        members = set(Membership.objects.of(collective).filter(user_id__in=list(by_person))
                      .values_list("user_id", flat=True))
        by_person = {person: notice for person, notice in by_person.items() if person in members}
    if not by_person:
        return []
    preferences = preferences_for(user_ids=by_person.keys(), kind=kind)
    rows = _rows(by_person=by_person, preferences=preferences, default_email=registered.email)
    created_at = timezone.now()
    inserted = [row for batch in in_batches(rows, NOTIFICATIONS_PER_INSERT)
                for row in _insert(collective=collective, kind=kind, created_at=created_at, rows=batch)]
    _queue_instant_emails([pk for pk, email in inserted if email == EmailMode.INSTANT])
    return [pk for pk, _email in inserted]


# A closing tells each of its thousands of contributors: their rows are written a batch at a time.
NOTIFICATIONS_PER_INSERT = 1000


class _Row(NamedTuple):
    """A notification to write, as it will be stored."""

    recipient_id: int
    params: dict[str, Any]
    url: str
    in_app: bool
    email: str
    occasion: str


def _rows(*, by_person: dict[int, Notice], preferences: dict[int, tuple[str, bool]],
          default_email: str) -> Iterator[_Row]:
    for person_id, notice in by_person.items():
        email, in_app = preferences.get(person_id, (default_email, True))
        if email == EmailMode.OFF and not in_app:
            continue
        yield _Row(person_id, notice.params, notice.url, in_app, email, notice.occasion)


def _stored(*, collective: Collective, kind: str, created_at: datetime, row: _Row) -> dict[str, Any]:
    """The notification's fields as written, whichever way it is written."""
    return {"collective_id": collective.pk, "recipient_id": row.recipient_id, "kind": kind, "params": row.params,
            "url": row.url, "in_app": row.in_app, "email": row.email, "occasion": row.occasion,
            "created_at": created_at}


def _insert(*, collective: Collective, kind: str, created_at: datetime, rows: list[_Row]) -> list[tuple[int, str]]:
    """Write the rows; those naming an occasion already notified to their person are left out. Returns each
    written row's id and email setting.

    Rows without an occasion are copied in (contrib_budget.bulk); the others go through ON CONFLICT DO NOTHING,
    which says nothing of the rows it wrote: this call's are those carrying its creation time."""
    plain = [row for row in rows if not row.occasion]
    written = _copy(collective=collective, kind=kind, created_at=created_at, rows=plain) if plain else []
    once = {(row.recipient_id, row.occasion): row for row in rows if row.occasion}
    if once:
        Notification.objects.bulk_create([
            Notification(**_stored(collective=collective, kind=kind, created_at=created_at, row=row))
            for row in once.values()
        ], ignore_conflicts=True)
        people, occasions = {p for p, _o in once}, {o for _p, o in once}
        inserted = Notification.objects.filter(recipient_id__in=people, occasion__in=occasions,
                                               created_at=created_at)
        written += [(pk, once[person, occasion].email)
                    for pk, person, occasion in inserted.values_list("pk", "recipient_id", "occasion")
                    if (person, occasion) in once]
    return written


COPIED_FIELDS = ["collective_id", "recipient_id", "kind", "params", "url", "in_app", "email", "occasion", "created_at"]


def _copy(*, collective: Collective, kind: str, created_at: datetime, rows: list[_Row]) -> list[tuple[int, str]]:
    ids = ids_reserve(Notification, len(rows))
    stored = (_stored(collective=collective, kind=kind, created_at=created_at, row=row) for row in rows)
    copy_insert(Notification, ["id", *COPIED_FIELDS],
                ((pk, *(fields[name] for name in COPIED_FIELDS)) for pk, fields in zip(ids, stored, strict=True)))
    return [(pk, row.email) for pk, row in zip(ids, rows, strict=True)]


def _queue_instant_emails(ids: list[int]) -> None:
    if ids:
        transaction.on_commit(lambda: tasks.queue_emails(ids))


@across_collectives
def notification_mark_read(*, user: User, notification_id: int) -> Notification:
    """Mark one of the person's notifications read (once: the first reading time stays)."""
    notification = Notification.objects.filter(pk=notification_id, recipient=user).select_related("collective").first()
    if notification is None:
        raise NotFound(_("No such notification."))
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
    return notification


@across_collectives
def notifications_mark_all_read(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())


def _checked_preferences(changes: object) -> dict[str, dict[str, Any]]:
    if not isinstance(changes, dict):
        raise DomainError(_("Give the settings as an object keyed by kind."), "invalid")
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, dict[str, Any]] = {}
    for code, change in changes.items():
        if kind_of(code) is None:
            errors[code] = [_("Unknown kind of notification.")]
            continue
        if not isinstance(change, dict) or not set(change) <= {"email", "in_app"}:
            errors[code] = [_("Give “email” (instant, daily or off) and/or “in_app” (true or false).")]
            continue
        if "email" in change and change["email"] not in EmailMode.values:
            errors[code] = [_("“email” is one of: instant, daily, off.")]
            continue
        if "in_app" in change and not isinstance(change["in_app"], bool):
            errors[code] = [_("“in_app” is true or false.")]
            continue
        cleaned[code] = change
    if errors:
        raise DomainError(_("Some notification settings are not valid."), "invalid", fields=errors)
    return cleaned


def notification_settings_update(*, user: User, kinds: dict[str, dict[str, Any]] | None = None,
                                 language: str | None = None) -> None:
    """Change how the person is told of some kinds, and the language of their emails ("" follows the collective)."""
    cleaned = _checked_preferences(kinds or {})
    if language is not None and language not in ("", *dict(settings.LANGUAGES)):
        message = _("Choose one of the languages offered.")
        raise DomainError(message, "invalid", fields={"language": [message]})
    current = preferences_of(user)
    with transaction.atomic():
        for code, change in cleaned.items():
            email, in_app = current[code]
            NotificationPreference.objects.update_or_create(
                user=user, kind=code,
                defaults={"email": change.get("email", email), "in_app": change.get("in_app", in_app)},
            )
        if language is not None and language != user.language:
            user.language = language
            user.save(update_fields=["language"])


REMINDER_FIELDS = ("declare_enabled", "declare_days_before", "review_enabled", "review_after_days",
                   "wallet_enabled", "lock_enabled")


def _reminder_state(current: ReminderSettings) -> dict[str, Any]:
    return {field: getattr(current, field) for field in REMINDER_FIELDS}


def reminder_settings_update(*, collective: Collective, actor: User, **fields: Any) -> ReminderSettings:
    """A coordinator switches the collective's reminders on or off, and sets when they go."""
    if not Membership.objects.of(collective).filter(user=actor, roles__contains=[Role.COORDINATOR]).exists():
        raise Forbidden(_("Only coordinators set the collective's reminders."), "not_coordinator")
    current = reminders.settings_of(collective)
    before = _reminder_state(current)
    for field, value in fields.items():
        if field in REMINDER_FIELDS:
            setattr(current, field, value)
    validated_or_raise(current, exclude=("collective",))
    with transaction.atomic():
        current.save()
        audit_record(collective=collective, actor=actor, action="notifications.reminders_updated", target=collective,
                     before=before, after=_reminder_state(current))
    return current
