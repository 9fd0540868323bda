"""What the batch cases seed, in a few set-based statements: people, then collectives with them as members.

Each repetition of a case works on a collective of its own, so that ours and the limit each create the accounts
a first closing creates. The people are shared: a collective's members are one INSERT ... SELECT.
"""

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from django.db import connection

from members.models import Collective, Membership, Role, User

# The seeded people read these in the app only: the bench would otherwise queue thousands of emails into the
# broker, which no case measures and a worker would then try to send.
QUIET_KINDS = ["period.closed", "export.ready"]


@dataclass(frozen=True)
class People:
    token: str
    coordinator: User
    ids: list[int]


def people_seed(count: int) -> People:
    """`count` people (and a coordinator) with unique addresses; a few statements whatever the count."""
    token = secrets.token_hex(4)
    coordinator = User.objects.create(email=f"bench-{token}-coordinator@example.org", name="Coordinator")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO members_user (password, is_superuser, email, name, is_staff, is_active, date_joined,"
            " language) SELECT '!', false, %s || i || '@example.org', 'Person ' || i, false, true, now(), ''"
            " FROM generate_series(1, %s) AS i RETURNING id", [f"bench-{token}-", count])
        ids = sorted(row[0] for row in cursor.fetchall())
        cursor.execute(
            "INSERT INTO notifications_notificationpreference (user_id, kind, email, in_app)"
            " SELECT person, kind, 'off', true FROM unnest(%s::bigint[]) AS person, unnest(%s::text[]) AS kind",
            [[*ids, coordinator.pk], QUIET_KINDS])
    return People(token, coordinator, ids)


def collective_seed(people: People, label: str) -> Collective:
    """A collective whose coordinator (also its accountant) is `people.coordinator` and whose members are all
    the others."""
    collective = Collective.objects.create(name=f"Bench {label}", slug=f"bench-{people.token}-{label}"[:60])
    Membership.objects.create(collective=collective, user=people.coordinator,
                              roles=[Role.COORDINATOR.value, Role.ACCOUNTANT.value])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO members_membership (roles, joined_at, collective_id, user_id)"
            " SELECT %s::varchar[], now(), %s, person FROM unnest(%s::bigint[]) AS person",
            [[Role.MEMBER.value, Role.CONTRIBUTOR.value], collective.pk, people.ids])
    return collective


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def sql_timed(database_url: str, statements: Callable[[psycopg.Cursor], object]) -> float:
    """Seconds `statements` take on a psycopg connection of their own, in one transaction committed at the end
    (the connection is opened before the clock starts, as the app's is)."""
    with psycopg.connect(database_url) as conn:
        start = time.perf_counter()
        with conn.transaction(), conn.cursor() as cursor:
            statements(cursor)
        return time.perf_counter() - start


def balances_moved(cursor: psycopg.Cursor, transactions: str) -> None:
    """Every account the `transactions` (a query of their ids) touch moves by its entries' total, in one UPDATE;
    the triggers of budgets 0007 check each new balance against its entries."""
    cursor.execute(
        "CREATE TEMP TABLE moved ON COMMIT DROP AS SELECT account_id, sum(amount) AS delta FROM budgets_entry"
        f" WHERE transaction_id IN ({transactions}) GROUP BY account_id")
    cursor.execute("SELECT id FROM budgets_account WHERE id IN (SELECT account_id FROM moved) ORDER BY id FOR UPDATE")
    cursor.execute("UPDATE budgets_account a SET balance = a.balance + m.delta FROM moved m WHERE a.id = m.account_id")


def analyzed(*tables: str) -> None:
    """Fresh planner statistics after a bulk seed, as autovacuum has them by the time people close or export:
    without them the planner may take a few thousand rows for none. A role that does not own the tables is only
    warned, and keeps the statistics it had."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(tables))
