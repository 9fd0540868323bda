import os
import secrets
import subprocess
import sys
import threading
import time
from datetime import date
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import translation
from rest_framework.test import APIClient

from budgets.ledger_audit import granted_total_violations
from budgets.models import Budget, PeriodKind, RateLevel
from cobudget import services as cobudget
from contrib_budget import scopes
from contrib_budget.db_roles import app_role_grant, connected_as_owner
from contributions.demand import demand_total_violations
from members.models import Role

from .factories import CollectiveFactory, MembershipFactory, UserFactory

# The tests arrange and check data as the system does, across collectives (contrib_budget.scopes), in their own
# threads too; every request they make, through the test client or a live server, runs in its own scope as in
# production (CollectiveMiddleware starts each one in none).
scopes.enter(scopes.EVERY)
_thread_run = threading.Thread.run


def _run_as_the_system(thread: threading.Thread) -> None:
    with scopes.every_collective():
        _thread_run(thread)


threading.Thread.run = _run_as_the_system  # type: ignore[method-assign]

PASSWORD = "correct horse battery staple"
MONDAY = date(2025, 3, 3)


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_use_migrations, django_db_keepdb,
                    django_db_createdb, django_db_modify_db_settings):
    """pytest-django's, with the application's two database roles: the test database is created, migrated and
    flushed (TRUNCATE, after each transactional test) as the owner role, and the tests, the live server and the
    Celery workers connect as a role that owns nothing, with what contrib_budget/db_roles.py grants it.

    That role is DATABASE_URL's when DATABASE_OWNER_URL names another. With a single role (the default, as in
    CI) the suite makes its own, `<test database>_app`, and drops it at the end."""
    from django.test import TransactionTestCase
    from django.test.utils import setup_databases, teardown_databases
    from pytest_django.fixtures import _disable_migrations, _get_databases_for_setup

    if not django_db_use_migrations:
        _disable_migrations()
    aliases, serialized_aliases = _get_databases_for_setup(request.session.items)
    application = django_settings.DATABASES["default"]  # the very dict the connections are made from
    own_role = application["USER"] == django_settings.DATABASE_OWNER["USER"]
    with django_db_blocker.unblock(), connected_as_owner():
        db_cfg = setup_databases(verbosity=request.config.option.verbose, interactive=False,
                                 keepdb=django_db_keepdb and not django_db_createdb, aliases=aliases,
                                 serialized_aliases=serialized_aliases)
        role, password = application["USER"], application["PASSWORD"]
        if own_role:
            role, password = f"{application['NAME'][:59]}_app", secrets.token_urlsafe(16)
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
                if cursor.fetchone():
                    cursor.execute(f"ALTER ROLE {connection.ops.quote_name(role)} PASSWORD %s", [password])
        app_role_grant(role=role, password=password)
    saved = {"USER": application["USER"], "PASSWORD": application["PASSWORD"]}
    application.update(USER=role, PASSWORD=password)
    connection.close()  # from now on, connections are the application's role's

    # Django flushes after a transactional test with TRUNCATE, which only the owner may do.
    flush = TransactionTestCase._fixture_teardown

    def _fixture_teardown_as_owner(self):
        with connected_as_owner():
            flush(self)

    TransactionTestCase._fixture_teardown = _fixture_teardown_as_owner
    yield
    TransactionTestCase._fixture_teardown = flush

    if not django_db_keepdb:
        with django_db_blocker.unblock(), connected_as_owner():
            try:
                teardown_databases(db_cfg, verbosity=request.config.option.verbose)
                if own_role:
                    with connection._nodb_cursor() as cursor:  # the test database is gone
                        cursor.execute(f"DROP ROLE IF EXISTS {connection.ops.quote_name(role)}")
            except Exception as exc:  # as pytest-django's
                request.node.warn(pytest.PytestWarning(f"Error when trying to teardown test databases: {exc!r}"))
    application.update(saved)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Hashing with PBKDF2 costs ~0.3 s a user; tests need passwords to work, not to resist attacks."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _prepared_queries_compiled_again(settings):
    """Every prepared query (contrib_budget.prepared) is compiled again on each call of the tests, from the values
    of that call, and must give the SQL and the parameters it ran."""
    settings.PREPARED_QUERIES_VERIFY = True


# The fixtures through which a test reaches the database (pytest-django's).
_DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback",
                      "live_server"}


@pytest.fixture(autouse=True)
def _kept_totals_agree_with_their_rows(request):
    """After every test that reached the database, the totals triggers keep equal the sums they stand for: each
    period's, of its declarations (contributions migration 0008); each budget's and period's granted, of their
    payouts (budgets 0014, 0016). Every test that declares, reviews, closes, reverses or corrects checks the
    triggers. A test that makes them differ on purpose marks itself `kept_totals_differ`."""
    reaches_database = request.node.get_closest_marker("django_db") or _DATABASE_FIXTURES & set(request.fixturenames)
    if not reaches_database or request.node.get_closest_marker("kept_totals_differ"):
        yield
        return
    # Set up here, the database is torn down after this fixture's check, not before it.
    request.getfixturevalue("db")
    yield
    assert demand_total_violations() + granted_total_violations() == []


@pytest.fixture
def collective(db):
    return CollectiveFactory(name="La Fabrique", slug="la-fabrique")


@pytest.fixture
def coordinator(collective):
    return MembershipFactory(collective=collective, user=UserFactory(email="alice@example.org", name="Alice"),
                             roles=[Role.COORDINATOR.value, Role.MEMBER.value]).user


@pytest.fixture
def member(collective):
    return MembershipFactory(collective=collective, user=UserFactory(email="bob@example.org", name="Bob"),
                             roles=[Role.MEMBER.value, Role.CONTRIBUTOR.value]).user


@pytest.fixture
def accountant(collective):
    return MembershipFactory(collective=collective, user=UserFactory(email="carol@example.org", name="Carol"),
                             roles=[Role.ACCOUNTANT.value]).user


@pytest.fixture
def outsider(db):
    """Charlie belongs to another collective only."""
    other = CollectiveFactory(name="Ailleurs", slug="ailleurs")
    return MembershipFactory(collective=other, user=UserFactory(email="charlie@example.org", name="Charlie"),
                             roles=[Role.COORDINATOR.value]).user


# A weekly budget with one rate, and round and bucket makers: used by tests/contributions, tests/cobudget and
# the cross-app modules at this level, so they live here rather than being imported from a sub-folder's conftest.
@pytest.fixture
def budget(collective):
    return Budget.objects.create(
        collective=collective, name="Tiers-lieu", period_kind=PeriodKind.WEEK, starts_on=MONDAY,
        amount_per_period=Decimal("1000.00"),
    )


@pytest.fixture
def rate(budget):
    return RateLevel.objects.create(collective=budget.collective, budget=budget, name="Standard",
                                    hourly_rate=Decimal("20.00"))


@pytest.fixture
def make_round(collective, coordinator):
    def make(*, open=True, **fields):
        fields.setdefault("name", "Round 2026")
        fields.setdefault("envelope_policy", "equal")
        fields.setdefault("envelope_amount", Decimal("100.00"))
        round = cobudget.round_create(collective=collective, actor=coordinator, **fields)
        if open:
            round = cobudget.round_open(round=round, actor=coordinator)
        return round

    return make


@pytest.fixture
def make_bucket(coordinator):
    def make(round, *, by=None, min_goal="100.00", max_goal=None, title="Bucket", propose=True, lines=None):
        actor = by or coordinator
        bucket = cobudget.bucket_create(
            round=round, actor=actor, title=title,
            lines=lines or [{"description": "All", "min_amount": min_goal, "max_amount": max_goal}],
        )
        if propose:
            bucket = cobudget.bucket_propose(bucket=bucket, actor=actor)
        return bucket

    return make


@pytest.fixture
def api():
    def client_for(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return client_for


@pytest.fixture
def celery_worker_env() -> dict[str, str]:
    """Extra environment for the worker process; override it in a test module (e.g. EMAIL_URL)."""
    return {}


@pytest.fixture
def start_celery_worker(transactional_db, settings, celery_worker_env):
    """Start real Celery worker processes, consuming through Redis, on the test database (any number: a test may
    kill one and start another). Tasks sent meanwhile go through the broker instead of running eagerly; data a
    task needs must be committed, hence `transactional_db`."""
    from contrib_budget.celery import app

    database = settings.DATABASES["default"]  # the application's role (see django_db_setup)
    url = "postgres://{USER}:{PASSWORD}@{HOST}:{PORT}/{NAME}".format(
        USER=quote(database["USER"] or "postgres", safe=""), PASSWORD=quote(database["PASSWORD"] or "", safe=""),
        HOST=database["HOST"] or "127.0.0.1", PORT=database["PORT"] or 5432, NAME=database["NAME"],
    )
    env = {**os.environ, "DATABASE_URL": url, "CELERY_TASK_ALWAYS_EAGER": "0", **celery_worker_env}
    env.pop("DATABASE_OWNER_URL", None)  # it names the main database, not the test one; a worker never migrates
    app.control.purge()
    processes = []
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False

    def start():
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "contrib_budget", "worker", "--pool=solo",
             "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel=WARNING"],
            env=env, cwd=settings.BASE_DIR,
        )
        processes.append(process)
        _wait_for_worker(app, process)
        return process

    try:
        yield start
    finally:
        app.conf.task_always_eager = previous
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def celery_worker(start_celery_worker):
    """One real Celery worker process (see `start_celery_worker`)."""
    return start_celery_worker()


def _wait_for_worker(app, process, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("The Celery worker exited while starting.")
        if app.control.ping(timeout=0.5):
            return
    raise RuntimeError("The Celery worker did not answer within %s seconds." % timeout)


@pytest.fixture
def english():
    """Messages in English whatever ran before (the project's language is French)."""
    with translation.override("en"):
        yield
