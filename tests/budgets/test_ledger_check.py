"""The books are checked every night: a broken invariant alerts the coordinators (once a day) and the admins."""

from datetime import date

from django.db import connection

from budgets import tasks
from budgets.ledger_audit import ledger_check_and_alert
from members.notifications.models import Notification

from .helpers import make_budget


def test_a_clean_ledger_alerts_nobody(collective, coordinator, mailoutbox):
    make_budget(collective, coordinator)
    assert tasks.check_ledger.delay().get() == 0
    assert not Notification.objects.filter(kind="ledger.violation").exists() and mailoutbox == []


def test_a_broken_ledger_alerts_the_coordinators_once_a_day_and_the_admins(collective, coordinator, member,
                                                                          settings, mailoutbox):
    settings.ADMINS = [("Admin", "admin@example.org")]
    make_budget(collective, coordinator)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE budgets_account SET balance = balance + 1 WHERE collective_id = %s AND kind = 'budget'",
                       [collective.pk])
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
