"""Period closing: `period_close` (closing and posting every grant) against set-based SQL that writes the same
payouts, ledger transactions, entries, person accounts, balances, audit events and notifications in one
transaction.

Each closing works on a period of its own (a new collective, budget and funding, seeded outside the clock): a
closed period cannot be closed again.
"""

from datetime import timedelta
from decimal import Decimal

import psycopg
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from budgets import accounts
from budgets.fundings import funding_create
from budgets.models import Budget, FundingStatus, Payout, Period, PeriodKind, PeriodStatus
from contributions.closing import period_close

from .batch_seed import People, analyzed, balances_moved, collective_seed, timed

COUNTED = ("validated", "adjusted")


def period_seed(people: People, size: int, label: str) -> Period:
    """An open period holding `size` validated declarations (one in ten adjusted) from all the people, and a
    budget funded (received money, two fundings) with exactly what they ask."""
    collective = collective_seed(people, label)
    today = timezone.localdate()
    budget = Budget.objects.create(collective=collective, name=f"Bench budget {label}", period_kind=PeriodKind.NONE,
                                   starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=30),
                                   auto_close_after_days=None)
    period = Period.objects.create(collective=collective, budget=budget, index=0, starts_on=budget.starts_on,
                                   ends_on=budget.ends_on)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO contributions_contribution (performed_on, description, minutes, value_mode, amount,"
            " validated_amount, status, decision_reason, attachment, attachment_name, created_at, updated_at,"
            " author_id, budget_id, collective_id, period_id)"
            " SELECT %(starts)s + i %% 30, 'Bench work ' || i, 60, 'self_assessed', 10.50 + i %% 50,"
            " 10.50 + i %% 50 - CASE WHEN i %% 10 = 0 THEN 1 ELSE 0 END,"
            " CASE WHEN i %% 10 = 0 THEN 'adjusted' ELSE 'validated' END, '', '', '', now(), now(),"
            " (%(people)s::bigint[])[1 + i %% %(count)s], %(budget)s, %(collective)s, %(period)s"
            " FROM generate_series(1, %(size)s) AS i",
            {"starts": budget.starts_on, "people": people.ids, "count": len(people.ids), "budget": budget.pk,
             "collective": collective.pk, "period": period.pk, "size": size})
        cursor.execute("SELECT sum(validated_amount) FROM contributions_contribution WHERE period_id = %s",
                       [period.pk])
        total = cursor.fetchone()[0]
    half = (total / 2).quantize(Decimal("0.01"))
    for source, amount in (("Bench grant", half), ("Bench donation", total - half)):
        funding_create(budget=budget, actor=people.coordinator, source=source, amount=amount,
                       status=FundingStatus.RECEIVED)
    analyzed("contributions_contribution", "budgets_payout", "budgets_account", "budgets_ledgertransaction",
             "members_membership")
    return period


def close_ours(period: Period) -> float:
    elapsed = timed(lambda: period_close(period=period, actor=None))
    unposted = Payout.objects.filter(period=period, granted__gt=0, grant_transaction__isnull=True).count()
    if Period.objects.get(pk=period.pk).status != PeriodStatus.CLOSED or unposted:
        raise RuntimeError(f"period {period.pk} did not close with every grant posted ({unposted} unposted)")
    return elapsed


def closing_statements(period: Period):
    """The limit: the closing of `period` (every request granted in full) as set-based SQL."""
    budget = period.budget
    collective = budget.collective
    params = {
        "period": period.pk, "budget": budget.pk, "collective": collective.pk, "currency": collective.currency,
        "received": accounts.budget_received_account(budget).pk, "counted": list(COUNTED),
        "budget_name": budget.name, "starts_on": period.starts_on.isoformat(), "ends_on": period.ends_on.isoformat(),
        "url": reverse("period_payouts", args=[collective.slug, period.pk]) + "#payout-", "label": str(period)[:200],
    }

    def statements(cursor: psycopg.Cursor) -> None:
        cursor.execute("SELECT id FROM budgets_budget WHERE id = %(budget)s FOR UPDATE", params)
        cursor.execute("SELECT status FROM budgets_period WHERE id = %(period)s FOR UPDATE", params)
        cursor.execute(
            "SELECT coalesce(sum(coalesce(validated_amount, amount)), 0),"
            " (SELECT coalesce(sum(amount), 0) FROM budgets_funding WHERE budget_id = %(budget)s"
            "  AND cancelled_at IS NULL)"
            " - (SELECT coalesce(sum(granted), 0) FROM budgets_payout p JOIN budgets_period pe ON pe.id = p.period_id"
            "    WHERE pe.budget_id = %(budget)s)"
            " FROM contributions_contribution WHERE period_id = %(period)s AND status = ANY(%(counted)s)", params)
        requested, available = cursor.fetchone()
        if requested > available:
            raise RuntimeError("the limit closes periods whose requests are granted in full")
        _payouts_and_period(cursor, {**params, "requested": requested, "available": available})
        _grants_posted(cursor, params)
        _closed_notified(cursor, params)

    return statements


def _payouts_and_period(cursor: psycopg.Cursor, params: dict) -> None:
    cursor.execute(
        "INSERT INTO budgets_payout (requested, granted, payable_amount, explanation_code, explanation_params,"
        " reference, created_at, collective_id, contribution_id, period_id, person_id)"
        " SELECT c.granted, c.granted, c.granted, 'granted_in_full', '{}', '', now(), c.collective_id, c.id,"
        "  c.period_id, c.author_id"
        " FROM (SELECT *, coalesce(validated_amount, amount) AS granted FROM contributions_contribution"
        "  WHERE period_id = %(period)s AND status = ANY(%(counted)s) ORDER BY author_id, id) AS c", params)
    cursor.execute(
        "UPDATE budgets_period SET status = 'closed', available = %(available)s, decision = NULL, closed_at = now(),"
        " closed_by_id = NULL WHERE id = %(period)s", params)
    cursor.execute(
        "INSERT INTO members_auditevent (action, target_type, target_id, target_label, before, after, created_at,"
        " actor_id, collective_id) SELECT 'period.closed', 'budgets.period', %(period)s::text, %(label)s::text,"
        " jsonb_build_object('status', 'open', 'available', NULL),"
        " jsonb_build_object('status', 'closed', 'available', %(available)s::text, 'decision', NULL,"
        "  'granted', %(requested)s::text, 'carried', '[]'::jsonb), now(), NULL, %(collective)s", params)


def _grants_posted(cursor: psycopg.Cursor, params: dict) -> None:
    """One transaction per grant (received money to the person's payable account), then every balance moved by
    one UPDATE from the entries' totals, the accounts locked in id order first."""
    cursor.execute(
        "INSERT INTO budgets_account (kind, code, name, currency, allow_negative, balance, created_at, collective_id)"
        " SELECT DISTINCT ON (p.person_id) 'payable', 'payable:' || p.person_id,"
        "  left('Payable to ' || coalesce(nullif(u.name, ''), split_part(u.email, '@', 1)), 200), %(currency)s,"
        "  false, 0, now(), p.collective_id"
        " FROM budgets_payout p JOIN members_user u ON u.id = p.person_id"
        " WHERE p.period_id = %(period)s AND p.granted > 0"
        " ON CONFLICT (collective_id, code) DO NOTHING", params)
    cursor.execute("CREATE TEMP TABLE grant_txn (payout_id bigint PRIMARY KEY, txn_id bigint) ON COMMIT DROP")
    cursor.execute(
        "WITH posted AS (INSERT INTO budgets_ledgertransaction (kind, memo, created_at, idempotency_key, linked_type,"
        "  linked_id, collective_id)"
        "  SELECT 'grant', 'Granted for declaration #' || contribution_id, now(), 'grant:' || contribution_id,"
        "   'contributions.payout', id::text, collective_id"
        "  FROM budgets_payout WHERE period_id = %(period)s AND granted > 0 ORDER BY id RETURNING id, linked_id)"
        " INSERT INTO grant_txn SELECT linked_id::bigint, id FROM posted", params)
    cursor.execute(
        "INSERT INTO budgets_entry (amount, collective_id, transaction_id, account_id)"
        " SELECT leg.amount, p.collective_id, g.txn_id, leg.account_id"
        " FROM grant_txn g JOIN budgets_payout p ON p.id = g.payout_id"
        " JOIN budgets_account a ON a.collective_id = p.collective_id AND a.code = 'payable:' || p.person_id"
        " CROSS JOIN LATERAL (VALUES (%(received)s::bigint, -p.granted), (a.id, p.granted)) AS leg(account_id, amount)",
        params)
    balances_moved(cursor, "SELECT txn_id FROM grant_txn")
    cursor.execute(
        "UPDATE budgets_payout p SET grant_transaction_id = g.txn_id FROM grant_txn g WHERE p.id = g.payout_id")
    cursor.execute(
        "INSERT INTO members_auditevent (action, target_type, target_id, target_label, before, after, created_at,"
        " actor_id, collective_id)"
        " SELECT 'payout.granted', 'contributions.payout', p.id::text, 'Payout object (' || p.id || ')',"
        "  jsonb_build_object('payable', '0.00'),"
        "  jsonb_build_object('granted', p.granted::text, 'payable', p.payable_amount::text, 'owed', '0.00'),"
        "  now(), NULL, p.collective_id"
        " FROM grant_txn g JOIN budgets_payout p ON p.id = g.payout_id ORDER BY p.id")


def _closed_notified(cursor: psycopg.Cursor, params: dict) -> None:
    """Each contributor who is a member, once: what they requested, were granted, and why."""
    cursor.execute(
        "INSERT INTO notifications_notification (kind, params, url, in_app, email, occasion, created_at,"
        " collective_id, recipient_id)"
        " SELECT 'period.closed', jsonb_build_object('budget', %(budget_name)s::text, 'starts_on', %(starts_on)s::text,"
        "  'ends_on', %(ends_on)s::text, 'requested', sum(p.requested)::text, 'granted', sum(p.granted)::text,"
        "  'explanations', jsonb_agg(jsonb_build_array(p.explanation_code, p.explanation_params) ORDER BY p.id)),"
        "  %(url)s::text || min(p.id), coalesce(pref.in_app, true), coalesce(pref.email, 'instant'), '', now(),"
        "  p.collective_id, p.person_id"
        " FROM budgets_payout p"
        " JOIN members_membership m ON m.collective_id = p.collective_id AND m.user_id = p.person_id"
        " LEFT JOIN notifications_notificationpreference pref ON pref.user_id = p.person_id"
        "  AND pref.kind = 'period.closed'"
        " WHERE p.period_id = %(period)s GROUP BY p.collective_id, p.person_id, pref.in_app, pref.email"
        " HAVING coalesce(pref.email, 'instant') <> 'off' OR coalesce(pref.in_app, true)", params)
