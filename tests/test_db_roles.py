"""The application's database role owns nothing: whatever runs as it cannot get round the ledger's guards.

The whole suite connects as that role (tests/conftest.py, django_db_setup), as the application does.
"""

import os
import subprocess
import sys
import uuid
from decimal import Decimal
from urllib.parse import quote

import psycopg
import pytest
from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction

from budgets.ledger import account_get_or_create, transfer
from budgets.models import Account, AccountKind
from contrib_budget.db_roles import APP_PRIVILEGES

OWNER = settings.DATABASE_OWNER


def _execute(sql: str, params=()) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def accounts(collective):
    source = account_get_or_create(collective=collective, kind=AccountKind.FUNDING_SOURCE, code="grant", name="Grant")
    budget = account_get_or_create(collective=collective, kind=AccountKind.BUDGET, code="budget", name="Budget")
    transfer(collective=collective, source=source, destination=budget, amount=Decimal("100.00"), kind="funding")
    return source, budget


def test_the_suite_connects_as_a_role_that_owns_nothing_and_is_nobody_else(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls"
                       " FROM pg_roles WHERE rolname = current_user")
        role, *powers = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles"
                       " WHERE rolname = current_user)")
        owned = cursor.fetchone()[0]
        cursor.execute("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'budgets_entry'")
        entry_owner = cursor.fetchone()[0]
        cursor.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')", [entry_owner])
        member_of_owner = cursor.fetchone()[0]
    assert role != OWNER["USER"] and role != entry_owner
    assert powers == [False] * 5 and owned == 0 and not member_of_owner


@pytest.mark.parametrize(("sql", "refusal"), [
    ("TRUNCATE budgets_entry, budgets_ledgertransaction CASCADE", "permission denied for table budgets_entry"),
    ("TRUNCATE budgets_account CASCADE", "permission denied for table budgets_account"),
    ("UPDATE budgets_entry SET amount = amount * 2", "permission denied for table budgets_entry"),
    ("DELETE FROM budgets_entry", "permission denied for table budgets_entry"),
    ("UPDATE budgets_ledgertransaction SET memo = 'x'", "permission denied for table budgets_ledgertransaction"),
    ("DELETE FROM budgets_ledgertransaction", "permission denied for table budgets_ledgertransaction"),
    ("DELETE FROM budgets_account", "permission denied for table budgets_account"),
    ("UPDATE members_auditevent SET action = 'nothing'", "permission denied for table members_auditevent"),
    ("ALTER TABLE budgets_entry DISABLE TRIGGER entry_append_only", "must be owner of table budgets_entry"),
    ("ALTER TABLE budgets_entry DISABLE TRIGGER ALL", "must be owner of table budgets_entry"),
    ("ALTER TABLE budgets_account DISABLE TRIGGER account_balance_follows_entries",
     "must be owner of table budgets_account"),
    ("DROP TRIGGER entry_transaction_balanced ON budgets_entry", "must be owner of relation budgets_entry"),
    ("ALTER TABLE budgets_account DROP CONSTRAINT account_balance_not_negative",
     "must be owner of table budgets_account"),
    ("CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS 'BEGIN RETURN NEW; END' LANGUAGE plpgsql",
     "permission denied for schema public"),
    ("SET session_replication_role = replica", 'permission denied to set parameter "session_replication_role"'),
    ("CREATE TABLE budgets_shadow (id int)", "permission denied for schema public"),
    ("INSERT INTO django_migrations (app, name, applied) VALUES ('budgets', '9999_fake', now())",
     "permission denied for table django_migrations"),
])
def test_the_application_role_may_not_get_round_the_ledger_guards(accounts, sql, refusal):
    with pytest.raises(DatabaseError, match=refusal):
        _execute(sql)
    assert Account.objects.get(pk=accounts[1].pk).balance == Decimal("100.00")


def test_a_cached_balance_moves_only_to_its_entries_total(collective, accounts):
    source, budget = accounts
    with pytest.raises(IntegrityError, match="moves only with its entries: 101.00 is not their total, 100.00"):
        _execute("UPDATE budgets_account SET balance = balance + 1 WHERE id = %s", [budget.pk])
    with pytest.raises(IntegrityError, match="moves only with its entries"), transaction.atomic():
        Account.objects.filter(pk=budget.pk).update(balance=Decimal("0.00"))
    with pytest.raises(IntegrityError, match="moves only with its entries"), transaction.atomic():
        Account.objects.create(collective=collective, kind=AccountKind.WALLET, code="rich", name="Rich", balance=50,
                               currency=collective.currency)
    # Setting each balance to its entries' total is what the ledger does (and may be done set-wise).
    _execute("UPDATE budgets_account a SET balance = (SELECT COALESCE(SUM(amount), 0) FROM budgets_entry e"
             " WHERE e.account_id = a.id) WHERE a.collective_id = %s", [collective.pk])
    assert [a.balance for a in Account.objects.filter(pk__in=[source.pk, budget.pk]).order_by("pk")] == [
        Decimal("-100.00"), Decimal("100.00")]
    transfer(collective=collective, source=budget, destination=source, amount=Decimal("40.00"), kind="refund")
    assert Account.objects.get(pk=budget.pk).balance == Decimal("60.00")


def test_every_model_is_given_its_privileges_in_one_place():
    tables = {model._meta.label: model._meta.db_table for model in apps.get_models(include_auto_created=True)}
    assert sorted(tables) == sorted(APP_PRIVILEGES)
    assert all(set(extra) <= {"UPDATE", "DELETE"} for extra in APP_PRIVILEGES.values())
    # What the ledger keeps forever, the application may only read and add to.
    for label in ("budgets.Entry", "budgets.LedgerTransaction", "members.AuditEvent", "accounting.IssuedDocument"):
        assert APP_PRIVILEGES[label] == ()


@pytest.fixture
def scratch_database():
    """An empty database of its own and a role name no one uses; both gone afterwards."""
    server = dict(host=OWNER["HOST"] or "127.0.0.1", port=OWNER["PORT"] or 5432, user=OWNER["USER"] or "postgres",
                  password=OWNER["PASSWORD"] or None)
    name = f"roles_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield server, name
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.execute(f'DROP ROLE IF EXISTS "{name}_app"')


def test_migrate_runs_as_the_owner_and_the_application_then_runs_as_its_own_role(scratch_database):
    """What docker-compose and the quick start do: `migrate` with both URLs creates the application's role and
    grants it its privileges; the demo is then seeded, and the books checked, as that role."""
    server, name = scratch_database
    owner_url = (f"postgres://{quote(server['user'], safe='')}:{quote(server['password'] or '', safe='')}"
                 f"@{server['host']}:{server['port']}/{name}")
    app_url = f"postgres://{name}_app:app-password@{server['host']}:{server['port']}/{name}"
    env = {**os.environ, "DATABASE_URL": app_url, "DATABASE_OWNER_URL": owner_url}

    def manage(*arguments: str) -> str:
        result = subprocess.run([sys.executable, "manage.py", *arguments], cwd=settings.BASE_DIR, env=env,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"manage.py {' '.join(arguments)} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    assert f"Granted the role {name}_app its privileges" in manage("migrate", "--no-input")
    manage("seed_demo")
    manage("check_ledger")
    assert "Granted" in manage("migrate", "--no-input")  # again: nothing to migrate, the grants stay exact

    with psycopg.connect(dbname=name, **server) as owner:
        assert owner.execute("SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c JOIN pg_namespace n"
                             " ON n.oid = c.relnamespace WHERE nspname = 'public'").fetchall() == [(server["user"],)]
    with psycopg.connect(app_url) as application:
        assert application.execute("SELECT count(*) FROM budgets_entry").fetchone()[0] > 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            application.execute("TRUNCATE budgets_entry CASCADE")
