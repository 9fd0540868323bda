"""A worker killed (SIGKILL) at any point of a job leaves nothing half done: another worker finishes it, exactly
once, by itself (beat's sweeps), within two minutes.

Each job (an export, a period's closing, a round's close) is killed at several points of its work. A point is
reached by watching the database, never by guessing times: the test holds a row lock the job needs at that point
(`Hold`), waits until the worker's session waits on it, checks the job's state, then kills the worker and ends its
session (`kill_at`): whatever that session was in, even a COMMIT, never gets through, as when a machine dies.
"""

import os
import signal
import threading
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from accounting import services as accounting
from accounting import tasks as accounting_tasks
from accounting.models import Export, ExportStatus
from budgets import accounts
from budgets.models import Account, LedgerTransaction, Payout, Period, PeriodStatus
from cobudget import services as cobudget
from cobudget import tasks as cocontribution_tasks
from cobudget.models import Bucket, Round, RoundStatus, Wallet
from contrib_budget.db_roles import connected_as_owner
from contributions import tasks as contribution_tasks
from contributions.models import Contribution, ContributionStatus
from members.models import Role, User
from members.notifications.models import Notification
from tests.accounting.test_large_export import bulk_ledger
from tests.budgets.helpers import make_budget
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

STALE_SECONDS = 3
WITHIN = 120  # seconds: the "within two minutes"


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings) -> str:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return settings.MEDIA_ROOT


@pytest.fixture
def celery_worker_env(media_root):
    # A closing posts its grants a set at a time; sets of one person's grants (EACH) let a crash fall between two.
    return {"EXPORT_STALE_SECONDS": str(STALE_SECONDS), "MEDIA_ROOT": media_root, "POSTINGS_PER_TRANSACTION": str(EACH)}


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"waited {seconds} s for {what}")


def _session(pid: int) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type, query FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()


class Hold:
    """A row lock the test takes FOR UPDATE on a database session of its own.

    A worker whose job writes that row (or, at its COMMIT, checks a foreign key to it) waits there, frozen at a
    known point of its work. `queued=True` asks for the lock in the background, so that it queues behind a worker
    already waiting: once the first hold is released, the worker makes that one write and waits on this one at
    its next (`let_through`)."""

    opened: list["Hold"] = []

    def __init__(self, model, pk: int, *, queued: bool = False):
        database = django_settings.DATABASES["default"]  # the application's role, as the workers'
        self.session = psycopg.connect(
            host=database["HOST"] or "127.0.0.1", port=database["PORT"] or 5432, dbname=database["NAME"],
            user=database["USER"], password=database["PASSWORD"] or None,
        )
        self.opened.append(self)
        self.pid = self.session.info.backend_pid
        self.error = None
        self.thread = threading.Thread(target=self._lock, args=(model._meta.db_table, pk))
        self.thread.start()
        if queued:
            wait_for(lambda: (_session(self.pid) or ("",))[0] == "Lock", 30, "the lock to queue behind the worker")
        else:
            self.acquired()

    def _lock(self, table: str, pk: int) -> None:
        try:
            assert self.session.execute(f'SELECT 1 FROM "{table}" WHERE id = %s FOR UPDATE', [pk]).fetchone()
        except Exception as error:  # noqa: BLE001  (reported by `acquired`)
            self.error = error

    def acquired(self) -> None:
        self.thread.join(30)
        assert not self.thread.is_alive() and self.error is None, f"the test could not take its lock: {self.error}"

    def waiter(self, seconds: float = 60) -> int:
        """The worker's database session, once it waits on this hold."""
        found = []

        def waiting():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pid FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [self.pid])
                found[:] = [pid for (pid,) in cursor.fetchall()]
            return found

        wait_for(waiting, seconds, "the worker to reach the held row")
        assert len(found) == 1, found
        return found[0]

    def release(self) -> None:
        if self.thread.is_alive():  # still queued (a case that failed)
            self.session.cancel()
            self.thread.join(10)
        self.session.rollback()
        self.session.close()
        self.opened.remove(self)


@pytest.fixture(autouse=True)
def holds_released(start_celery_worker):
    """The locks of a case that failed are released before its workers are stopped (one frozen on a lock would
    not stop) and the database flushed (the flush would wait for them forever)."""
    yield
    for hold in list(Hold.opened):
        hold.release()


def let_through(hold: Hold, model, pk: int) -> Hold:
    """The worker waiting on `hold` makes that write; the returned hold stops it at its next write of the row."""
    hold.waiter()
    following = Hold(model, pk, queued=True)
    hold.release()
    following.acquired()
    return following


def start_workers(start):
    """Start the worker that will take the job (queue it after: a worker frozen in a task does not answer the
    ping that tells it started), then, in the background, another that will finish it once the first is killed
    (a worker's start-up is most of a case's time: the second's overlaps the first's work). Returns a function
    that waits for both and returns them."""
    workers, errors = [start()], []

    def second():
        try:
            workers.append(start())
        except Exception as error:  # noqa: BLE001  (raised in the test's thread)
            errors.append(error)

    thread = threading.Thread(target=second)
    thread.start()

    def started() -> list:
        thread.join()
        if errors:
            raise errors[0]
        return workers

    return started


def worker_of(backend: int, workers: list):
    """The worker whose database session is `backend`: the process holding the client end of its TCP connection
    (a solo-pool worker runs its tasks in its own process)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_port FROM pg_stat_activity WHERE pid = %s", [backend])
        (port,) = cursor.fetchone()
    sockets = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                sockets.add(f"socket:[{fields[9]}]")
    for worker in workers:
        for fd in Path(f"/proc/{worker.pid}/fd").iterdir():
            try:
                if os.readlink(fd) in sockets:
                    return worker
            except FileNotFoundError:  # closed meanwhile
                continue
    raise AssertionError(f"no worker holds the database session {backend}")


def kill_at(workers: list, hold: Hold) -> str:
    """SIGKILL the worker frozen on `hold`; returns the statement its session was stuck in."""
    backend = hold.waiter()
    statement = _session(backend)[1]
    worker = worker_of(backend, workers)
    assert len(workers) > 1, "no worker would be left to finish the job"
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    # The session of a killed client ends at its next exchange with it; end it now, before the hold is released,
    # so that the statement it waits in (an UPDATE, or a COMMIT checking foreign keys) never completes.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
    wait_for(lambda: _session(backend) is None, 10, "the killed worker's session to end")
    hold.release()
    return statement


def beat_until(task, done, *, every: float) -> float:
    """Queue `task` as beat does (every minute in production, every `every` seconds here) until `done()`;
    returns how long it took. Fails after two minutes."""
    started = time.monotonic()
    next_beat = started
    while not done():
        now = time.monotonic()
        assert now - started < WITHIN, f"{task.name} did not finish the job within {WITHIN} s"
        if now >= next_beat:
            task.delay()
            next_beat = now + every
        time.sleep(0.1)
    return time.monotonic() - started


# Exports ---------------------------------------------------------------------------------------------------------

EXPORT_ROWS = 10_000  # two entries per transaction; a beat every 5,000 rows: at 50 and 99 %


def stored_files(export: Export) -> list[str]:
    folder = Path(django_settings.MEDIA_ROOT) / "exports" / str(export.collective_id) / str(export.pk)
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def ledger_of(collective, transactions: int) -> None:
    bulk_ledger(collective, transactions)
    with connected_as_owner(), connection.cursor() as cursor:
        # As autovacuum soon would: without statistics, the export's cursor takes seconds to start.
        cursor.execute("ANALYZE budgets_ledgertransaction, budgets_entry")


# The worker writes the export's row as it claims it, at each beat (5,000 rows, or 20 seconds), then as it marks it
# ready (in the transaction that notifies). Let through one write at a time, it is killed as it waits on its next
# write once the export's state says the point is reached: (reached, the statement it is frozen in).
EXPORT_POINTS = [
    # Claimed; nothing recorded nor stored yet: frozen at its first beat.
    pytest.param(lambda export: export.status == ExportStatus.RUNNING, '"progress" = ', id="just-claimed"),
    pytest.param(lambda export: export.progress >= 50, '"progress" = ', id="midway"),
    # Every row written and the file stored: frozen as it marks the export ready.
    pytest.param(lambda export: stored_files(export), "'ready'", id="file-stored"),
]


@pytest.mark.parametrize("reached, frozen_in", EXPORT_POINTS)
def test_an_export_killed_with_its_worker_is_finished_once_by_another(reached, frozen_in, start_celery_worker,
                                                                      collective, accountant):
    ledger_of(collective, EXPORT_ROWS // 2)
    workers = start_workers(start_celery_worker)
    requested = {}
    with transaction.atomic():
        # At the commit, this runs before the service's own callback, which queues the export: the worker finds the
        # export's row held from its claim on.
        transaction.on_commit(lambda: requested.update(hold=Hold(Export, requested["export"].pk)))
        requested["export"] = accounting.export_request(collective=collective, actor=accountant, kind="journal",
                                                        fmt="csv", params={})
    export, hold = requested["export"], requested["hold"]
    while True:
        hold.waiter()
        if reached(Export.objects.get(pk=export.pk)):
            break
        hold = let_through(hold, Export, export.pk)
    assert frozen_in in kill_at(workers(), hold)
    export.refresh_from_db()
    assert export.status == ExportStatus.RUNNING and not export.file and reached(export)

    took = beat_until(accounting_tasks.resume_stale_exports,
                      lambda: Export.objects.get(pk=export.pk).status == ExportStatus.READY, every=STALE_SECONDS)
    export.refresh_from_db()
    assert export.row_count == EXPORT_ROWS and export.progress == 100
    assert stored_files(export) == [export.filename]
    with export.file.open("rb") as stored:
        assert sum(1 for _ in stored) == EXPORT_ROWS + 1  # the header, then every row once
    assert Notification.objects.filter(kind="export.ready", recipient=accountant).count() == 1
    assert took < WITHIN


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


# Period closing --------------------------------------------------------------------------------------------------

EACH = 10


def contributors(budget) -> list[User]:
    """Ten people with ten validated declarations of 10.00 each, then one with a single one. The closing makes
    their payouts, then posts their grants, in this order (by author, then by declaration)."""
    people = [MembershipFactory(collective=budget.collective, user=UserFactory(email=f"c{n}@example.org"),
                                roles=[Role.CONTRIBUTOR.value]).user for n in range(11)]
    period = Period.objects.get(budget=budget, index=0)
    Contribution.objects.bulk_create([
        Contribution(collective=budget.collective, author=person, budget=budget, period=period,
                     performed_on=budget.starts_on, description=f"Travail {n}", value_mode="self_assessed",
                     amount=Decimal("10.00"), validated_amount=Decimal("10.00"), status=ContributionStatus.VALIDATED)
        for person in people for n in range(1 if person is people[-1] else EACH)
    ])
    return people


# The statement a posting waits in for its accounts' row locks: the database's ledger_short_account takes them FOR
# UPDATE (migration budgets 0012).
LOCKING_ACCOUNTS = "ledger_short_account"

CLOSING_POINTS = [
    # (the row held: a contributor or their payable account; whose; the statement the worker is frozen in; grants
    # posted at the kill). Step 1, settling: payouts made and the period closed, in one transaction, frozen at its
    # COMMIT (which checks the payouts' foreign key to their person): nothing of it is left.
    pytest.param(User, 0, "COMMIT", None, id="settling"),
    # Step 2, posting the grants a person's ten at a time: frozen within a set's transaction, as it moves the
    # balances; the sets before it are committed.
    pytest.param(Account, 5, LOCKING_ACCOUNTS, 5 * EACH, id="midway-grants"),
    pytest.param(Account, -1, LOCKING_ACCOUNTS, 10 * EACH, id="last-grant"),
]


@pytest.mark.parametrize("held, whose, frozen_in, posted", CLOSING_POINTS)
def test_a_closing_killed_with_its_worker_is_finished_once_without_waiting_for_the_hour(
        held, whose, frozen_in, posted, start_celery_worker, collective, coordinator):
    budget = make_budget(collective, coordinator, amount_per_period="100000.00", received="100000.00",
                         starts_on=date(2025, 1, 6), ends_on=date(2025, 1, 12), auto_close_after_days=0)
    people = contributors(budget)
    declared = 10 * EACH + 1
    payable = {person.pk: accounts.person_account(collective=collective, user=person, state="payable")
               for person in people}
    hold = Hold(held, people[whose].pk if held is User else payable[people[whose].pk].pk)
    workers = start_workers(start_celery_worker)
    contribution_tasks.close_due_periods.delay()
    assert frozen_in in kill_at(workers(), hold)
    period = Period.objects.get(budget=budget, index=0)
    grants = LedgerTransaction.objects.filter(collective=collective, kind="grant")
    payouts = Payout.objects.filter(period__budget=budget)
    if posted is None:
        assert (period.status, payouts.count(), grants.count()) == (PeriodStatus.OPEN, 0, 0)
    else:
        assert (period.status, payouts.count(), grants.count()) == (PeriodStatus.CLOSED, declared, posted)

    took = beat_until(contribution_tasks.close_due_periods, lambda: grants.count() == declared, every=5)
    assert Period.objects.get(pk=period.pk).status == PeriodStatus.CLOSED
    assert payouts.count() == declared and not payouts.exclude(payable_amount=Decimal("10.00")).exists()
    for person in people:
        mine = Decimal("10.00") * (1 if person is people[-1] else EACH)
        assert Account.objects.get(pk=payable[person.pk].pk).balance == mine  # each grant moved money once
    assert Notification.objects.filter(kind="period.closed").count() == len(people)
    call_command("check_ledger")
    assert took < WITHIN


# Round closing ---------------------------------------------------------------------------------------------------

ROUND_POINTS = [
    # (the row held, given the wallets (31, by id) and the refunded funders; the statement the worker is frozen in;
    # what is settled at the kill: buckets, wallets). Early: the round is closed; the unfunded bucket gives its
    # first funder their money back.
    pytest.param(lambda wallets, refunded: (Account, next(w.account_id for w in wallets if w.user == refunded[0])),
                 LOCKING_ACCOUNTS, 0, 0, id="refunding"),
    # Midway through the wallets: each gives what is left in it back to the pool, ten wallets a set (see
    # celery_worker_env): frozen in the second set, the first is settled.
    pytest.param(lambda wallets, refunded: (Account, wallets[15].account_id), LOCKING_ACCOUNTS, 2, EACH,
                 id="midway-wallets"),
    # Late: every bucket and wallet settled; frozen at the COMMIT that marks the round settled and tells everyone
    # (which checks its notifications' foreign key to a participant).
    pytest.param(lambda wallets, refunded: (User, wallets[-1].user_id), "COMMIT", 2, 31, id="marking-settled"),
]


@pytest.mark.parametrize("held, frozen_in, buckets_settled, wallets_settled", ROUND_POINTS)
def test_a_round_close_killed_with_its_worker_is_finished_once(held, frozen_in, buckets_settled, wallets_settled,
                                                               start_celery_worker, collective, coordinator,
                                                               make_round, make_bucket):
    members = [MembershipFactory(collective=collective, user=UserFactory(email=f"m{n}@example.org"),
                                 roles=[Role.MEMBER.value]).user for n in range(30)]
    round = make_round(funding_closes_at=timezone.now() + timedelta(hours=1), leftover_policy="return_to_pool")
    wallets = list(Wallet.objects.filter(round=round).select_related("user").order_by("pk"))
    assert len(wallets) == len(members) + 1
    unfunded = make_bucket(round, title="Unfunded", min_goal="500.00")
    funded = make_bucket(round, title="Funded", min_goal="20.00")
    refunded, funders = members[:3], members[3:5]
    for person in refunded:
        cobudget.allocation_create(bucket=unfunded, actor=person, amount="10.00")
    for person in funders:
        cobudget.allocation_create(bucket=funded, actor=person, amount="10.00")
    assert {wallets[15].user, wallets[-1].user}.isdisjoint(refunded + funders)  # touched by no bucket's settling
    Round.objects.filter(pk=round.pk).update(funding_closes_at=timezone.now() - timedelta(seconds=1))

    hold = Hold(*held(wallets, refunded))
    workers = start_workers(start_celery_worker)
    cocontribution_tasks.close_due_rounds.delay()
    assert frozen_in in kill_at(workers(), hold)
    round.refresh_from_db()
    assert round.status == RoundStatus.CLOSED and round.settled_at is None
    assert Bucket.objects.filter(round=round, settled_at__isnull=False).count() == buckets_settled
    assert Wallet.objects.filter(round=round, settled_at__isnull=False).count() == wallets_settled

    took = beat_until(cocontribution_tasks.close_due_rounds,
                      lambda: Round.objects.get(pk=round.pk).settled_at is not None, every=5)
    unfunded.refresh_from_db()
    funded.refresh_from_db()
    assert (unfunded.status, funded.status) == ("unfunded", "funded")
    refunds = LedgerTransaction.objects.filter(collective=collective, kind="cobudget_refund")
    assert refunds.count() == len(refunded)
    returns = LedgerTransaction.objects.filter(collective=collective, kind="cobudget_wallet_return")
    assert returns.count() == len(wallets) and not Wallet.objects.filter(round=round, settled_at=None).exists()
    assert not Account.objects.filter(pk__in=[w.account_id for w in wallets]).exclude(balance=0).exists()
    given = Decimal("10.00") * len(funders)
    assert cobudget.pool_account(collective).balance == Decimal("100.00") * len(wallets) - given  # returned once
    assert Notification.objects.filter(kind="round.closed").count() == len(wallets)
    call_command("check_ledger")
    assert took < WITHIN
