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


def _payout_links(database_url: str) -> list[tuple]:
    """Each payout with its linked grant and payment transactions, beside the ones its keys name."""
    with psycopg.connect(database_url) as connection:
        return connection.execute("""
            SELECT payout.id, payout.granted > 0, payout.paid_on IS NOT NULL,
                   payout.grant_transaction_id, grant_txn.id, payout.payment_transaction_id, paid_txn.id
              FROM budgets_payout AS payout
              LEFT JOIN budgets_ledgertransaction AS grant_txn
                     ON grant_txn.idempotency_key = 'grant:' || payout.contribution_id
              LEFT JOIN budgets_ledgertransaction AS paid_txn ON paid_txn.idempotency_key = 'paid:' || payout.id
             ORDER BY payout.id""").fetchall()


def test_payouts_moved_to_budgets_point_at_the_transactions_that_posted_and_paid_them(scratch_database_url):
    _manage(scratch_database_url, "migrate", "--noinput")
    _manage(scratch_database_url, "seed_demo")
    links = _payout_links(scratch_database_url)
    assert any(paid for _pk, granted, paid, *_ in links if granted), "the demo should hold paid payouts"
    for _pk, granted, paid, grant_link, grant_keyed, payment_link, payment_keyed in links:
        assert grant_link == grant_keyed and (grant_link is not None) == granted
        assert payment_link == payment_keyed and (payment_link is not None) == (paid and granted)

    # Back to before the move (the payouts' table returns to contributions, unlinked), then forward again: the
    # migration links every payout to its transactions from their keys, as the services did since.
    _manage(scratch_database_url, "migrate", "budgets", "0007", "--noinput")
    _manage(scratch_database_url, "migrate", "--noinput")
    assert _payout_links(scratch_database_url) == links
