"""Seed the bench's database in a few set-based statements (INSERT ... SELECT generate_series), whatever the scale.

The bulk of the data (collectives, people, memberships, budgets and their periods, declarations, the payouts of
the closed periods and the ledger that funds and grants them) is written by SQL with explicit ids; the ledger
respects its triggers (every transaction balanced, every cached balance its entries' total, set by one UPDATE at
the end). Only the hot collective's cobudget round and its hot bucket go through the services: a handful of
objects. Collective 1 ("bench-hot") is the big one: every person is a member and half the declarations are its.
"""

from dataclasses import dataclass
from decimal import Decimal

import psycopg
from django.utils import timezone

from .harness import Scale

HOT_SLUG = "bench-hot"
PERIODS = 12  # per budget, one a month: eleven closed, the current one open
HOURLY_RATE = Decimal("20.00")
ENVELOPE = Decimal("1000000.00")  # each wallet of the hot round: never the limit of the allocation case
HOT_GOAL = Decimal("900000000.00")


@dataclass(frozen=True)
class Seeded:
    """What the cases need to find in the seeded data."""

    collective_id: int
    slug: str
    coordinator_id: int
    budget_id: int
    rate_level_id: int
    closed_period_id: int
    round_id: int
    hot_bucket_id: int
    client_ids: tuple[int, ...]  # people with an API token and a wallet, in order


def api_key(user_id: int) -> str:
    """The API key of a client (the SQL of BULK builds the same, hashed)."""
    return f"bench-key-{user_id}"


def _first_month(months_back: int):
    today = timezone.localdate().replace(day=1)
    year, month = today.year, today.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return today.replace(year=year, month=month)


BULK = [
    # People and collectives.
    """
    INSERT INTO members_user (id, password, is_superuser, email, name, is_staff, is_active, date_joined, language)
    SELECT u, '!', false, 'person' || u || '@bench.invalid', 'Person ' || u, false, true, now(), ''
    FROM generate_series(1, %(people)s) u
    """,
    """
    INSERT INTO members_collective (id, name, slug, currency, locale, timezone, description, created_at)
    SELECT c, CASE WHEN c = 1 THEN 'Bench hot' ELSE 'Bench ' || c END,
           CASE WHEN c = 1 THEN %(hot)s ELSE 'bench-' || c END, 'EUR', 'fr', 'Europe/Paris', '', now()
    FROM generate_series(1, %(collectives)s) c
    """,
    # Person 1 coordinates every collective; everyone is in collective 1; the others share the rest.
    """
    INSERT INTO members_membership (roles, joined_at, collective_id, user_id)
    SELECT CASE WHEN u = 1 THEN ARRAY['coordinator', 'contributor', 'member', 'accountant']
                ELSE ARRAY['contributor', 'member'] END, now(), 1, u
    FROM generate_series(1, %(people)s) u
    UNION ALL
    SELECT ARRAY['coordinator'], now(), c, 1 FROM generate_series(2, %(collectives)s) c
    UNION ALL
    SELECT ARRAY['contributor', 'member'], now(), ((u - 2) %% (%(collectives)s - 1)) + 2, u
    FROM generate_series(2, %(people)s) u WHERE %(collectives)s > 1
    """,
    # One monthly budget per collective, its rate level and its periods.
    """
    INSERT INTO budgets_budget (id, name, description, period_kind, starts_on, amount_per_period, overspend_policy,
                                leftover_policy, allow_custom_rate, required_approvals, created_at, collective_id)
    SELECT c, 'Budget ' || c, '', 'month', %(start)s, 100000.00, 'pro_rata', 'carry_over', false, 1, now(), c
    FROM generate_series(1, %(collectives)s) c
    """,
    """
    INSERT INTO budgets_ratelevel (id, name, hourly_rate, position, budget_id, collective_id)
    SELECT c, 'Standard', %(rate)s, 0, c, c FROM generate_series(1, %(collectives)s) c
    """,
    """
    INSERT INTO budgets_period (id, index, starts_on, ends_on, status, available, closed_at, closed_by_id,
                                budget_id, collective_id)
    SELECT (c - 1) * %(periods)s + k + 1, k, %(start)s::date + make_interval(months => k),
           (%(start)s::date + make_interval(months => k + 1) - interval '1 day')::date,
           CASE WHEN k < %(periods)s - 1 THEN 'closed' ELSE 'open' END,
           CASE WHEN k < %(periods)s - 1 THEN 100000.00 END,
           CASE WHEN k < %(periods)s - 1 THEN %(start)s::date + make_interval(months => k + 1) END,
           CASE WHEN k < %(periods)s - 1 THEN 1 END, c, c
    FROM generate_series(1, %(collectives)s) c, generate_series(0, %(periods)s - 1) k
    """,
    # Declarations: half in collective 1, the rest spread; validated in closed periods, pending in the open one.
    """
    INSERT INTO contributions_contribution (id, performed_on, description, minutes, value_mode, hourly_rate, amount,
        validated_amount, status, decision_reason, attachment, attachment_name, created_at, updated_at, author_id,
        budget_id, collective_id, period_id, rate_level_id)
    SELECT i, %(start)s::date + make_interval(months => k, days => i %% 28), 'Bench work #' || i, minutes,
           'time_rate', %(rate)s, round(minutes * %(rate)s / 60, 2),
           CASE WHEN k < %(periods)s - 1 THEN round(minutes * %(rate)s / 60, 2) END,
           CASE WHEN k < %(periods)s - 1 THEN 'validated' ELSE 'pending' END, '', '', '', now(), now(),
           CASE WHEN c = 1 THEN ((i::bigint * 7919) %% %(people)s) + 1
                ELSE c + (i %% ((%(people)s - c) / (%(collectives)s - 1) + 1)) * (%(collectives)s - 1) END,
           c, c, (c - 1) * %(periods)s + k + 1, c
    FROM (
        SELECT i, i %% %(periods)s AS k, 60 + (i %% 10) * 30 AS minutes,
               CASE WHEN i <= %(declarations)s / 2 OR %(collectives)s = 1 THEN 1 ELSE (i %% %(collectives)s) + 1 END
               AS c
        FROM generate_series(1, %(declarations)s) i
    ) d
    """,
    # Ledger accounts: a funding source and a budget account per collective, a payable account per person paid.
    """
    INSERT INTO budgets_account (id, kind, code, name, currency, allow_negative, balance, created_at, collective_id)
    SELECT c, 'funding_source', 'source:bench', 'Bench', 'EUR', true, 0, now(), c
    FROM generate_series(1, %(collectives)s) c
    UNION ALL
    SELECT %(collectives)s + c, 'budget', 'budget:' || c || ':received', 'Budget ' || c || ' — received', 'EUR',
           false, 0, now(), c
    FROM generate_series(1, %(collectives)s) c
    UNION ALL
    SELECT 2 * %(collectives)s + row_number() OVER (ORDER BY collective_id, author_id), 'payable',
           'payable:' || author_id, 'Payable to Person ' || author_id, 'EUR', false, 0, now(), collective_id
    FROM (SELECT DISTINCT collective_id, author_id FROM contributions_contribution WHERE status = 'validated') p
    """,
    # Each validated declaration is granted in full: a payout and its grant (budget -> payable).
    """
    INSERT INTO budgets_ledgertransaction (id, kind, memo, created_at, linked_type, linked_id, actor_id,
                                           collective_id)
    SELECT id, 'grant', '', now(), 'contributions.payout', id::text, 1, collective_id
    FROM contributions_contribution WHERE status = 'validated'
    """,
    """
    INSERT INTO budgets_payout (id, requested, granted, payable_amount, explanation_code, explanation_params,
                                reference, created_at, collective_id, contribution_id, period_id, person_id,
                                grant_transaction_id)
    SELECT id, amount, amount, amount, 'granted_in_full', '{}', '', now(), collective_id, id, period_id, author_id, id
    FROM contributions_contribution WHERE status = 'validated'
    """,
    """
    INSERT INTO budgets_entry (amount, account_id, collective_id, transaction_id)
    SELECT -c.amount, %(collectives)s + c.collective_id, c.collective_id, c.id
    FROM contributions_contribution c WHERE c.status = 'validated'
    UNION ALL
    SELECT c.amount, a.id, c.collective_id, c.id
    FROM contributions_contribution c
    JOIN budgets_account a ON a.collective_id = c.collective_id AND a.code = 'payable:' || c.author_id
    WHERE c.status = 'validated'
    """,
    # Fundings received (source -> budget), as many as the ledger's size asks; the first of each collective
    # covers its grants.
    """
    CREATE TEMP TABLE bench_funding ON COMMIT DROP AS
    SELECT j, ((j - 1) %% %(collectives)s) + 1 AS c,
           CASE WHEN j <= %(collectives)s THEN 1000.00 + coalesce(
               (SELECT sum(amount) FROM contributions_contribution
                WHERE status = 'validated' AND collective_id = j), 0) ELSE 1000.00 END AS amount
    FROM generate_series(1, greatest(%(collectives)s,
        (%(entries)s - (SELECT count(*) FROM budgets_entry)) / 2)) j
    """,
    """
    INSERT INTO budgets_funding (id, source, source_kind, amount, status, received_on, created_at, budget_id,
                                 collective_id, created_by_id, cancel_reason)
    SELECT j, 'Bench', 'grant', amount, 'received', %(start)s, now(), c, c, 1, '' FROM bench_funding
    """,
    """
    INSERT INTO budgets_ledgertransaction (id, kind, memo, created_at, idempotency_key, linked_type, linked_id,
                                           actor_id, collective_id)
    SELECT %(declarations)s + j, 'funding', '', now(), 'funding:' || j, 'budgets.funding', j::text, 1, c
    FROM bench_funding
    """,
    """
    INSERT INTO budgets_entry (amount, account_id, collective_id, transaction_id)
    SELECT -amount, c, c, %(declarations)s + j FROM bench_funding
    UNION ALL
    SELECT amount, %(collectives)s + c, c, %(declarations)s + j FROM bench_funding
    """,
    # Every cached balance is its entries' total (the trigger of budgets 0007 checks each row).
    """
    UPDATE budgets_account a SET balance = s.total
    FROM (SELECT account_id, sum(amount) AS total FROM budgets_entry GROUP BY account_id) s
    WHERE a.id = s.account_id
    """,
    # API tokens for the clients (key: api_key(user_id)).
    """
    INSERT INTO members_personaltoken (name, key_hash, prefix, created_at, user_id)
    SELECT 'bench', encode(sha256(('bench-key-' || u)::bytea), 'hex'), left('bench-key-' || u, 8), now(), u
    FROM generate_series(1, least(%(tokens)s, %(people)s)) u
    """,
]

EXPLICIT_IDS = ("members_user", "members_collective", "budgets_budget", "budgets_ratelevel", "budgets_period",
                "contributions_contribution", "budgets_account", "budgets_ledgertransaction", "budgets_payout",
                "budgets_funding")


def client_count(scale: Scale) -> int:
    """People who act through the API: the most clients of any case, each with a token and a wallet."""
    return min(scale.people, max(*scale.clients, scale.read_clients, 20))


def seed_bulk(database_url: str, scale: Scale) -> None:
    params = {
        "people": scale.people, "collectives": scale.collectives, "declarations": scale.declarations,
        "entries": scale.ledger_entries, "periods": PERIODS, "start": _first_month(PERIODS - 1),
        "rate": HOURLY_RATE, "hot": HOT_SLUG, "tokens": client_count(scale),
    }
    with psycopg.connect(database_url) as connection:
        for statement in BULK:
            connection.execute(statement, params)
        for table in EXPLICIT_IDS:
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    settle(database_url)


def settle(database_url: str) -> None:
    """Leave the database as autovacuum would after a burst of writes: statistics for the planner, and the
    visibility map that lets counts and sums read an index alone.

    A server may run with autovacuum off (this project's CI machine does): without this, a table filled since the
    last ANALYZE (a round's buckets, a hot bucket's allocations) is planned as if it were empty. Vacuuming again
    visits only the pages written since, seconds at the large scale."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def seed_round(scale: Scale) -> Seeded:
    """The hot collective's open round, through the services: its wallets and its hot bucket."""
    from cobudget import services as cobudget
    from members.models import Collective, User

    collective = Collective.objects.get(slug=HOT_SLUG)
    coordinator = User.objects.get(pk=1)
    clients = tuple(range(1, client_count(scale) + 1))
    round = cobudget.round_create(
        collective=collective, actor=coordinator, participants=clients, name="Bench round",
        envelope_policy="equal", envelope_amount=ENVELOPE, allow_retract=True,
    )
    cobudget.round_open(round=round, actor=coordinator)
    hot = cobudget.bucket_create(round=round, actor=coordinator, title="Hot bucket",
                                 lines=[{"description": "Everything", "min_amount": HOT_GOAL, "max_amount": None}])
    cobudget.bucket_propose(bucket=hot, actor=coordinator)
    _other_buckets(round, scale.round_buckets - 1)
    return Seeded(collective_id=collective.pk, slug=HOT_SLUG, coordinator_id=coordinator.pk,
                  budget_id=collective.pk, rate_level_id=collective.pk,
                  closed_period_id=collective_period(collective.pk, PERIODS - 2), round_id=round.pk,
                  hot_bucket_id=hot.pk, client_ids=clients)


def collective_period(collective_id: int, index: int) -> int:
    return (collective_id - 1) * PERIODS + index + 1


def _other_buckets(round, count: int) -> None:
    """The round's other open buckets, each with its ledger account, a budget line and a carrier: two statements."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH accounts AS (
                INSERT INTO budgets_account (kind, code, name, currency, allow_negative, balance, created_at,
                                             collective_id)
                SELECT 'bucket', 'cobudget:bucket:bench-' || %(round)s || '-' || n, 'Bucket ' || n, 'EUR', false, 0,
                       now(), %(collective)s
                FROM generate_series(1, %(count)s) n
                RETURNING id, name
            ), buckets AS (
                INSERT INTO cobudget_bucket (title, description, image, status, min_goal, max_goal, converted_amount,
                                             created_at, account_id, collective_id, created_by_id, round_id,
                                             status_at_close)
                SELECT name, 'A bench bucket.', '', 'open', 500.00, 800.00, 0, now(), id, %(collective)s, 1,
                       %(round)s, ''
                FROM accounts
                RETURNING id
            )
            INSERT INTO cobudget_budgetline (description, min_amount, max_amount, bucket_id, collective_id)
            SELECT 'Everything', 500.00, 800.00, id, %(collective)s FROM buckets
            """,
            {"round": round.pk, "collective": round.collective_id, "count": max(count, 0)},
        )
        cursor.execute(
            "INSERT INTO cobudget_bucket_carriers (bucket_id, user_id) "
            "SELECT id, 1 FROM cobudget_bucket WHERE round_id = %s AND NOT EXISTS "
            "(SELECT 1 FROM cobudget_bucket_carriers c WHERE c.bucket_id = cobudget_bucket.id)",
            [round.pk],
        )

