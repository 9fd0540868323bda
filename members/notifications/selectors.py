"""Reads about notifications: a person's inbox, its unread count, and their settings."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import Count, QuerySet
from django.utils import timezone

from contrib_budget.prepared import Prepared
from contrib_budget.scopes import across_collectives

from .kinds import all_kinds, kind_of, notification_text
from .models import Notification, NotificationPreference


@across_collectives
def inbox(user, *, unread: bool = False) -> QuerySet[Notification]:
    """What the person sees in the app, newest first."""
    notifications = Notification.objects.filter(recipient=user, in_app=True).select_related("collective")
    if unread:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications.order_by("-created_at", "-id")


# Prepared (contrib_budget.prepared): every page shows the count, and compiling its query cost more than running it.
_UNREAD_COUNT = Prepared(lambda user_id: (
    Notification.objects.filter(recipient_id=user_id, in_app=True, read_at__isnull=True)
    .values("recipient_id").annotate(count=Count("id")).values_list("count", flat=True)
))


@across_collectives
def unread_count(user) -> int:
    return sum(_UNREAD_COUNT.rows(user_id=user.pk))


def text_of(notification: Notification) -> str:
    """The notification's sentence in the active language."""
    return notification_text(notification.kind, notification.params, notification.collective.currency)


@dataclass(frozen=True)
class Day:
    day: date
    notifications: list[Notification]


def grouped_by_day(notifications: Iterable[Notification]) -> list[Day]:
    """Notifications grouped by the local day they were recorded, in the given order."""
    days: dict[date, list[Notification]] = {}
    for notification in notifications:
        notification.text = text_of(notification)
        days.setdefault(timezone.localdate(notification.created_at), []).append(notification)
    return [Day(day, items) for day, items in days.items()]


def preferences_for(*, user_ids: Iterable[int], kind: str) -> dict[int, tuple[str, bool]]:
    """The stored settings of these people for one kind (people without a row follow the kind's defaults)."""
    rows = NotificationPreference.objects.filter(user_id__in=list(user_ids), kind=kind)
    return {row.user_id: (row.email, row.in_app) for row in rows}


def preferences_of(user) -> dict[str, tuple[str, bool]]:
    """The person's settings for every kind, defaults included: kind → (email, in_app)."""
    stored = {row.kind: (row.email, row.in_app) for row in NotificationPreference.objects.filter(user=user)}
    return {kind.code: stored.get(kind.code, (kind.email, True)) for kind in all_kinds()}


def settings_rows(user) -> list[dict]:
    """The person's settings as the page and the API show them, one row per kind."""
    return [{"kind": code, "label": str(kind_of(code).label), "email": email, "in_app": in_app}
            for code, (email, in_app) in preferences_of(user).items()]
