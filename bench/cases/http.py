"""The HTTP cases: what the real servers (gunicorn, Celery) sustain, each beside its limit measured in turns.

- allocations on one hot bucket through the API vs raw psycopg transactions with the same locks and rows, at each
  number of clients of the scale, then on two gunicorn processes and two Celery workers; the books are checked
  after every run (0 violations);
- declarations POSTed through the API vs raw psycopg inserting the same rows;
- reads of the pages and API lists vs a minimal Django view replaying the page's SQL and returning its bytes.
"""

import base64
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.test import Client as DjangoClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from .. import load, raw
from ..harness import Row, Scale, interleaved_medians
from ..seed import Seeded, api_key, settle
from ..servers import Servers

ALLOCATION = Decimal("1.00")
GOAL = 0.5
# The raw limits open one PostgreSQL connection per client, up to this many (max_connections is 100 by default;
# the servers hold theirs too). The API's side never has more than gunicorn's workers x threads at once anyway.
RAW_CONNECTIONS = 32


@dataclass
class Context:
    scale: Scale
    seeded: Seeded
    servers: Servers
    database_url: str
    ports: list[int]


def cases(context: Context, wanted: Callable[[str], bool]) -> list[Row]:
    """Each group of cases starts on a settled database (`seed.settle`): the one before it wrote thousands of rows
    (allocations, entries, declarations) that autovacuum would have analysed by then."""
    rows: list[Row] = []
    if wanted("allocations"):
        for clients in context.scale.clients:
            settle(context.database_url)
            rows.append(_told(allocations(context, clients, context.ports[:1], "allocations/s, one hot bucket")))
    if wanted("declarations"):
        settle(context.database_url)
        rows.append(_told(declarations(context, 20)))
    if wanted("reads"):
        settle(context.database_url)
        rows += reads(context)
    if wanted("scale-out"):
        settle(context.database_url)
        context.servers.worker()
        ports = [*context.ports[:1], context.servers.web()]
        rows.append(_told(allocations(context, context.scale.clients[0], ports,
                                      "allocations/s, 2 gunicorn + 2 workers")))
    return rows


def _told(row: Row) -> Row:
    """Print a row as soon as it is measured: a long run shows its progress."""
    print(f"[bench] {row.case}: {row.ours:.1f} vs {row.limit:.1f} {row.unit} (ratio {row.ratio:.3f})", flush=True)
    return row


def _token_headers(user_id: int, json_body: bool = False) -> dict:
    headers = {"Authorization": f"Token {api_key(user_id)}", "Accept": "application/json", "Host": "127.0.0.1"}
    if json_body:
        headers["Content-Type"] = "application/json"
    return headers


def _wallets(seeded: Seeded) -> dict[int, tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT user_id, id, account_id FROM cobudget_wallet WHERE round_id = %s", [seeded.round_id])
        return {user: (wallet, account) for user, wallet, account in cursor.fetchall()}


def _bucket_account(seeded: Seeded) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT account_id FROM cobudget_bucket WHERE id = %s", [seeded.hot_bucket_id])
        return cursor.fetchone()[0]


def allocations(context: Context, clients: int, ports: list[int], case: str) -> Row:
    seeded = context.seeded
    users = seeded.client_ids[:clients]
    wallets, bucket_account = _wallets(seeded), _bucket_account(seeded)
    path = f"/api/v1/collectives/{seeded.slug}/buckets/{seeded.hot_bucket_id}/allocations/"
    body = json.dumps({"amount": str(ALLOCATION)}).encode()
    violations: list[int] = []
    errors: dict[int, int] = {}

    def ours() -> float:
        mark = _last_transaction()
        outcome = load.run([
            load.HttpClient(ports[i % len(ports)], "POST", path, _token_headers(user, json_body=True),
                            body=lambda: body, expect=201)
            for i, user in enumerate(users)
        ], context.scale.seconds)
        violations.append(allocation_violations(seeded, wallets, bucket_account, mark))
        _count_errors(errors, outcome)
        return outcome.rate

    def limit() -> float:
        mark = _last_transaction()
        outcome = load.run([
            load.SqlClient(context.database_url, raw.allocation_work(
                seeded, user, wallets[user][0], wallets[user][1], bucket_account, ALLOCATION))
            for user in users[:RAW_CONNECTIONS]
        ], context.scale.seconds)
        violations.append(allocation_violations(seeded, wallets, bucket_account, mark))
        return outcome.rate

    mine, theirs = interleaved_medians(ours, limit, context.scale.repeats)
    return Row(f"{case}, {clients} clients", mine, theirs, "alloc/s", GOAL, True,
               {"violations": sum(violations), "clients": clients, "servers": len(ports), "errors": errors,
                "limit_connections": min(clients, RAW_CONNECTIONS)})


def _count_errors(errors: dict[int, int], outcome: load.Outcome) -> None:
    """Add up the unexpected answers by HTTP status (0: the connection failed): a refused step is not counted."""
    for status, count in outcome.statuses.items():
        if status not in (200, 201):
            errors[status] = errors.get(status, 0) + count


def _last_transaction() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM budgets_ledgertransaction")
        return cursor.fetchone()[0]


def allocation_violations(seeded: Seeded, wallets: dict, bucket_account: int, since_transaction: int) -> int:
    """The hot round's books, set-based: the bucket holds what was allocated to it, no wallet is below zero,
    every transaction since the mark is balanced, every touched account's balance is its entries' total."""
    accounts = [bucket_account, *(account for _wallet, account in wallets.values())]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT
              (SELECT (coalesce(sum(amount), 0) <> (SELECT balance FROM budgets_account WHERE id = %(bucket)s))::int
               FROM cobudget_allocation WHERE bucket_id = %(hot)s)
            + (SELECT count(*) FROM budgets_account WHERE id = ANY(%(accounts)s) AND balance < 0)
            + (SELECT count(*) FROM (SELECT transaction_id FROM budgets_entry WHERE transaction_id > %(since)s
                                     GROUP BY transaction_id HAVING sum(amount) <> 0 OR count(*) < 2) unbalanced)
            + (SELECT count(*) FROM budgets_account a WHERE a.id = ANY(%(accounts)s)
               AND a.balance <> (SELECT coalesce(sum(amount), 0) FROM budgets_entry e WHERE e.account_id = a.id))
            """,
            {"bucket": bucket_account, "hot": seeded.hot_bucket_id, "accounts": accounts,
             "since": since_transaction},
        )
        return cursor.fetchone()[0]


def declarations(context: Context, clients: int) -> Row:
    seeded = context.seeded
    users = seeded.client_ids[:clients]
    day = timezone.localdate()
    path = f"/api/v1/collectives/{seeded.slug}/contributions/"
    body = json.dumps({"budget": seeded.budget_id, "performed_on": day.isoformat(), "minutes": 60,
                       "description": "Bench declaration", "value_mode": "time_rate",
                       "rate_level": seeded.rate_level_id}).encode()
    errors: dict[int, int] = {}

    def ours() -> float:
        outcome = load.run([
            load.HttpClient(context.ports[i % len(context.ports)], "POST", path, _token_headers(user, True),
                            body=lambda: body, expect=201)
            for i, user in enumerate(users)
        ], context.scale.seconds)
        _count_errors(errors, outcome)
        return outcome.rate

    def limit() -> float:
        return load.run([load.SqlClient(context.database_url, raw.declaration_work(seeded, user, day))
                         for user in users[:RAW_CONNECTIONS]], context.scale.seconds).rate

    mine, theirs = interleaved_medians(ours, limit, context.scale.repeats)
    return Row(f"declarations POST/s, {clients} clients", mine, theirs, "decl/s", GOAL, True,
               {"clients": clients, "errors": errors})


def read_targets(seeded: Seeded) -> dict[str, tuple[str, bool]]:
    """name -> (path, is an API list read with a token; else a page read with the coordinator's session)."""
    pages = f"/c/{seeded.slug}"
    api = f"/api/v1/collectives/{seeded.slug}"
    return {
        "dashboard": (f"{pages}/", False),
        "declarations": (f"{pages}/contributions/", False),
        "period": (f"{pages}/periods/{seeded.closed_period_id}/", False),
        "payouts": (f"{pages}/payouts/", False),
        "members": (f"{pages}/members/", False),
        "round": (f"{pages}/cobudget/{seeded.round_id}/", False),
        "bucket": (f"{pages}/cobudget/buckets/{seeded.hot_bucket_id}/", False),
        "api-declarations": (f"{api}/contributions/", True),
        "api-payouts": (f"{api}/payouts/", True),
        "api-members": (f"{api}/members/", True),
        "api-buckets": (f"{api}/buckets/", True),
    }


def _record(seeded: Seeded, targets: dict[str, tuple[str, bool]]) -> tuple[dict, str]:
    """Run each read in process once: the SQL it ran (reads only) and the bytes it answered, for the replay view;
    and the session cookie of the coordinator, for the page reads over HTTP."""
    from members.models import User

    session = DjangoClient(HTTP_HOST="127.0.0.1")
    session.force_login(User.objects.get(pk=seeded.coordinator_id))
    api = DjangoClient(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {api_key(seeded.coordinator_id)}",
                       HTTP_ACCEPT="application/json")
    recordings = {}
    for name, (path, is_api) in targets.items():
        with CaptureQueriesContext(connection) as queries:
            response = (api if is_api else session).get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}")
        body = b"".join(response.streaming_content) if response.streaming else response.content
        recordings[name] = {
            "sql": [q["sql"] for q in queries.captured_queries if q["sql"].lstrip()[:6].upper() in ("SELECT", "WITH ")],
            "body": base64.b64encode(body).decode(),
            "content_type": response["Content-Type"],
            "bytes": len(body),
        }
    return recordings, session.cookies["sessionid"].value


def reads(context: Context) -> list[Row]:
    seeded = context.seeded
    targets = read_targets(seeded)
    recordings, session_id = _record(seeded, targets)
    with open(os.environ["BENCH_REPLAY_FILE"], "w", encoding="utf-8") as file:
        json.dump(recordings, file)
    page_headers = {"Cookie": f"sessionid={session_id}", "Host": "127.0.0.1"}
    rows = []
    for name, (path, is_api) in targets.items():
        headers = _token_headers(seeded.coordinator_id) if is_api else page_headers

        def clients(target: str, headers: dict = headers) -> list[load.Client]:
            return [load.HttpClient(context.ports[i % len(context.ports)], "GET", target, headers)
                    for i in range(context.scale.read_clients)]

        def ours(path: str = path, clients=clients) -> float:
            return load.run(clients(path), context.scale.seconds).rate

        def limit(name: str = name, clients=clients) -> float:
            return load.run(clients(f"/bench/replay/{name}/"), context.scale.seconds).rate

        mine, theirs = interleaved_medians(ours, limit, context.scale.repeats)
        recording = recordings[name]
        rows.append(_told(Row(f"reads: {name}, {context.scale.read_clients} clients", mine, theirs, "req/s", GOAL,
                              True, {"queries": len(recording["sql"]), "bytes": recording["bytes"], "path": path})))
    return rows
