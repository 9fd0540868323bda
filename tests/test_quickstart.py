"""The quick start's parts: environment decisions, URLs, and the processes it starts and stops."""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import environ
import psutil
import pytest
import redis
from kombu import Connection

from contrib_budget import quickstart


def test_quickstart_env_forces_debug_and_keeps_a_given_secret_key():
    env = quickstart.quickstart_env({"PATH": "/bin", "DEBUG": "0", "SECRET_KEY": "mine"})

    assert env["DEBUG"] == "1"
    assert env["SECRET_KEY"] == "mine"
    assert env["PATH"] == "/bin"


def test_quickstart_env_gives_a_development_key_when_none_is_set():
    assert quickstart.quickstart_env({})["SECRET_KEY"] == quickstart.DEVELOPMENT_SECRET_KEY


def test_redis_socket_lives_in_var_unless_the_path_is_too_long_for_a_socket():
    assert quickstart.redis_socket_path(Path("/srv/app/var")) == Path("/srv/app/var/redis.sock")

    deep = Path("/srv") / ("d" * 120) / "var"
    socket_path = quickstart.redis_socket_path(deep)
    assert socket_path.parent == Path(tempfile.gettempdir())
    assert len(str(socket_path)) <= quickstart.MAX_SOCKET_PATH


def test_the_embedded_database_is_migrated_as_its_owner_and_used_as_the_application_role():
    urls = quickstart.database_urls("postgresql://postgres:@/contrib_budget?host=/srv/app/var/pgdata")

    assert urls == {"DATABASE_OWNER_URL": "postgresql://postgres:@/contrib_budget?host=/srv/app/var/pgdata",
                    "DATABASE_URL": "postgresql://contrib_budget_app@/contrib_budget?host=/srv/app/var/pgdata"}
    application = environ.Env.db_url_config(urls["DATABASE_URL"])
    assert (application["USER"], application["NAME"], application["OPTIONS"]) == (
        quickstart.APP_ROLE, "contrib_budget", {"host": "/srv/app/var/pgdata"})


def test_app_commands_run_web_on_port_8000_worker_and_beat():
    commands = quickstart.app_commands("/venv/bin/python")

    assert commands["web"] == ["/venv/bin/python", "manage.py", "runserver", "127.0.0.1:8000"]
    assert commands["worker"][1:6] == ["-m", "celery", "-A", "contrib_budget", "worker"]
    assert commands["beat"][1:6] == ["-m", "celery", "-A", "contrib_budget", "beat"]


def test_embedded_redis_serves_django_and_celery_urls_and_stops(tmp_path):
    child, socket_path = quickstart.start_embedded_redis(tmp_path, dict(os.environ))
    try:
        urls = quickstart.redis_urls(socket_path)
        assert redis.Redis.from_url(urls["REDIS_URL"]).ping()
        with Connection(urls["CELERY_BROKER_URL"]) as connection:
            assert connection.default_channel.client.ping()
    finally:
        quickstart.stop(child)
    assert child.process.returncode == 0
    assert not socket_path.exists()
    assert (tmp_path / "redis.rdb").exists()


EMBEDDED_POSTGRES_SCRIPT = """
import sys
from pathlib import Path

import psycopg
from contrib_budget.quickstart import DATABASE_NAME, create_database, embedded_postgres

with embedded_postgres(Path(sys.argv[1])) as url:
    create_database(url, DATABASE_NAME)
    with psycopg.connect(url) as connection:
        print(connection.execute("SELECT current_database()").fetchone()[0])
    print(url)
"""


def test_embedded_postgres_creates_the_database_once_and_stops():
    # In a process of its own, as in the quick start: pgserver also hooks the interpreter's exit.
    with tempfile.TemporaryDirectory() as directory:
        pgdata = Path(directory) / "pgdata"
        result = subprocess.run([sys.executable, "-c", EMBEDDED_POSTGRES_SCRIPT, str(pgdata)],
                                cwd=quickstart.BASE_DIR, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        database, url = result.stdout.split()
        assert database == "contrib_budget"
        config = environ.Env.db_url_config(url)
        assert (config["NAME"], config["OPTIONS"]["host"]) == ("contrib_budget", str(pgdata))
        assert not (pgdata / "postmaster.pid").exists()
        assert not [p for p in psutil.process_iter(["cmdline"]) if str(pgdata) in " ".join(p.info["cmdline"] or [])]


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_stop_ends_the_child_and_everything_it_started():
    child = quickstart.start("shell", ["sh", "-c", "sleep 60 & sleep 60 & wait"], {})
    deadline = time.monotonic() + 5
    while len(grandchildren := psutil.Process(child.process.pid).children()) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)

    quickstart.stop(child)

    assert child.process.returncode is not None
    deadline = time.monotonic() + 5  # a signal is delivered asynchronously to processes we don't reap
    while not all(gone(process.pid) for process in grandchildren):
        assert time.monotonic() < deadline, "a process the child started outlived it"
        time.sleep(0.05)


def test_supervise_reports_the_first_child_that_exits():
    sleeper = quickstart.start("sleeper", ["sleep", "60"], {})
    failing = quickstart.start("failing", [sys.executable, "-c", "raise SystemExit(3)"], {})
    try:
        with pytest.raises(quickstart.ChildExited, match="failing exited with code 3") as raised:
            quickstart.supervise([sleeper, failing])
        assert raised.value.child is failing
    finally:
        quickstart.stop(sleeper)
