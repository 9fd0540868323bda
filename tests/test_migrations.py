"""Migrations are committed and reversible."""

import os
import subprocess
import sys
import uuid

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command

PROJECT_APPS = ["members", "contrib_budget", "notifications", "budgets", "contributions", "cobudget", "accounting"]


def test_models_and_migrations_agree(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.fixture
def scratch_database_url():
    """An empty database of its own, so unapplying migrations touches no other test."""
    database = settings.DATABASE_OWNER  # the tests' own role may not create databases
    name = f"migrations_{uuid.uuid4().hex[:10]}"
    server = dict(host=database["HOST"] or "127.0.0.1", port=database["PORT"] or 5432,
                  user=database["USER"] or "postgres", password=database["PASSWORD"] or None)
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://{server['user']}@{server['host']}:{server['port']}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as connection:
        connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _manage(database_url: str, *arguments: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "DATABASE_OWNER_URL": database_url}  # one role
    result = subprocess.run([sys.executable, "manage.py", *arguments], cwd=settings.BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"manage.py {' '.join(arguments)} failed:\n{result.stdout}\n{result.stderr}"


def test_every_migration_of_the_project_can_be_unapplied_and_reapplied(scratch_database_url):
    _manage(scratch_database_url, "migrate", "--noinput")
    for app in reversed(PROJECT_APPS):
        _manage(scratch_database_url, "migrate", app, "zero", "--noinput")
    _manage(scratch_database_url, "migrate", "--noinput")
