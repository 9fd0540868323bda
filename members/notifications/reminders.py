"""Reminders: each app registers a function that tells the people concerned what is due, once per occasion.

Beat runs `reminders_send` hourly. A provider takes the current time, reads
the collectives' `ReminderSettings` (`enabled_for`), and records its
notifications with an `occasion`, so that a second run, or a run after a
worker died halfway, reminds nobody twice.
"""

import logging
from collections.abc import Callable
from datetime import datetime

from django.db.models import QuerySet

from members.models import Collective

from .models import ReminderSettings

logger = logging.getLogger(__name__)

ReminderProvider = Callable[[datetime], int]
_providers: list[ReminderProvider] = []

SWITCHES = ("declare_enabled", "review_enabled", "wallet_enabled", "lock_enabled")


def reminder_provider(provider: ReminderProvider) -> ReminderProvider:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def enabled_for(switch: str) -> QuerySet[Collective]:
    """The collectives whose reminder `switch` is on (on by default, for collectives that never changed it)."""
    if switch not in SWITCHES:
        raise ValueError(switch)
    off = ReminderSettings.objects.filter(**{switch: False}).values("collective_id")
    return Collective.objects.exclude(pk__in=off)


def settings_of(collective: Collective) -> ReminderSettings:
    """The collective's reminder settings (the defaults when it never changed them)."""
    return ReminderSettings.objects.filter(collective=collective).first() or ReminderSettings(collective=collective)


def reminders_send(*, now: datetime) -> int:
    """Run every provider; one that fails is logged and does not stop the others (the next run retries it)."""
    sent = 0
    for provider in _providers:
        try:
            sent += provider(now)
        except Exception:
            logger.exception("notifications: reminder provider %s failed", provider.__qualname__)
    return sent
