"""Services of the ledger: the only code that writes money.

Every movement is one balanced transaction. Account balances are updated with
conditional UPDATEs taken in a fixed (id) order, so concurrent posts serialise
on the rows they touch, never deadlock, and never drive a protected account
below zero. Many movements (the grants of a period) are posted together: their
rows inserted in bulk and each account's balance moved once.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Sequence, TypedDict, Unpack

from django.db import IntegrityError, connection, transaction
from django.db.models import Model, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from contrib_budget.bulk import copy_insert, ids_reserve
from contrib_budget.errors import DomainError
from contrib_budget.models import record_label
from contrib_budget.money import has_at_most_two_decimals
from contrib_budget.statements import Statement, inserted, run_together
from members.models import Collective, User

from .models import Account, AccountKind, Entry, LedgerTransaction

logger = logging.getLogger(__name__)

Leg = tuple[Account, Decimal]
# What a movement is about: a model instance, or the (record label, id) pair that names one.
Linked = Model | tuple[str, str] | None

ACCOUNTS_ALLOWED_NEGATIVE = {AccountKind.FUNDING_SOURCE, AccountKind.PAID}


class InsufficientFunds(DomainError):
    default_code = "insufficient_funds"


class UnbalancedTransaction(DomainError):
    default_code = "unbalanced"


# A closing opens the accounts of thousands of people at once: one statement, without a model instance each.
_CREATE_ACCOUNTS = """
    INSERT INTO budgets_account (collective_id, currency, created_at, balance, kind, code, name, allow_negative)
    SELECT %s, %s, %s, 0, new.* FROM unnest(%s::text[], %s::text[], %s::text[], %s::boolean[])
        AS new(kind, code, name, allow_negative)
    ON CONFLICT (collective_id, code) DO NOTHING
"""


def account_get_or_create(
    *, collective: Collective, kind: str, code: str, name: str
) -> Account:
    return accounts_get_or_create(collective=collective, specs=[(kind, code, name)])[code]


def accounts_get_or_create(*, collective: Collective, specs: Iterable[tuple[str, str, str]]) -> dict[str, Account]:
    """The accounts of these (kind, code, name), by code: one query when they exist, three when some do not."""
    wanted = {code: (kind, name) for kind, code, name in specs}
    found = {account.code: account for account in Account.objects.of(collective).filter(code__in=wanted)}
    missing = [code for code in wanted if code not in found]
    if missing:
        # A concurrent caller may create the same accounts: whoever inserts second keeps the first's rows.
        kinds = [wanted[code][0] for code in missing]
        with connection.cursor() as cursor:
            cursor.execute(_CREATE_ACCOUNTS, [
                collective.pk, collective.currency, timezone.now(), kinds, missing,
                [wanted[code][1][:200] for code in missing], [kind in ACCOUNTS_ALLOWED_NEGATIVE for kind in kinds]])
        found.update((account.code, account) for account in Account.objects.of(collective).filter(code__in=missing))
    return found


def _check_legs(collective: Collective, legs: Sequence[Leg]) -> None:
    if len(legs) < 2:
        raise UnbalancedTransaction(_("A transaction needs at least two entries."))
    total = Decimal(0)
    for account, amount in legs:
        if not isinstance(amount, Decimal) or not has_at_most_two_decimals(amount):
            raise DomainError(_("Amounts must be decimals with at most two places."), "amount_precision")
        if amount == 0:
            raise UnbalancedTransaction(_("A ledger entry cannot be zero."))
        if account.collective_id != collective.pk:
            raise DomainError(_("Every account must belong to the same collective."), "cross_collective")
        if account.currency != collective.currency:
            raise DomainError(_("Every account must be in the collective's currency."), "currency_mismatch")
        total += amount
    if total != 0:
        raise UnbalancedTransaction(_("The entries of a transaction must sum to zero."))


def _apply_to_balances(legs: Iterable[Leg]) -> None:
    """Move every account's cached balance in two statements, whatever the number of legs.

    The rows are locked in id order first, so concurrent posts queue instead of deadlocking, and no balance moves
    when one would take a protected account below zero (the database's ledger_short_account and
    ledger_balances_move, migration budgets 0012, which ledger_post uses too). The legs' entries are already
    inserted (their foreign keys are checked at commit, so inserting them locks no account): a trigger (migration
    budgets 0007) refuses a balance that is not its entries' total.
    """
    deltas: dict[int, Decimal] = defaultdict(Decimal)
    accounts = {}
    for account, amount in legs:
        deltas[account.pk] += amount
        accounts[account.pk] = account
    ids = sorted(pk for pk, delta in deltas.items() if delta != 0)
    if not ids:
        return
    moved = [deltas[pk] for pk in ids]
    with connection.cursor() as cursor:
        cursor.execute("SELECT ledger_short_account(%s::bigint[], %s::numeric[])", [ids, moved])
        short = cursor.fetchone()[0]
        if short is not None:
            raise _insufficient(accounts[short])
        cursor.execute("SELECT ledger_balances_move(%s::bigint[], %s::numeric[])", [ids, moved])


def _insufficient(account: Account) -> InsufficientFunds:
    return InsufficientFunds(_("Not enough money in %(account)s.") % {"account": account.name})


def _link_of(linked: Linked) -> tuple[str, str]:
    if linked is None:
        return "", ""
    if isinstance(linked, tuple):
        return linked[0], str(linked[1])
    return record_label(linked), str(linked.pk)


@dataclass(frozen=True)
class Posting:
    """One balanced movement, of the many that `transactions_post_many` posts together."""

    kind: str
    legs: Sequence[Leg]
    memo: str = ""
    idempotency_key: str | None = None
    linked: Linked = None
    reverses: LedgerTransaction | None = None


def _enter(*, collective: Collective, transaction_ids: Sequence[int], postings: Sequence[Posting]) -> None:
    """The postings' entries, then their accounts' balances: the database lets a cached balance move only to its
    account's entries' total."""
    copy_insert(Entry, ["collective", "transaction", "account", "amount"], (
        (collective.pk, txn_id, account.pk, amount)
        for txn_id, posting in zip(transaction_ids, postings, strict=True) for account, amount in posting.legs
    ))
    _apply_to_balances(leg for posting in postings for leg in posting.legs)


def transaction_post(
    *,
    collective: Collective,
    kind: str,
    legs: Sequence[Leg],
    memo: str = "",
    actor: User | None = None,
    idempotency_key: str | None = None,
    linked: Linked = None,
    reverses: LedgerTransaction | None = None,
) -> LedgerTransaction:
    """Post one balanced transaction; with an idempotency key, post it once only.

    `linked` is the model instance the movement is about (a payout, an
    allocation...), or a `(label, id)` pair naming one.
    """
    txn, statement = posting_statement(collective=collective, kind=kind, legs=legs, memo=memo, actor=actor,
                                       idempotency_key=idempotency_key, linked=linked, reverses=reverses)
    # Only a reversal can fail on a unique slot that its caller then reports (transaction_reverse): the savepoint
    # keeps the caller's transaction usable. Every other refusal writes nothing.
    with transaction.atomic(savepoint=reverses is not None):
        [[row]] = run_together([statement])
    return posting_outcome(txn, legs, row)


def posting_statement(
    *, collective: Collective, kind: str, legs: Sequence[Leg], memo: str = "", actor: User | None = None,
    idempotency_key: str | None = None, linked: Linked = None, reverses: LedgerTransaction | None = None,
    transaction_id: int | None = None,
) -> tuple[LedgerTransaction, Statement]:
    """The transaction to post (not saved) and the statement that posts it in one round trip, for a caller that
    sends it with its own (contrib_budget.statements); `posting_outcome` reads its row. Under `transaction_id`
    when given: an id the caller reserved, to point its own rows at."""
    _check_legs(collective, legs)
    linked_type, linked_id = _link_of(linked)
    txn = LedgerTransaction(
        id=transaction_id, collective=collective, kind=kind, memo=memo[:255], actor=actor,
        idempotency_key=idempotency_key or None, reverses=reverses, linked_type=linked_type, linked_id=linked_id,
        created_at=timezone.now())
    return txn, Statement(_POST_ONE, [
        transaction_id, collective.pk, kind, txn.memo, txn.actor_id, txn.idempotency_key, txn.reverses_id,
        linked_type, linked_id, txn.created_at, [account.pk for account, _amount in legs],
        [amount for _account, amount in legs],
    ])


# The accounts locked, the key looked up, the transaction, its entries and the balances written (migration 0012).
_POST_ONE = """
    SELECT posted_id, replayed, short_account_id
    FROM ledger_post(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::bigint[], %s::numeric[])
"""


def posting_outcome(txn: LedgerTransaction, legs: Sequence[Leg], row: tuple) -> LedgerTransaction:
    """The transaction that `posting_statement`'s statement posted, or the one posted before under its key;
    InsufficientFunds, with nothing written, when an account would have gone below zero."""
    posted_id, replayed, short = row
    if short is not None:
        raise _insufficient(next(account for account, _amount in legs if account.pk == short))
    if replayed:
        return LedgerTransaction.objects.of(txn.collective_id).get(pk=posted_id)
    txn.pk = posted_id
    inserted(txn)
    logger.info("ledger: posted transaction %s (%s) in %s", txn.pk, txn.kind, txn.collective.slug)
    return txn


def transactions_post_many(
    *, collective: Collective, postings: Sequence[Posting], actor: User | None = None
) -> list[int]:
    """Post many balanced transactions at once, in the order given; returns their ids. A handful of statements
    whatever their number: the rows are copied in (contrib_budget.bulk), each balance moved once.

    All or nothing. Unlike `transaction_post`, a key already used is not looked up, it fails the whole post
    (IntegrityError): the caller holds the locks under which its keys are new (a closing's payouts, say).
    """
    for posting in postings:
        _check_legs(collective, posting.legs)
    if not postings:
        return []
    now = timezone.now()
    actor_id = actor.pk if actor is not None else None
    with transaction.atomic():
        ids = ids_reserve(LedgerTransaction, len(postings))
        copy_insert(LedgerTransaction, TRANSACTION_COLUMNS, (
            (txn_id, collective.pk, posting.kind, posting.memo[:255], actor_id, now, posting.idempotency_key,
             posting.reverses.pk if posting.reverses else None, *_link_of(posting.linked))
            for txn_id, posting in zip(ids, postings, strict=True)
        ))
        _enter(collective=collective, transaction_ids=ids, postings=postings)
    logger.info("ledger: posted %s transactions (%s) in %s", len(ids),
                ", ".join(sorted({posting.kind for posting in postings})), collective.slug)
    return ids


TRANSACTION_COLUMNS = ["id", "collective", "kind", "memo", "actor", "created_at", "idempotency_key", "reverses",
                       "linked_type", "linked_id"]


class PostOptions(TypedDict, total=False):
    """The keywords of `transaction_post` that `transfer` passes on."""

    memo: str
    actor: User | None
    idempotency_key: str | None
    linked: Linked
    reverses: LedgerTransaction | None


def transfer(
    *, collective: Collective, source: Account, destination: Account, amount: Decimal, kind: str,
    **options: Unpack[PostOptions],
) -> LedgerTransaction:
    return transaction_post(
        collective=collective, kind=kind, legs=[(source, -amount), (destination, amount)], **options
    )


def transaction_reverse(
    *, txn: LedgerTransaction, actor: User | None = None, memo: str = "", idempotency_key: str | None = None
) -> LedgerTransaction:
    """Undo a transaction by posting its mirror image; the original stays."""
    if LedgerTransaction.objects.filter(reverses=txn).exists():
        raise DomainError(_("This transaction has already been reversed."), "already_reversed")
    legs = [(entry.account, -entry.amount) for entry in txn.entries.select_related("account")]
    try:
        return transaction_post(
            collective=txn.collective,
            kind=f"{txn.kind}_reversal"[:40],
            legs=legs,
            memo=memo or _("Reversal of transaction #%(id)s") % {"id": txn.pk},
            actor=actor,
            idempotency_key=idempotency_key,
            reverses=txn,
            linked=(txn.linked_type, txn.linked_id) if txn.linked_type else None,
        )
    except IntegrityError:
        # A concurrent reversal won the unique `reverses` slot.
        if LedgerTransaction.objects.filter(reverses=txn).exists():
            raise DomainError(_("This transaction has already been reversed."), "already_reversed") from None
        raise


def balance_from_entries(account: Account) -> Decimal:
    return account.entries.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")

