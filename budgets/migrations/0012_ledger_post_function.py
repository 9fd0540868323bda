"""One ledger posting, one round trip to the database.

ledger.transaction_post sent six statements for one movement (a savepoint, the transaction, its entries, the
accounts' locks, their balances, the savepoint's release), each a round trip while the accounts, and the caller's
own locks (a hot bucket's, say), were held. `ledger_post` does the same in one call: it locks the accounts in id
order, finds the transaction already posted under the same idempotency key, refuses a second reversal of the same
transaction (a unique violation, as the unique column would), refuses (writing nothing, so no savepoint is needed)
when a protected account would go below zero, or inserts the transaction (under the id its caller reserved, if
any), its entries and moves the balances. The triggers of 0003 and 0007 guard its writes as they guard any other.

`ledger_short_account` and `ledger_balances_move` are its two halves about balances, which the bulk posting of
many transactions (ledger.transactions_post_many) calls too: one rule for every posting.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION ledger_short_account(account_ids bigint[], deltas numeric[]) RETURNS bigint AS $$
DECLARE
    short bigint;
BEGIN
    PERFORM 1 FROM budgets_account WHERE id = ANY(account_ids) ORDER BY id FOR UPDATE;
    SELECT account.id INTO short
        FROM budgets_account AS account JOIN unnest(account_ids, deltas) AS delta(id, amount) ON account.id = delta.id
        WHERE NOT account.allow_negative AND account.balance + delta.amount < 0
        ORDER BY account.id LIMIT 1;
    RETURN short;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION ledger_balances_move(account_ids bigint[], deltas numeric[]) RETURNS void AS $$
DECLARE
    moved integer;
BEGIN
    UPDATE budgets_account AS account SET balance = account.balance + delta.amount
        FROM unnest(account_ids, deltas) AS delta(id, amount)
        WHERE account.id = delta.id AND (account.allow_negative OR account.balance + delta.amount >= 0);
    GET DIAGNOSTICS moved = ROW_COUNT;
    IF moved <> coalesce(cardinality(account_ids), 0) THEN
        RAISE EXCEPTION 'only % of % balances could move: call ledger_short_account first, in this transaction',
            moved, coalesce(cardinality(account_ids), 0) USING ERRCODE = 'check_violation';
    END IF;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION ledger_post(
    p_id bigint, p_collective bigint, p_kind text, p_memo text, p_actor bigint, p_key text, p_reverses bigint,
    p_linked_type text, p_linked_id text, p_posted_at timestamptz, p_accounts bigint[], p_amounts numeric[],
    OUT posted_id bigint, OUT replayed boolean, OUT short_account_id bigint
) AS $$
DECLARE
    moved_ids bigint[];
    moved_deltas numeric[];
BEGIN
    replayed := false;
    SELECT array_agg(leg.id ORDER BY leg.id), array_agg(leg.total ORDER BY leg.id) INTO moved_ids, moved_deltas
        FROM (SELECT leg.id, sum(leg.amount) AS total FROM unnest(p_accounts, p_amounts) AS leg(id, amount)
              GROUP BY leg.id HAVING sum(leg.amount) <> 0) AS leg;
    short_account_id := ledger_short_account(moved_ids, moved_deltas);
    -- Read once the accounts are locked: a concurrent post of the same movement has committed by then, and this
    -- one is its repeat, not a second movement (nor a refusal for the money the first one moved).
    IF p_key IS NOT NULL THEN
        SELECT txn.id INTO posted_id FROM budgets_ledgertransaction AS txn
            WHERE txn.collective_id = p_collective AND txn.idempotency_key = p_key;
        replayed := FOUND;
        IF replayed THEN
            short_account_id := NULL;
            RETURN;
        END IF;
    END IF;
    IF p_reverses IS NOT NULL AND EXISTS (SELECT FROM budgets_ledgertransaction AS txn
                                          WHERE txn.reverses_id = p_reverses) THEN
        RAISE EXCEPTION 'transaction % is already reversed', p_reverses USING ERRCODE = 'unique_violation';
    END IF;
    IF short_account_id IS NOT NULL THEN
        RETURN;
    END IF;
    INSERT INTO budgets_ledgertransaction (id, collective_id, kind, memo, actor_id, created_at, idempotency_key,
                                           reverses_id, linked_type, linked_id)
        VALUES (coalesce(p_id, nextval(pg_get_serial_sequence('budgets_ledgertransaction', 'id'))), p_collective,
                p_kind, p_memo, p_actor, p_posted_at, p_key, p_reverses, p_linked_type, p_linked_id)
        ON CONFLICT (collective_id, idempotency_key) DO NOTHING
        RETURNING id INTO posted_id;
    IF posted_id IS NULL THEN
        -- The same key posted on other accounts, committed after the look-up above.
        SELECT txn.id INTO posted_id FROM budgets_ledgertransaction AS txn
            WHERE txn.collective_id = p_collective AND txn.idempotency_key = p_key;
        replayed := true;
        RETURN;
    END IF;
    INSERT INTO budgets_entry (collective_id, transaction_id, account_id, amount)
        SELECT p_collective, posted_id, leg.id, leg.amount FROM unnest(p_accounts, p_amounts) AS leg(id, amount);
    PERFORM ledger_balances_move(moved_ids, moved_deltas);
END;
$$ LANGUAGE plpgsql;
"""

BACKWARD = """
DROP FUNCTION ledger_post(bigint, bigint, text, text, bigint, text, bigint, text, text, timestamptz, bigint[], numeric[]);
DROP FUNCTION ledger_balances_move(bigint[], numeric[]);
DROP FUNCTION ledger_short_account(bigint[], numeric[]);
"""


class Migration(migrations.Migration):
    dependencies = [("budgets", "0011_payout_sum_indexes")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
