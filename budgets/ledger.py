"""Services of the ledger: the only code that writes money.

Every movement is one balanced transaction. Account balances are updated with
conditional UPDATEs taken in a fixed (id) order, so concurrent posts serialise
on the rows they touch, never deadlock, and never drive a protected account
below zero.
"""

import logging
from collections import defaultdict
from decimal import Decimal
from typing import Sequence, TypedDict, Unpack

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Model, Q, Sum, Value, When
from django.utils.translation import gettext as _

from contrib_budget.errors import DomainError
from contrib_budget.models import record_label
from contrib_budget.money import has_at_most_two_decimals
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


def account_get_or_create(
    *, collective: Collective, kind: str, code: str, name: str
) -> Account:
    account, _created = Account.objects.get_or_create(
        collective=collective,
        code=code,
        defaults={
            "kind": kind,
            "name": name[:200],
            "currency": collective.currency,
            "allow_negative": kind in ACCOUNTS_ALLOWED_NEGATIVE,
        },
    )
    return account


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


def _apply_to_balances(legs: Sequence[Leg]) -> None:
    """Move every account's cached balance in two statements, whatever the number of legs.

    The rows are locked in id order first, so concurrent posts queue instead of
    deadlocking; the UPDATE then refuses, row by row, to take a protected
    account below zero. The legs' entries are already inserted (their foreign
    keys are checked at commit, so inserting them locks no account): a trigger
    (migration budgets 0007) refuses a balance that is not its entries' total.
    """
    deltas: dict[int, Decimal] = defaultdict(Decimal)
    accounts = {}
    for account, amount in legs:
        deltas[account.pk] += amount
        accounts[account.pk] = account
    ids = sorted(pk for pk, delta in deltas.items() if delta != 0)
    if not ids:
        return
    list(Account.objects.filter(pk__in=ids).order_by("pk").select_for_update().values_list("pk"))
    within_funds = Q()
    for pk in ids:
        within_funds |= Q(pk=pk) & (Q(allow_negative=True) | Q(balance__gte=-deltas[pk]))
    shift = Case(*(When(pk=pk, then=Value(deltas[pk])) for pk in ids), output_field=Account._meta.get_field("balance"))
    updated = Account.objects.filter(within_funds).update(balance=F("balance") + shift)
    if updated != len(ids):
        short = next(
            pk for pk in ids
            if not Account.objects.filter(pk=pk).filter(Q(allow_negative=True) | Q(balance__gte=-deltas[pk])).exists()
        )
        raise InsufficientFunds(_("Not enough money in %(account)s.") % {"account": accounts[short].name})


def _link_of(linked: Linked) -> tuple[str, str]:
    if linked is None:
        return "", ""
    if isinstance(linked, tuple):
        return linked[0], str(linked[1])
    return record_label(linked), str(linked.pk)


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
    linked_type, linked_id = _link_of(linked)
    _check_legs(collective, legs)
    if idempotency_key:
        existing = LedgerTransaction.objects.of(collective).filter(idempotency_key=idempotency_key).first()
        if existing:
            return existing
    try:
        with transaction.atomic():
            txn = LedgerTransaction.objects.create(
                collective=collective,
                kind=kind,
                memo=memo[:255],
                actor=actor,
                idempotency_key=idempotency_key,
                reverses=reverses,
                linked_type=linked_type,
                linked_id=linked_id,
            )
            # Entries first: the database lets a cached balance move only to its account's entries' total.
            Entry.objects.bulk_create(
                Entry(collective=collective, transaction=txn, account=account, amount=amount)
                for account, amount in legs
            )
            _apply_to_balances(legs)
    except IntegrityError:
        if idempotency_key:
            existing = LedgerTransaction.objects.of(collective).filter(idempotency_key=idempotency_key).first()
            if existing:
                return existing
        raise
    logger.info("ledger: posted transaction %s (%s) in %s", txn.pk, kind, collective.slug)
    return txn


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

