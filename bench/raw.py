"""The limits of the write cases: raw psycopg transactions taking the same row locks, in the same order, and
writing the same rows as the services do (cobudget.services.allocations.allocation_create with
budgets.ledger.transaction_post; contributions.services.declaring.contribution_declare). The plain reads the
services make besides their locks (the round's close request, the member's running total...) are left out: the
limit is what the locks and the writes cost. The database's own triggers (the ledger's checks, the allocations'
running totals) fire for both alike.

Keep these in step with the services: a service that takes another lock or writes another row moves its limit."""

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import psycopg

from .seed import HOURLY_RATE, Seeded


def allocation_work(seeded: Seeded, user_id: int, wallet_id: int, wallet_account: int, bucket_account: int,
                    amount: Decimal) -> Callable[[psycopg.Connection], None]:
    ids = sorted((wallet_account, bucket_account))
    collective, bucket, round_id = seeded.collective_id, seeded.hot_bucket_id, seeded.round_id

    def allocate(connection: psycopg.Connection) -> None:
        status, max_goal = connection.execute(
            "SELECT b.status, b.max_goal FROM cobudget_round r JOIN cobudget_bucket b ON b.round_id = r.id"
            " JOIN budgets_account a ON a.id = b.account_id WHERE b.id = %s AND b.collective_id = %s"
            " FOR SHARE OF r FOR NO KEY UPDATE OF b", [bucket, collective]).fetchone()
        txn = connection.execute(
            "INSERT INTO budgets_ledgertransaction (kind, memo, created_at, linked_type, linked_id, actor_id,"
            " collective_id) VALUES ('cobudget_allocation', 'Hot bucket', now(), 'cobudget.bucket', %s, %s, %s)"
            " RETURNING id", [str(bucket), user_id, collective]).fetchone()[0]
        connection.execute(
            "INSERT INTO budgets_entry (amount, account_id, collective_id, transaction_id)"
            " VALUES (%s, %s, %s, %s), (%s, %s, %s, %s)",
            [-amount, wallet_account, collective, txn, amount, bucket_account, collective, txn])
        balances = dict(connection.execute(
            "SELECT id, balance FROM budgets_account WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [ids]).fetchall())
        if status != "open" or balances[bucket_account] + amount > max_goal or balances[wallet_account] < amount:
            raise psycopg.errors.RaiseException("the allocation does not fit")
        moved = connection.execute(
            "UPDATE budgets_account AS account SET balance = account.balance + delta.amount"
            " FROM unnest(%s::bigint[], %s::numeric[]) AS delta(id, amount)"
            " WHERE account.id = delta.id AND (account.allow_negative OR account.balance + delta.amount >= 0)",
            [ids, [-amount if pk == wallet_account else amount for pk in ids]]).rowcount
        if moved != 2:
            raise psycopg.errors.RaiseException("insufficient funds")
        connection.execute(
            "INSERT INTO cobudget_allocation (kind, amount, created_at, collective_id, transaction_id, user_id,"
            " bucket_id, round_id, wallet_id) VALUES ('allocate', %s, now(), %s, %s, %s, %s, %s, %s)",
            [amount, collective, txn, user_id, bucket, round_id, wallet_id])
        funded = balances[bucket_account] + amount
        connection.execute(
            "INSERT INTO members_auditevent (action, target_type, target_id, target_label, after, created_at,"
            " actor_id, collective_id) VALUES ('cobudget.allocate', 'cobudget.bucket', %s, 'Hot bucket', %s, now(),"
            " %s, %s)", [str(bucket), json.dumps({"amount": str(amount), "funded": str(funded)}), user_id, collective])

    return allocate


def declaration_work(seeded: Seeded, user_id: int, day: date) -> Callable[[psycopg.Connection], None]:
    collective, budget, rate_level = seeded.collective_id, seeded.budget_id, seeded.rate_level_id
    amount = HOURLY_RATE

    def declare(connection: psycopg.Connection) -> None:
        period, status, locked_at = connection.execute(
            "SELECT id, status, locked_at FROM budgets_period WHERE budget_id = %s AND starts_on <= %s"
            " AND ends_on >= %s FOR UPDATE", [budget, day, day]).fetchone()
        if status != "open" or locked_at is not None:
            raise psycopg.errors.RaiseException("the period is closed")
        contribution = connection.execute(
            "INSERT INTO contributions_contribution (performed_on, description, minutes, value_mode, hourly_rate,"
            " amount, status, decision_reason, attachment, attachment_name, created_at, updated_at, author_id,"
            " budget_id, collective_id, period_id, rate_level_id) VALUES (%s, 'Bench declaration', 60, 'time_rate',"
            " %s, %s, 'pending', '', '', '', now(), now(), %s, %s, %s, %s, %s) RETURNING id",
            [day, HOURLY_RATE, amount, user_id, budget, collective, period, rate_level]).fetchone()[0]
        state = {"budget": budget, "performed_on": day.isoformat(), "minutes": 60, "amount": str(amount),
                 "status": "pending", "description": "Bench declaration"}
        connection.execute(
            "INSERT INTO members_auditevent (action, target_type, target_id, target_label, after, created_at,"
            " actor_id, collective_id) VALUES ('contribution.declared', 'contributions.contribution', %s, %s, %s,"
            " now(), %s, %s)",
            [str(contribution), f"Person {user_id} — Bench declaration", json.dumps(state), user_id, collective])

    return declare
