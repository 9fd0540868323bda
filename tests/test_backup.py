"""A backup restores: pg_dump of a database in use, pg_restore into a fresh one, and the books still check out."""

import shutil
import subprocess
import uuid

import psycopg
import pytest
from django.conf import settings

from tests.test_migrations import _manage, scratch_database_url  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow


def _server() -> dict:
    database = settings.DATABASE_OWNER  # the tests' own role may not create databases
    return dict(host=database["HOST"] or "127.0.0.1", port=database["PORT"] or 5432,
                user=database["USER"] or "postgres")


@pytest.fixture
def restored_database_url():
    server = _server()
    name = f"restored_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield name, f"postgres://{server['user']}@{server['host']}:{server['port']}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as connection:
        connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="PostgreSQL's client tools are not installed")
def test_a_dump_of_the_demo_restores_into_a_fresh_database_whose_ledger_checks_out(
        scratch_database_url, restored_database_url, tmp_path):  # noqa: F811
    _manage(scratch_database_url, "migrate", "--noinput")
    _manage(scratch_database_url, "seed_demo")
    dump = tmp_path / "contrib_budget.dump"
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", scratch_database_url], check=True,
                   timeout=300)
    name, url = restored_database_url
    subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={url}", str(dump)], check=True,
                   timeout=300)
    _manage(url, "check_ledger")
    _manage(url, "migrate", "--check")
    counts = "SELECT (SELECT count(*) FROM budgets_entry), (SELECT count(*) FROM contributions_contribution)"
    with psycopg.connect(scratch_database_url) as original, psycopg.connect(url) as restored:
        assert original.execute(counts).fetchone() == restored.execute(counts).fetchone() != (0, 0)
