"""PostgreSQL restarted under load: every request answers 2xx or a clean 503, no money moves halfway, and the
application serves again by itself.

A private PostgreSQL cluster (the binaries of pgserver, as in the quick start) listens on a free port; it is
migrated as its owner, which grants the application's role its privileges, as in the quick start. gunicorn serves
the application from it, as the application's role, with a connection per request (CONN_MAX_AGE=0, as shipped) or
persistent ones (CONN_MAX_AGE=60). Threads record fundings through the API and read the budget through the API and
its page (with a session) while `pg_ctl restart -m fast` restarts the cluster; then the cluster restarts once more
while no request runs, which leaves every persistent connection stale.
"""

import http.client
import itertools
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import psutil
import psycopg
import pytest
from django.conf import settings

from contrib_budget.quickstart import APP_ROLE, DATABASE_NAME, create_database

pytestmark = pytest.mark.slow

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")  # pgserver's lock falls back to /tmp
    pytest.importorskip("pgserver")
from pgserver import _commands as postgres_commands  # noqa: E402
from pgserver.utils import ensure_prefix_permissions, ensure_user_exists  # noqa: E402

logging.getLogger("pgserver").setLevel(logging.WARNING)  # it logs every command it runs

OWNER = "postgres"
# PostgreSQL refuses to run as root: then it runs as the user pgserver creates for the quick start.
SYSTEM_USER = "pgserver" if os.geteuid() == 0 else None
WRITERS, READERS = 4, 2
GUNICORN_WORKERS = 2
REQUEST_TIMEOUT = 20.0  # an answer slower than this is a hang
WAIT_TIMEOUT = 60.0  # only a failing run waits this long
MAX_REQUESTS_PER_THREAD = 2000
MAX_RESTARTS = 3  # until one restart meets a request in flight (the first one nearly always does)
SUCCESSES_BEFORE_RESTART = 10
SUCCESSES_AFTER_RESTART = 5  # money-moving writes, API reads and pages, each


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT_TIMEOUT,
               alive: Callable[[], None] = lambda: None, details: Callable[[], str] = str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s. {details()}")
        time.sleep(0.05)


def manage(env: dict, *arguments: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *arguments], cwd=settings.BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"manage.py {' '.join(arguments)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


CONN_MAX_AGES = {"connection-per-request": "0", "persistent-connections": "60"}


@dataclass
class Cluster:
    directory: Path
    port: int
    seeded: dict = field(default_factory=dict)  # for each setting of CONN_MAX_AGE, its collective

    @property
    def pgdata(self) -> Path:
        return self.directory / "pgdata"

    def url(self, role: str) -> str:
        return f"postgres://{role}@127.0.0.1:{self.port}/{DATABASE_NAME}"

    def env(self) -> dict[str, str]:
        """The environment of the application's processes: the owner migrates, the application's role serves."""
        return {**os.environ, "DATABASE_URL": self.url(APP_ROLE), "DATABASE_OWNER_URL": self.url(OWNER),
                "DEBUG": "0", "SECRET_KEY": "database-restart-test", "ALLOWED_HOSTS": "127.0.0.1",
                "CELERY_TASK_ALWAYS_EAGER": "1", "EMAIL_URL": "memorymail://", "LOG_LEVEL": "WARNING"}

    def pg_ctl(self, *arguments: str) -> None:
        postgres_commands.pg_ctl(["-w", "-t", "60", *arguments], pgdata=self.pgdata, user=SYSTEM_USER, timeout=90)

    def log(self) -> str:
        path = self.directory / "postgres.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A PostgreSQL of our own on a free port, migrated, with the application's role: restarting it touches no one
    else. Stopped and deleted afterwards, whatever happened."""
    directory = Path(tempfile.mkdtemp(prefix="cb-db-restart-"))
    cluster = Cluster(directory, free_port())
    cluster.pgdata.mkdir()
    started = False
    try:
        if SYSTEM_USER:
            entry = ensure_user_exists(SYSTEM_USER)
            ensure_prefix_permissions(cluster.pgdata)
            for path in (directory, cluster.pgdata):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        postgres_commands.initdb(["--auth=trust", "--encoding=utf8", "--no-sync", "-U", OWNER], pgdata=cluster.pgdata,
                                 user=SYSTEM_USER, timeout=120)
        options = f"-c listen_addresses=127.0.0.1 -p {cluster.port} -c unix_socket_directories='' -c fsync=off"
        started = True
        cluster.pg_ctl("-l", str(directory / "postgres.log"), "-o", options, "start")
        create_database(f"postgres://{OWNER}@127.0.0.1:{cluster.port}/postgres", DATABASE_NAME)
        # As the owner, which grants APP_ROLE its privileges; then as APP_ROLE, a collective for each app.
        manage(cluster.env(), "migrate", "--no-input", "-v0", "--skip-checks")
        slugs = ",".join(f"restart-{conn_max_age}" for conn_max_age in CONN_MAX_AGES.values())
        seeded = manage({**cluster.env(), "SEED_SLUGS": slugs}, "shell", "-c", SEED)
        cluster.seeded = json.loads(seeded.splitlines()[-1])
        yield cluster
    finally:
        if started:
            try:
                cluster.pg_ctl("-m", "immediate", "stop")
            except subprocess.CalledProcessError:
                pass  # not running
        shutil.rmtree(directory, ignore_errors=True)


SEED = """
import json, os
from datetime import date
from decimal import Decimal
from django.conf import settings
from django.test import Client
from django.urls import reverse
from budgets.services import budget_create
from members.models import User
from members.services import collective_create, token_create

seeded = {}
for slug in os.environ["SEED_SLUGS"].split(","):
    coordinator = User.objects.create_user(f"{slug}@example.org", name="Coordinator")
    collective = collective_create(creator=coordinator, name=slug, slug=slug)
    budget = budget_create(collective=collective, actor=coordinator, name="Restart", period_kind="month",
                           starts_on=date(2025, 1, 1), ends_on=date(2030, 12, 31),
                           amount_per_period=Decimal("100.00"), auto_close_after_days=2)
    _token, key = token_create(user=coordinator, name="load")
    browser = Client()
    browser.force_login(coordinator)
    seeded[slug] = {"collective": collective.pk, "slug": slug, "budget": budget.pk, "token": key,
                    "session": browser.cookies[settings.SESSION_COOKIE_NAME].value,
                    "page": reverse("budget_detail", args=[slug, budget.pk])}
print(json.dumps(seeded))
"""


@dataclass
class App:
    port: int
    process: subprocess.Popen
    log_path: Path
    collective_id: int
    budget_id: int
    budget_path: str
    fundings_path: str
    page_path: str
    token: str
    session: str

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")

    def workers(self) -> set[int]:
        return {child.pid for child in psutil.Process(self.process.pid).children()}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]


@pytest.fixture(params=list(CONN_MAX_AGES.values()), ids=list(CONN_MAX_AGES))
def app(request, cluster, tmp_path) -> Iterator[App]:
    """gunicorn serving a collective of its own (a coordinator with an API token and a session, a budget without
    funding), stopped afterwards whatever happened."""
    conn_max_age = request.param
    env = cluster.env()
    seeded = cluster.seeded[f"restart-{conn_max_age}"]
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    threads = WRITERS + READERS
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "contrib_budget.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", str(GUNICORN_WORKERS), "--worker-class", "gthread", "--threads", str(threads),
             "--timeout", "60", "--preload"],
            cwd=settings.BASE_DIR, env={**env, "CONN_MAX_AGE": conn_max_age}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"/api/v1/collectives/{seeded['slug']}/budgets/{seeded['budget']}/"
    app = App(port, process, log_path, seeded["collective"], seeded["budget"], base, base + "fundings/",
              seeded["page"], seeded["token"], seeded["session"])
    try:
        wait_until(lambda: call(app, "GET", app.budget_path).status == 200, "gunicorn answers",
                   alive=app.check_alive)
        # The first worker may answer before the master has forked the second one (on a busy machine).
        wait_until(lambda: len(app.workers()) == GUNICORN_WORKERS, "both gunicorn workers run", alive=app.check_alive)
        yield app
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # nothing to save; its graceful stop takes seconds
        except ProcessLookupError:
            pass
        process.wait()


@dataclass(frozen=True)
class Answer:
    method: str
    path: str
    started: float
    finished: float
    status: int | None  # None: no answer (refused, reset, timed out)
    content_type: str = ""
    retry_after: str | None = None
    body: bytes = b""
    error: str = ""
    source: str = ""  # the funding's source, for a POST

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")

    def describe(self) -> str:
        return f"{self.method} {self.path} {self.status} {self.content_type} {self.error} {self.body[:300]!r}"


def call(app: App, method: str, path: str, payload: dict | None = None, source: str = "") -> Answer:
    """One request on a connection of its own: the API with the token, pages with the session's cookie."""
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", app.port, timeout=REQUEST_TIMEOUT)
    if path.startswith("/api/"):
        headers = {"Authorization": f"Token {app.token}", "Accept": "application/json"}
    else:
        headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={app.session}", "Accept": "text/html"}
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Answer(method, path, started, time.monotonic(), response.status, response.getheader("Content-Type", ""),
                      response.getheader("Retry-After"), response.read(), source=source)
    except (OSError, http.client.HTTPException) as error:
        return Answer(method, path, started, time.monotonic(), None, error=repr(error), source=source)
    finally:
        connection.close()


class Load:
    """Writers record fundings of 1.00 through the API, each with a source of its own; readers read the budget and
    its fundings through the API, and the budget's page with a session (its middleware and context processors
    query the database too). Until stopped, or MAX_REQUESTS_PER_THREAD each."""

    def __init__(self, app: App):
        self.app = app
        self.answers: list[Answer] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.write, args=(n,)) for n in range(WRITERS)]
        self.threads += [threading.Thread(target=self.read, args=(n,)) for n in range(READERS)]

    def record(self, answer: Answer) -> None:
        with self.lock:
            self.answers.append(answer)

    def write(self, writer: int) -> None:
        for n in range(MAX_REQUESTS_PER_THREAD):
            if self.stopping.is_set():
                return
            source = f"load {writer}-{n}-{time.monotonic_ns()}"
            self.record(call(self.app, "POST", self.app.fundings_path,
                             {"source": source, "amount": "1.00", "status": "received"}, source=source))

    def read(self, reader: int) -> None:
        paths = itertools.cycle([self.app.budget_path, self.app.page_path, self.app.fundings_path + "?page_size=5"])
        for _n, path in zip(range(MAX_REQUESTS_PER_THREAD), paths, strict=False):
            if self.stopping.is_set():
                return
            self.record(call(self.app, "GET", path))

    def successes(self, method: str, since: float = 0.0, api: bool = True) -> int:
        with self.lock:
            return sum(1 for a in self.answers if a.method == method and a.api == api and a.ok and a.started >= since)

    def failures(self) -> str:
        with self.lock:
            return "Last failures: " + "; ".join(a.describe() for a in self.answers if not a.ok)[-2000:]

    def unavailable(self) -> int:
        with self.lock:
            return sum(1 for a in self.answers if a.status == 503)

    def recovered(self, since: float) -> bool:
        """Money-moving writes, API reads and pages succeed again."""
        return all(self.successes(method, since, api) >= SUCCESSES_AFTER_RESTART
                   for method, api in (("POST", True), ("GET", True), ("GET", False)))

    @contextmanager
    def running(self) -> Iterator["Load"]:
        for thread in self.threads:
            thread.start()
        try:
            yield self
        finally:
            self.stopping.set()
            for thread in self.threads:
                thread.join(REQUEST_TIMEOUT + 5)
        assert not any(thread.is_alive() for thread in self.threads), "a request hung"


def test_a_database_restart_under_load_fails_requests_cleanly_moves_no_money_halfway_and_heals(cluster, app):
    workers = app.workers()
    load = Load(app)
    restarts: list[tuple[float, float]] = []  # when each restart began and when the cluster was ready again
    with load.running():
        wait_until(lambda: load.successes("POST") >= SUCCESSES_BEFORE_RESTART, "fundings recorded before the restart",
                   alive=app.check_alive, details=load.failures)
        while len(restarts) < MAX_RESTARTS:
            began = time.monotonic()
            cluster.pg_ctl("-m", "fast", "restart")
            ready = time.monotonic()
            restarts.append((began, ready))
            # Healed: new requests succeed again, from the same processes.
            wait_until(partial(load.recovered, since=ready), "requests succeed after the restart",
                       alive=app.check_alive, details=load.failures)
            if load.unavailable():
                break
    # Restarted while idle: every connection the processes keep (CONN_MAX_AGE) is stale, and none may fail a request.
    cluster.pg_ctl("-m", "fast", "restart")
    after_idle_restart = Load(app)
    with after_idle_restart.running():
        wait_until(lambda: after_idle_restart.recovered(since=0), "requests after an idle restart",
                   alive=app.check_alive, details=after_idle_restart.failures)

    log = f"\ngunicorn:\n{app.log()}\npostgres:\n{cluster.log()}"
    assert load.unavailable(), f"{len(restarts)} restarts met no request: nothing was tested{log}"
    # Every answer is a success or a clean 503: in the API's error shape under /api/, the short page elsewhere. No
    # 500, no dropped connection, no hang.
    for answer in load.answers:
        assert answer.ok or answer.status == 503, answer.describe() + log
        if answer.status == 503:
            assert answer.retry_after, answer.describe()
            if answer.api:
                assert answer.content_type.startswith("application/json"), answer.describe()
                body = json.loads(answer.body)
                assert set(body) == {"detail", "code", "fields"} and body["code"] == "service_unavailable", body
            else:
                assert answer.content_type.startswith("text/html"), answer.describe()
    # A request that did not overlap a restart succeeds: nothing stays broken.
    for answer in load.answers:
        if not any(answer.started <= ready and answer.finished >= began for began, ready in restarts):
            assert answer.ok, f"outside the restarts: {answer.describe()}{log}"
    for answer in after_idle_restart.answers:
        assert answer.ok, f"after an idle restart: {answer.describe()}{log}"
    assert app.workers() == workers, "gunicorn's workers were replaced"

    # No partial money movement: exactly the fundings answered 201 exist, each with its ledger transaction, and the
    # books check out.
    answers = load.answers + after_idle_restart.answers
    created = {a.source for a in answers if a.method == "POST" and a.status == 201}
    with psycopg.connect(cluster.url(OWNER)) as connection:
        stored = {source for (source,) in connection.execute(
            "SELECT source FROM budgets_funding WHERE budget_id = %s", [app.budget_id])}
        (transactions,) = connection.execute(
            "SELECT count(*) FROM budgets_ledgertransaction WHERE collective_id = %s AND kind = 'funding'",
            [app.collective_id]).fetchone()
    assert stored == created, f"stored without 201: {stored - created}; 201 without a funding: {created - stored}"
    assert transactions == len(created)
    assert "Ledger OK" in manage(cluster.env(), "check_ledger", "--skip-checks")
    print(f"{len(answers)} answers, {len(created)} fundings, {load.unavailable()} answered 503, "
          f"{len(restarts)} restart(s) under load")
