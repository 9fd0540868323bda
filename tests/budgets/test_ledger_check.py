"""The books are checked every night: a broken invariant alerts the coordinators (once a day) and the admins."""

from datetime import date

import pytest

from budgets import tasks
from budgets.ledger_audit import ledger_check_and_alert
from budgets.models import Account, AccountKind
from members.notifications.models import Notification
from tests.db_owner import corrupt_balance

from .helpers import make_budget


def test_a_clean_ledger_alerts_nobody(collective, coordinator, mailoutbox):
    make_budget(collective, coordinator)
    assert tasks.check_ledger.delay().get() == 0
    assert not Notification.objects.filter(kind="ledger.violation").exists() and mailoutbox == []


@pytest.mark.django_db(transaction=True)
def test_a_broken_ledger_alerts_the_coordinators_once_a_day_and_the_admins(collective, coordinator, member,
                                                                          settings, mailoutbox):
    settings.ADMINS = [("Admin", "admin@example.org")]
    make_budget(collective, coordinator)
    # The application's role cannot move a balance away from its entries (a trigger refuses it); the owner role
    # can, by switching that trigger off: what the nightly check is there to catch.
    budget_account = Account.objects.get(collective=collective, kind=AccountKind.BUDGET)
    corrupt_balance(budget_account, budget_account.balance + 1)
    for _run in range(2):
        problems = ledger_check_and_alert(today=date(2026, 12, 1))
    assert list(problems) == [collective.pk]
    told = Notification.objects.filter(kind="ledger.violation")
    assert [n.recipient for n in told] == [coordinator]
    assert [m.to for m in mailoutbox if "Ledger check" in m.subject] == [["admin@example.org"]] * 2


def test_beat_runs_the_check_every_night(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["budgets-check-ledger-nightly"]
    assert schedule["task"] == tasks.check_ledger.name
    assert schedule["schedule"].hour == {3}
