"""A worker killed halfway (SIGKILL) leaves no job half done: another worker finishes it, exactly once, by itself."""

import os
import signal
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from budgets import tasks as budget_tasks
from budgets.accounting import services as accounting
from budgets.accounting import tasks as accounting_tasks
from budgets.accounting.models import Export, ExportStatus
from budgets.models import LedgerTransaction, Period, PeriodStatus
from cobudget import tasks as cobudget_tasks
from cobudget.models import Round, Wallet
from contributions.models import Contribution, ContributionStatus, Payout
from members.models import Role
from members.notifications.models import Notification
from tests.accounting.test_large_export import bulk_ledger
from tests.budgets.helpers import make_budget
from tests.cobudget.conftest import make_bucket, make_round  # noqa: F401  (fixtures)
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

STALE_SECONDS = 3


@pytest.fixture
def celery_worker_env():
    return {"EXPORT_STALE_SECONDS": str(STALE_SECONDS)}


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings, monkeypatch):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    monkeypatch.setenv("MEDIA_ROOT", settings.MEDIA_ROOT)


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"waited {seconds} s for {what}")


def kill(process) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def test_an_export_killed_with_its_worker_is_finished_once_by_another(start_celery_worker, collective, accountant,
                                                                      settings, monkeypatch):
    monkeypatch.setattr(accounting, "STALE_AFTER", timedelta(seconds=STALE_SECONDS))
    bulk_ledger(collective, 60_000)
    first = start_celery_worker()
    export = accounting.export_request(collective=collective, actor=accountant, kind="journal", fmt="csv", params={})

    def halfway():
        export.refresh_from_db()
        return export.status == ExportStatus.RUNNING and 0 < export.progress < 100

    wait_for(halfway, 60, "the export to be halfway")
    kill(first)
    started = time.monotonic()
    start_celery_worker()
    time.sleep(STALE_SECONDS + 0.5)
    accounting_tasks.resume_stale_exports.delay()  # what beat does every minute
    wait_for(lambda: Export.objects.get(pk=export.pk).status == ExportStatus.READY, 120, "the export to be ready")
    assert time.monotonic() - started < 120
    export.refresh_from_db()
    assert export.row_count == 120_000
    assert Notification.objects.filter(kind="export.ready", recipient=accountant).count() == 1


def test_a_failed_export_says_why_and_is_asked_for_again(api, collective, accountant, celery_worker):
    export = Export.objects.create(collective=collective, requested_by=accountant, kind="journal", format="csv",
                                   status=ExportStatus.FAILED, error="disk full", expires_at=timezone.now())
    body = api(accountant).get(f"/api/v1/collectives/{collective.slug}/exports/{export.pk}/").json()
    assert body["status"] == "failed" and body["error"] == "disk full"
    again = api(accountant).post(f"/api/v1/collectives/{collective.slug}/exports/{export.pk}/retry/")
    assert again.status_code == 202 and again.json()["status"] == "pending"
    wait_for(lambda: Export.objects.get(pk=export.pk).status == ExportStatus.READY, 60, "the export to be ready")
    refused = api(accountant).post(f"/api/v1/collectives/{collective.slug}/exports/{export.pk}/retry/")
    assert refused.status_code == 409 and refused.json()["code"] == "export_not_failed"


def declarations(budget, count: int) -> None:
    people = [MembershipFactory(collective=budget.collective, user=UserFactory(email=f"c{n}@example.org"),
                                roles=[Role.CONTRIBUTOR.value]).user for n in range(20)]
    period = Period.objects.get(budget=budget, index=0)
    Contribution.objects.bulk_create([
        Contribution(collective=budget.collective, author=people[n % len(people)], budget=budget, period=period,
                     performed_on=budget.starts_on, description=f"Travail {n}", value_mode="self_assessed",
                     amount=Decimal("10.00"), validated_amount=Decimal("10.00"), status=ContributionStatus.VALIDATED)
        for n in range(count)
    ])


def test_a_closing_killed_with_its_worker_is_finished_once_without_waiting_for_the_hour(
        start_celery_worker, collective, coordinator):
    budget = make_budget(collective, coordinator, amount_per_period="100000.00", received="100000.00",
                         starts_on=date(2025, 1, 6), ends_on=date(2025, 1, 12), auto_close_after_days=0)
    declarations(budget, 1500)
    first = start_celery_worker()
    budget_tasks.close_due_periods.delay()
    grants = LedgerTransaction.objects.filter(collective=collective, kind="grant")
    wait_for(lambda: 0 < grants.count() < 1500, 120, "the grants to be halfway posted")
    kill(first)
    posted = grants.count()
    assert Period.objects.get(budget=budget, index=0).status == PeriodStatus.CLOSED and posted < 1500

    started = time.monotonic()
    start_celery_worker()
    budget_tasks.close_due_periods.delay()  # what beat does every minute
    wait_for(lambda: grants.count() == 1500, 120, "every grant to be posted")
    assert time.monotonic() - started < 120
    assert Payout.objects.filter(period__budget=budget).count() == 1500
    call_command("check_ledger")


def test_a_round_close_killed_with_its_worker_is_finished_once(start_celery_worker, collective, coordinator,
                                                             make_round, make_bucket):
    members = [MembershipFactory(collective=collective, user=UserFactory(email=f"m{n}@example.org"),
                                 roles=[Role.MEMBER.value]).user for n in range(300)]
    round = make_round(funding_closes_at=timezone.now() + timedelta(hours=1), leftover_policy="return_to_pool")
    assert Wallet.objects.filter(round=round).count() == len(members) + 1
    make_bucket(round, min_goal="10.00")
    Round.objects.filter(pk=round.pk).update(funding_closes_at=timezone.now() - timedelta(seconds=1))
    first = start_celery_worker()
    cobudget_tasks.close_due_rounds.delay()
    settled = Wallet.objects.filter(round=round, settled_at__isnull=False)
    wait_for(lambda: 0 < settled.count(), 120, "the close to be halfway")
    kill(first)
    assert Round.objects.get(pk=round.pk).settled_at is None

    start_celery_worker()
    cobudget_tasks.close_due_rounds.delay()  # what beat does every minute
    wait_for(lambda: Round.objects.get(pk=round.pk).settled_at is not None, 120, "the round to be settled")
    returns = LedgerTransaction.objects.filter(collective=collective, kind="cobudget_wallet_return")
    assert returns.count() == len(members) + 1
    assert Notification.objects.filter(kind="round.closed").count() == len(members) + 1
    call_command("check_ledger")
