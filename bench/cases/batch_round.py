"""Round closing: `cobudget.services.round_close` against set-based SQL writing the same rows in one transaction
(the close request, the round, each bucket settled and audited, refunds of the unfunded buckets with their
allocations, every wallet's leftover expired, balances, notifications).

Each close works on a round of its own, seeded outside the clock as ledger-consistent rows: the wallets' accounts
credited by the round's opening transaction, then one transaction per allocation from a wallet to a bucket. Every
other bucket can only be funded (minimum 1) and the others never (their minimum is out of reach), so that half the
buckets are funded and half refund their funders; every wallet keeps a leftover that expires at the close.
"""

from decimal import Decimal
from math import ceil

import psycopg
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from cobudget import services as cobudget
from cobudget.models import LeftoverPolicy, Round, RoundStatus

from .batch_seed import People, analyzed, balances_moved, collective_seed, timed

ALLOCATION = Decimal("10.00")
OUT_OF_REACH = Decimal("1000000.00")


def round_seed(people: People, buckets: int, allocations: int, label: str) -> Round:
    collective = collective_seed(people, label)
    participants = people.ids[:max(1, min(len(people.ids), allocations // 10))]
    envelope = ALLOCATION * ceil(allocations / len(participants)) + 50
    round = Round.objects.create(collective=collective, name=f"Bench round {label}", status=RoundStatus.OPEN,
                                 opened_at=timezone.now(), envelope_amount=envelope, created_by=people.coordinator)
    params = {"round": round.pk, "collective": collective.pk, "currency": collective.currency, "name": round.name,
              "participants": participants, "envelope": envelope, "buckets": buckets, "allocations": allocations,
              "count": len(participants), "coordinator": people.coordinator.pk, "amount": ALLOCATION,
              "out_of_reach": OUT_OF_REACH}
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in SEED:
            cursor.execute(statement, params)
    analyzed("cobudget_allocation", "cobudget_bucket", "cobudget_wallet", "budgets_account",
             "budgets_ledgertransaction", "budgets_entry")
    return round


_ACCOUNT = ("INSERT INTO budgets_account (kind, code, name, currency, allow_negative, balance, created_at,"
            " collective_id)")
_TRANSACTION = ("INSERT INTO budgets_ledgertransaction (kind, memo, created_at, idempotency_key, linked_type,"
                " linked_id, collective_id, actor_id)")
_ENTRY = "INSERT INTO budgets_entry (amount, collective_id, transaction_id, account_id)"
SEED = [
    _ACCOUNT + " VALUES ('funding_source', 'cobudget:round:' || %(round)s || ':source', %(name)s, %(currency)s, true,"
    " 0, now(), %(collective)s)",
    _ACCOUNT + " SELECT 'wallet', 'cobudget:wallet:' || %(round)s || ':' || person, 'Person ' || person || ' · bench',"
    " %(currency)s, false, 0, now(), %(collective)s FROM unnest(%(participants)s::bigint[]) AS person",
    "INSERT INTO cobudget_wallet (envelope, allocated, account_id, collective_id, round_id, user_id)"
    " SELECT %(envelope)s, 0, id, %(collective)s, %(round)s, split_part(code, ':', 4)::bigint FROM budgets_account"
    " WHERE collective_id = %(collective)s AND kind = 'wallet'",
    _ACCOUNT + " SELECT 'bucket', 'cobudget:bucket:' || %(round)s || ':' || i, 'Bucket ' || i, %(currency)s, false, 0,"
    " now(), %(collective)s FROM generate_series(1, %(buckets)s) AS i",
    "INSERT INTO cobudget_bucket (title, description, image, status, min_goal, max_goal, converted_amount, created_at,"
    " account_id, collective_id, created_by_id, round_id, status_at_close)"
    " SELECT name, '', '', 'open', CASE WHEN i %% 2 = 0 THEN 1 ELSE %(out_of_reach)s END, %(out_of_reach)s, 0,"
    " now(), id, %(collective)s, (%(participants)s::bigint[])[1 + i %% %(count)s], %(round)s, ''"
    " FROM (SELECT *, split_part(code, ':', 4)::int AS i FROM budgets_account"
    "  WHERE collective_id = %(collective)s AND kind = 'bucket') AS a",
    "INSERT INTO cobudget_bucket_carriers (bucket_id, user_id) SELECT id, created_by_id FROM cobudget_bucket"
    " WHERE round_id = %(round)s",
    "WITH opening AS (" + _TRANSACTION + " VALUES ('cobudget_round_open', 'Envelopes of ' || %(name)s, now(),"
    " 'cobudget:round:' || %(round)s || ':open', 'cobudget.round', %(round)s::text, %(collective)s, %(coordinator)s)"
    " RETURNING id) " + _ENTRY + " SELECT -%(envelope)s * %(count)s, %(collective)s, opening.id, a.id"
    " FROM opening, budgets_account a WHERE a.collective_id = %(collective)s AND a.kind = 'funding_source'"
    " UNION ALL SELECT w.envelope, %(collective)s, opening.id, w.account_id FROM opening, cobudget_wallet w"
    " WHERE w.round_id = %(round)s",
    # Person j %% P gives its k-th allocation (k = j / P) to bucket (j %% P + k) %% B: many funders per bucket.
    "CREATE TEMP TABLE plan ON COMMIT DROP AS SELECT j, w.id AS wallet_id, w.user_id, w.account_id AS wallet_account,"
    " b.id AS bucket_id, b.account_id AS bucket_account, b.title FROM generate_series(0, %(allocations)s - 1) AS j"
    " JOIN (SELECT row_number() OVER (ORDER BY id) - 1 AS n, * FROM cobudget_wallet WHERE round_id = %(round)s) AS w"
    "  ON w.n = j %% %(count)s"
    " JOIN (SELECT row_number() OVER (ORDER BY id) - 1 AS n, * FROM cobudget_bucket WHERE round_id = %(round)s) AS b"
    "  ON b.n = (j %% %(count)s + j / %(count)s) %% %(buckets)s",
    "CREATE TEMP TABLE plan_txn (j int PRIMARY KEY, txn_id bigint) ON COMMIT DROP",
    "WITH given AS (" + _TRANSACTION + " SELECT 'cobudget_allocation', title, now(), NULL, 'cobudget.bucket',"
    " bucket_id::text, %(collective)s, user_id FROM plan ORDER BY j RETURNING id)"
    " INSERT INTO plan_txn SELECT row_number() OVER (ORDER BY id) - 1, id FROM given",
    _ENTRY + " SELECT leg.amount, %(collective)s, t.txn_id, leg.account_id FROM plan p JOIN plan_txn t ON t.j = p.j"
    " CROSS JOIN LATERAL (VALUES (p.wallet_account, -%(amount)s::numeric), (p.bucket_account, %(amount)s::numeric))"
    " AS leg(account_id, amount)",
    "INSERT INTO cobudget_allocation (kind, amount, created_at, collective_id, transaction_id, user_id, bucket_id,"
    " round_id, wallet_id) SELECT 'allocate', %(amount)s, now(), %(collective)s, t.txn_id, p.user_id, p.bucket_id,"
    " %(round)s, p.wallet_id FROM plan p JOIN plan_txn t ON t.j = p.j",
    "UPDATE budgets_account a SET balance = s.total FROM (SELECT account_id, sum(amount) AS total FROM budgets_entry"
    " WHERE collective_id = %(collective)s GROUP BY account_id) AS s WHERE a.id = s.account_id",
]


def close_ours(round: Round, actor) -> float:
    elapsed = timed(lambda: cobudget.round_close(round=round, actor=actor))
    if Round.objects.get(pk=round.pk).settled_at is None:
        raise RuntimeError(f"round {round.pk} did not settle")
    return elapsed


def closing_statements(round: Round, actor):
    """The limit: the close of `round` as set-based SQL."""
    collective = round.collective
    returning = round.leftover_policy == LeftoverPolicy.RETURN_TO_POOL
    destination = cobudget.pool_account(collective) if returning else cobudget.round_source_account(round)
    now = timezone.now()
    params = {
        "round": round.pk, "collective": collective.pk, "actor": actor.pk, "name": round.name, "now": now,
        "closed_at": now.isoformat(), "partial": round.partial_policy, "threshold": round.partial_threshold_percent,
        "destination": destination.pk,
        "leftover_kind": "cobudget_wallet_return" if returning else "cobudget_wallet_expiry",
        "bucket_url": reverse("cobudget_bucket", args=[collective.slug, 0]).replace("/0/", "/{id}/"),
        "round_url": reverse("cobudget_round", args=[collective.slug, round.pk]),
    }

    def statements(cursor: psycopg.Cursor) -> None:
        for statement in CLOSE:
            cursor.execute(statement, params)
        balances_moved(cursor, "SELECT txn_id FROM close_txn")
        for statement in SETTLED:
            cursor.execute(statement, params)

    return statements


_AUDIT = ("INSERT INTO members_auditevent (action, target_type, target_id, target_label, before, after, created_at,"
          " actor_id, collective_id)")
_NOTIFICATION = ("INSERT INTO notifications_notification (kind, params, url, in_app, email, occasion, created_at,"
                 " collective_id, recipient_id)")
_FUNDED = "('funded', 'partially_funded', 'completed')"


def _told(kind: str, default_email: str, person: str) -> str:
    """The joins and condition that keep the members (not the actor) who want `kind` in some way."""
    return (f" JOIN members_membership m ON m.collective_id = %(collective)s AND m.user_id = {person}"
            f" LEFT JOIN notifications_notificationpreference pref ON pref.user_id = {person} AND pref.kind = '{kind}'"
            f" WHERE {person} <> %(actor)s AND (coalesce(pref.email, '{default_email}') <> 'off'"
            " OR coalesce(pref.in_app, true))")


CLOSE = [
    "INSERT INTO cobudget_roundcloserequest (requested_at, collective_id, round_id)"
    " VALUES (now(), %(collective)s, %(round)s)",
    "SELECT status FROM cobudget_round WHERE id = %(round)s FOR UPDATE",
    "UPDATE cobudget_round SET status = 'closed', closed_at = %(now)s WHERE id = %(round)s",
    _AUDIT + " VALUES ('cobudget.round_closed', 'cobudget.round', %(round)s::text, left(%(name)s, 200), NULL,"
    " jsonb_build_object('closed_at', %(closed_at)s::text), now(), %(actor)s, %(collective)s)",
    "SELECT id FROM cobudget_bucket WHERE round_id = %(round)s ORDER BY id FOR UPDATE",
    "CREATE TEMP TABLE outcome ON COMMIT DROP AS SELECT b.id, b.title, b.status AS before, a.balance AS funded,"
    " b.account_id, CASE WHEN b.status = 'proposed' THEN 'unfunded' WHEN b.status NOT IN ('open', 'funded')"
    " THEN b.status WHEN a.balance >= b.min_goal THEN 'funded' WHEN a.balance > 0 AND %(partial)s = 'accept'"
    " AND a.balance * 100 >= b.min_goal * %(threshold)s THEN 'partially_funded' ELSE 'unfunded' END AS after"
    " FROM cobudget_bucket b JOIN budgets_account a ON a.id = b.account_id"
    " WHERE b.round_id = %(round)s AND b.settled_at IS NULL",
    "CREATE TEMP TABLE refund ON COMMIT DROP AS SELECT al.bucket_id, al.user_id, al.wallet_id, sum(al.amount) AS net,"
    " 'cobudget:bucket:' || al.bucket_id || ':refund:' || al.user_id AS key"
    " FROM cobudget_allocation al JOIN outcome o ON o.id = al.bucket_id"
    " WHERE o.after = 'unfunded' AND o.before IN ('open', 'funded')"
    " GROUP BY al.bucket_id, al.user_id, al.wallet_id HAVING sum(al.amount) > 0",
    "CREATE TEMP TABLE close_txn (key text PRIMARY KEY, txn_id bigint) ON COMMIT DROP",
    "WITH refunded AS (" + _TRANSACTION + " SELECT 'cobudget_refund', 'Refund of ' || o.title || ' at the close',"
    " now(), r.key, 'cobudget.bucket', r.bucket_id::text, %(collective)s, %(actor)s"
    " FROM refund r JOIN outcome o ON o.id = r.bucket_id ORDER BY r.bucket_id, r.user_id"
    " RETURNING id, idempotency_key) INSERT INTO close_txn SELECT idempotency_key, id FROM refunded",
    _ENTRY + " SELECT leg.amount, %(collective)s, t.txn_id, leg.account_id FROM refund r"
    " JOIN close_txn t ON t.key = r.key JOIN outcome o ON o.id = r.bucket_id"
    " JOIN cobudget_wallet w ON w.id = r.wallet_id"
    " CROSS JOIN LATERAL (VALUES (o.account_id, -r.net), (w.account_id, r.net)) AS leg(account_id, amount)",
    "INSERT INTO cobudget_allocation (kind, amount, created_at, collective_id, transaction_id, user_id, bucket_id,"
    " round_id, wallet_id) SELECT 'refund', -r.net, now(), %(collective)s, t.txn_id, r.user_id, r.bucket_id,"
    " %(round)s, r.wallet_id FROM refund r JOIN close_txn t ON t.key = r.key",
    _NOTIFICATION + " SELECT 'bucket.funded', jsonb_build_object('bucket', o.title, 'funded', o.funded::text),"
    " replace(%(bucket_url)s::text, '{id}', o.id::text), coalesce(pref.in_app, true),"
    " coalesce(pref.email, 'daily'), '', now(), %(collective)s, c.user_id"
    " FROM outcome o JOIN cobudget_bucket_carriers c ON c.bucket_id = o.id"
    + _told("bucket.funded", "daily", "c.user_id") + " AND o.after <> 'unfunded' AND o.before = 'open'",
    "UPDATE cobudget_bucket b SET status = o.after, status_at_close = o.before, settled_at = now() FROM outcome o"
    " WHERE b.id = o.id",
    _AUDIT + " SELECT 'cobudget.bucket_settled', 'cobudget.bucket', id::text, left(title, 200),"
    " jsonb_build_object('status', before), jsonb_build_object('status', after), now(), %(actor)s, %(collective)s"
    " FROM outcome ORDER BY id",
    "SELECT id FROM cobudget_wallet WHERE round_id = %(round)s ORDER BY id FOR UPDATE",
    "CREATE TEMP TABLE leftover ON COMMIT DROP AS SELECT w.id, w.account_id,"
    " a.balance + coalesce((SELECT sum(r.net) FROM refund r WHERE r.wallet_id = w.id), 0) AS amount,"
    " 'cobudget:wallet:' || w.id || ':leftover' AS key"
    " FROM cobudget_wallet w JOIN budgets_account a ON a.id = w.account_id"
    " WHERE w.round_id = %(round)s AND w.settled_at IS NULL",
    "WITH expired AS (" + _TRANSACTION + " SELECT %(leftover_kind)s::text,"
    " 'Left in a wallet of ' || %(name)s::text, now(), key, 'cobudget.wallet', id::text, %(collective)s, %(actor)s"
    " FROM leftover WHERE amount > 0 ORDER BY id"
    " RETURNING id, idempotency_key) INSERT INTO close_txn SELECT idempotency_key, id FROM expired",
    _ENTRY + " SELECT leg.amount, %(collective)s, t.txn_id, leg.account_id FROM leftover l"
    " JOIN close_txn t ON t.key = l.key"
    " CROSS JOIN LATERAL (VALUES (l.account_id, -l.amount), (%(destination)s::bigint, l.amount))"
    " AS leg(account_id, amount)",
    "UPDATE cobudget_wallet SET settled_at = now() WHERE round_id = %(round)s AND settled_at IS NULL",
]
SETTLED = [
    "UPDATE cobudget_round SET settled_at = now() WHERE id = %(round)s AND settled_at IS NULL",
    _NOTIFICATION + " SELECT 'round.closed', jsonb_build_object('round', %(name)s::text, 'total', counts.total,"
    " 'funded', counts.funded, 'given', CASE WHEN coalesce(g.net, 0) = 0 THEN '0' ELSE g.net::text END),"
    " %(round_url)s::text, coalesce(pref.in_app, true), coalesce(pref.email, 'daily'), '', now(), %(collective)s,"
    " w.user_id"
    " FROM cobudget_wallet w"
    " CROSS JOIN (SELECT count(*) FILTER (WHERE status NOT IN ('draft', 'cancelled')) AS total,"
    "  count(*) FILTER (WHERE status IN " + _FUNDED + ") AS funded FROM cobudget_bucket WHERE round_id = %(round)s)"
    "  AS counts"
    " LEFT JOIN (SELECT al.user_id, sum(al.amount) AS net FROM cobudget_allocation al"
    "  JOIN cobudget_bucket b ON b.id = al.bucket_id WHERE al.round_id = %(round)s AND b.status IN " + _FUNDED
    + "  GROUP BY al.user_id) AS g ON g.user_id = w.user_id"
    + _told("round.closed", "daily", "w.user_id") + " AND w.round_id = %(round)s",
]
