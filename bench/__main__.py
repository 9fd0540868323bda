"""`python -m bench` (`make bench`): seed a fresh database, start the real servers, run every case, print the
table and write bench/results.json.

BENCH_SCALE=smoke|small|large (default small); BENCH_DATABASE_URL (dropped and created again: default
postgres://postgres@127.0.0.1:5432/cb_bench); BENCH_REDIS_URL or REDIS_URL; BENCH_STRICT=1 exits non-zero when
a goal is missed (otherwise only a failure of the harness itself does). `--only allocations,reads` runs the
cases named by one of the words: allocations, declarations, reads, scale-out, batch.
"""

import argparse
import json
import os
import platform
import signal
import sys
import tempfile
import time
import traceback
import warnings
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from .harness import SCALES, Row, Scale, cores

RESULTS = Path(__file__).resolve().parent / "results.json"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/cb_bench"
# The servers and the bench process sign sessions with the same key: a bench-only one, never a secret.
BENCH_SECRET_KEY = "bench-only-not-a-secret"
HTTP_CASES = ("allocations", "declarations", "reads", "scale-out")
# Settings of the caller's environment that would point the bench elsewhere than its own database and Redis.
FOREIGN_SETTINGS = ("DATABASE_OWNER_URL", "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER")


def server_environment(database_url: str, redis_url: str, replay_file: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in FOREIGN_SETTINGS}
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings", DATABASE_URL=database_url, REDIS_URL=redis_url,
        SECRET_KEY=BENCH_SECRET_KEY, DEBUG="0", SECURE_COOKIES="0", ALLOWED_HOSTS="127.0.0.1,localhost",
        CONN_MAX_AGE=os.environ.get("BENCH_CONN_MAX_AGE", "600"), EMAIL_URL="dummymail://",
        LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"), BENCH_REPLAY_FILE=replay_file,
    )
    return env


def recreate_database(database_url: str) -> None:
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def step(label: str) -> float:
    print(f"[bench] {label}", flush=True)
    return time.perf_counter()


def prepare(scale: Scale, database_url: str):
    """A fresh, migrated, seeded database; Django set up in this process on it."""
    started = step(f"fresh database {urlsplit(database_url).path.lstrip('/')}")
    recreate_database(database_url)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from contrib_budget import scopes

    from .seed import seed_bulk, seed_round, settle

    step(f"migrated in {time.perf_counter() - started:.1f} s; seeding at scale {scale.name}")
    started = time.perf_counter()
    seed_bulk(database_url, scale)
    token = scopes.enter(scopes.EVERY)
    try:
        seeded = seed_round(scale)
    finally:
        scopes.leave(token)
    settle(database_url)
    step(f"seeded in {time.perf_counter() - started:.1f} s")
    return seeded


def http_rows(scale: Scale, seeded, database_url: str, env: dict, wanted) -> list[Row]:
    from contrib_budget import scopes

    from .cases import http
    from .servers import Servers

    token = scopes.enter(scopes.EVERY)
    try:
        with Servers(env) as servers:
            ports = [servers.web()]
            servers.worker()
            step(f"gunicorn on port {ports[0]} and a Celery worker are up (logs in {servers.logs})")
            return http.cases(http.Context(scale, seeded, servers, database_url, ports), wanted)
    finally:
        scopes.leave(token)


def batch_rows(scale: Scale, database_url: str) -> list[Row]:
    try:
        from .cases import batch
    except ModuleNotFoundError as error:
        if error.name != "bench.cases.batch":
            raise
        step("no bench/cases/batch.py: the batch cases are skipped")
        return []
    return batch.cases(scale, database_url)


def versions(database_url: str) -> dict:
    with psycopg.connect(database_url) as connection:
        postgres = connection.execute("SHOW server_version").fetchone()[0]
    return {"python": platform.python_version(), "postgres": postgres}


def table(rows: list[Row], scale: Scale) -> str:
    lines = [f"bench at scale {scale.name} on {cores()} cores",
             f"{'case':58} {'ours':>10} {'limit':>10} {'unit':8} {'ratio':>7} {'goal':>7} ok"]
    for row in rows:
        goal = f"{'>=' if row.higher_is_better else '<='}{row.goal:g}"
        extra = f"  violations={row.extra['violations']}" if "violations" in row.extra else ""
        lines.append(f"{row.case[:58]:58} {row.ours:10.1f} {row.limit:10.1f} {row.unit:8} {row.ratio:7.3f}"
                     f" {goal:>7} {'yes' if row.ok else 'NO'}{extra}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated words: run the cases that contain one")
    args = parser.parse_args(argv)
    words = [word.strip() for word in args.only.split(",") if word.strip()]

    def wanted(case: str) -> bool:
        return not words or any(word in case for word in words)

    # Stopped from outside (a CI timeout), still stop the servers: SystemExit unwinds through `Servers`.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    scale = SCALES[os.environ.get("BENCH_SCALE", "small")]
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    replay_file = os.path.join(tempfile.mkdtemp(prefix="bench-"), "replay.json")
    env = server_environment(database_url, redis_url, replay_file)
    for name in FOREIGN_SETTINGS:
        os.environ.pop(name, None)
    os.environ.update(env)
    # WhiteNoise's note that collectstatic never ran (the bench serves no static file), as in the tests.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    print(f"[bench] {cores()} cores, scale {scale.name}", flush=True)

    seeded = prepare(scale, database_url)
    rows: list[Row] = []
    failures: list[str] = []
    groups = []
    if any(wanted(case) for case in HTTP_CASES):
        groups.append(("http", lambda: http_rows(scale, seeded, database_url, env, wanted)))
    if wanted("batch"):
        groups.append(("batch", lambda: batch_rows(scale, database_url)))
    for name, run in groups:
        step(f"{name} cases")
        try:
            rows += run()
        except Exception:  # one group's crash must not hide the others' figures; it still fails the command
            failures.append(f"{name}: {traceback.format_exc()}")
            print(failures[-1], file=sys.stderr, flush=True)

    print(table(rows, scale), flush=True)
    RESULTS.write_text(json.dumps({
        "scale": scale.name, "cores": cores(), "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **versions(database_url), "rows": [row.as_dict() for row in rows], "failures": failures,
    }, indent=2) + "\n")
    print(f"[bench] wrote {RESULTS}", flush=True)
    if failures:
        print(f"[bench] the harness failed in: {', '.join(f.split(':')[0] for f in failures)}", flush=True)
        return 2
    missed = [row.case for row in rows if not row.ok]
    return 1 if missed and os.environ.get("BENCH_STRICT") == "1" else 0


if __name__ == "__main__":
    sys.exit(main())
