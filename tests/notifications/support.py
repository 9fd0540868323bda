"""Shared set-up of the notification tests (emails, reminders, API): declarations made with the real services,
notifications recorded with the real `notify`, and a few moments in the collective's time zone."""

import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.test import Client

from budgets.models import Budget, PeriodKind
from contributions.models import Contribution
from contributions.services import Declaration, contribution_declare, contribution_question
from members.models import Membership
from members.notifications import services

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
MONDAY = date(2025, 3, 3)
QUESTION = "Deux heures pour ouvrir ?"


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def make_budget(collective, *, name="Tiers-lieu", starts_on=MONDAY, ends_on=None) -> Budget:
    """A weekly budget: its first period runs from Monday 3 to Sunday 9 March 2025."""
    return Budget.objects.create(collective=collective, name=name, period_kind=PeriodKind.WEEK, starts_on=starts_on,
                                 ends_on=ends_on, amount_per_period=Decimal("1000.00"))


def declare(collective, author, budget, *, description="Permanence", day=MONDAY, amount="40.00") -> Contribution:
    membership = Membership.objects.get(collective=collective, user=author)
    return contribution_declare(collective=collective, membership=membership, declaration=Declaration(
        budget=budget, performed_on=day, description=description, minutes=120, value_mode="fixed_price",
        amount=Decimal(amount),
    ))


def question(contribution, actor, comment=QUESTION):
    return contribution_question(contribution=contribution, actor=actor, comment=comment)


def questioned(collective, recipient, *, actor=None, declaration="Permanence", comment=QUESTION,
               url="/c/la-fabrique/contributions/1/") -> int:
    """One "contribution.questioned" notification for `recipient`, recorded by the real service."""
    ids = services.notify(collective=collective, kind="contribution.questioned", recipients=[recipient], actor=actor,
                          params={"declaration": declaration, "name": "Alice", "comment": comment}, url=url)
    assert len(ids) == 1
    return ids[0]


def round_opened(collective, recipient, *, name="Round 2026", envelope="100.00", url="/c/la-fabrique/rounds/1/") -> int:
    """One "round.opened" notification (a daily-digest kind by default) for `recipient`."""
    ids = services.notify(collective=collective, kind="round.opened", recipients=[recipient],
                          params={"round": name, "envelope": envelope}, url=url)
    assert len(ids) == 1
    return ids[0]


SETTINGS_LINK = re.compile(r"https?://[^\s\"<>]+/notifications/settings/([^/\s\"<>]+)/")


def settings_tokens(text: str) -> list[str]:
    return SETTINGS_LINK.findall(text)


def page_client(user=None, language="en") -> Client:
    client = Client(headers={"accept-language": language})
    if user is not None:
        client.force_login(user)
    return client
