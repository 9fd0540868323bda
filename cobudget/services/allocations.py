"""Allocations: a participant gives from their wallet to a bucket, or takes it back, while funding is open."""

from dataclasses import dataclass
from decimal import Decimal
from typing import NoReturn, TypeVar

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Model
from django.utils.translation import gettext as _

from budgets.ledger import InsufficientFunds, posting_outcome, posting_statement
from budgets.models import Account, LedgerTransaction
from contrib_budget.errors import Conflict, DomainError, Forbidden
from contrib_budget.money import MAX_ALLOCATION, ZERO, MoneyInput, format_money, parse_money
from contrib_budget.statements import Statement, ids_reserve_statement, insert_statement, inserted, run_together
from members.audit import audit_event
from members.models import Collective, User

from ..models import (
    Allocation,
    AllocationKind,
    Bucket,
    BucketStatus,
    OverallocationMode,
    Round,
    RoundCloseRequest,
    RoundMode,
    RoundStatus,
    Wallet,
)
from ..notifications import bucket_funded_notify
from .rounds import funding_is_open

M = TypeVar("M", bound=Model)


@dataclass
class AllocationResult:
    allocation: Allocation
    requested: Decimal
    amount: Decimal
    trimmed: bool
    funded_amount: Decimal
    wallet_balance: Decimal
    currency: str
    # Whose wallet gave, when a delegate gave on their behalf: their name.
    on_behalf_of_name: str = ""

    @property
    def message(self) -> str:
        if self.on_behalf_of_name:
            return self._delegated_message()
        if self.trimmed:
            return _("The bucket only needed %(amount)s: your allocation of %(requested)s was trimmed to it.") % {
                "amount": format_money(self.amount, self.currency),
                "requested": format_money(self.requested, self.currency)}
        if self.amount < 0:
            return _("You took back %(amount)s.") % {"amount": format_money(-self.amount, self.currency)}
        return _("You gave %(amount)s.") % {"amount": format_money(self.amount, self.currency)}

    def _delegated_message(self) -> str:
        values = {"amount": format_money(abs(self.amount), self.currency), "name": self.on_behalf_of_name,
                  "requested": format_money(self.requested, self.currency)}
        if self.trimmed:
            return _("The bucket only needed %(amount)s: your allocation of %(requested)s on behalf of %(name)s was "
                     "trimmed to it.") % values
        if self.amount < 0:
            return _("You took back %(amount)s on behalf of %(name)s.") % values
        return _("You gave %(amount)s on behalf of %(name)s.") % values


def allocation_create(*, bucket: Bucket, actor: User, amount: MoneyInput, round_id: int | None = None,
                      on_behalf_of: User | None = None) -> AllocationResult:
    """Move money from the actor's wallet into a bucket (or back out of it, with a negative amount).

    Under the round's shared lock and the bucket's row lock, the bucket's
    funding and the member's total in it are read fresh; the ledger's
    conditional update refuses to overdraw the wallet. So concurrent
    allocations can neither overfund the bucket, nor exceed the per-member
    maximum, nor drive a wallet below zero.

    The caller's bucket (with its collective, as the API loaded them) names what to lock. The locks and what they
    protect are one round trip, the writes another (contrib_budget.statements) that also commits, unless the
    bucket's status changes: the bucket stays locked for those two trips.

    With `on_behalf_of` (someone else than the actor), the actor gives from that person's wallet, as their
    delegate: the allocation is theirs (`user`, so the per-member maximum is theirs), `made_by` the actor. Their
    active delegation to the actor is held FOR SHARE until the commit, so taking it back waits for this allocation
    and an allocation after it is refused.
    """
    amount = parse_money(amount, "amount", signed=True, maximum=MAX_ALLOCATION)
    if amount == 0:
        raise DomainError(_("Enter an amount other than zero."), "zero_amount",
                          fields={"amount": [_("Must not be zero.")]})
    if round_id is not None and int(round_id) != bucket.round_id:
        raise DomainError(
            _("This bucket belongs to another round."), "wrong_round",
            fields={"round": [_("The bucket is in round %(id)s.") % {"id": bucket.round_id}]},
        )
    collective = bucket.collective
    owner = on_behalf_of if on_behalf_of is not None and on_behalf_of.pk != actor.pk else actor
    with transaction.atomic():
        locked = _lock_and_read(bucket, collective, owner=owner, actor=actor)
        round, bucket, state = locked.round, locked.bucket, locked.state
        if round.status == RoundStatus.CLOSED:
            raise Conflict(_("This round is closed: allocations are final."), "round_closed")
        if round.mode == RoundMode.EQUAL_SHARES:
            raise Conflict(_("In an Equal Shares round nobody gives money: support the buckets you want."),
                           "equal_shares_round")
        if not locked.delegated:
            raise Forbidden(_("%(name)s has not delegated their wallet to you in this round.")
                            % {"name": owner.display_name}, "not_delegate")
        if state is None or state.closing:
            _refuse_without_wallet(round)
        if not funding_is_open(round):
            raise Conflict(_("Funding is not open in this round."), "funding_closed")
        wallet, funded, mine = state.wallet, state.funded, state.mine
        requested, trimmed = amount, False
        if amount > 0:
            amount, trimmed = _check_allocation(round, bucket, funded, mine, wallet, amount)
        else:
            _check_retract(round, bucket, mine, amount)
        funded += amount
        status = BucketStatus.FUNDED if funded == bucket.max_goal else BucketStatus.OPEN
        # Most allocations leave the bucket's status as it was: their writes end the transaction (`_move`).
        allocation = _move(locked, wallet, actor, amount, owner=owner, funded=funded, last=status == bucket.status)
        if status != bucket.status:
            bucket.status = status
            bucket.save(update_fields=["status"])
            if status == BucketStatus.FUNDED:
                bucket_funded_notify(bucket=bucket, funded=funded + bucket.converted_amount, actor=actor)
    return AllocationResult(allocation=allocation, requested=requested, amount=amount, trimmed=trimmed,
                            funded_amount=funded + bucket.converted_amount, wallet_balance=wallet.account.balance,
                            currency=collective.currency,
                            on_behalf_of_name=owner.display_name if owner is not actor else "")


@dataclass
class ProtectedState:
    """What the locks protect, read once they are held."""

    wallet: Wallet
    closing: bool
    funded: Decimal
    mine: Decimal


@dataclass
class Locked:
    """What `_lock_and_read` found under the locks, and the ids reserved for the rows an allocation writes."""

    round: Round
    bucket: Bucket
    state: ProtectedState | None
    delegated: bool
    transaction_id: int
    allocation_id: int


def _lock_and_read(bucket: Bucket, collective: Collective, *, owner: User, actor: User) -> Locked:
    """Take the locks and read what they protect, in one round trip (contrib_budget.statements): the round FOR
    SHARE and the bucket FOR NO KEY UPDATE (the round first, as every service does); the owner's active delegation
    to the actor FOR SHARE, when the actor gives on the owner's behalf (so taking it back waits for this
    allocation, and an allocation after it is refused); then, from a snapshot taken once the locks are held, the
    owner's wallet with what the locks protect. The ids of the ledger transaction and the allocation to write are
    reserved in the same trip."""
    delegating = owner is not actor
    statements = [_locking_statement(bucket, collective)]
    if delegating:
        statements.append(Statement(
            "SELECT id FROM cobudget_delegation WHERE collective_id = %s AND round_id = %s AND delegator_id = %s"
            " AND delegate_id = %s AND revoked_at IS NULL FOR SHARE",
            [collective.pk, bucket.round_id, owner.pk, actor.pk]))
    statements += [_state_statement(bucket, collective, owner), ids_reserve_statement(LedgerTransaction, 1),
                   ids_reserve_statement(Allocation, 1)]
    rows = run_together(statements)
    if not rows[0]:
        raise Bucket.DoesNotExist
    round, locked = _locked_round_and_bucket(rows[0][0], collective)
    [state_rows, [(transaction_id,)], [(allocation_id,)]] = rows[-3:]
    return Locked(round=round, bucket=locked, state=_protected_state(state_rows, collective),
                  delegated=not delegating or bool(rows[1]), transaction_id=transaction_id,
                  allocation_id=allocation_id)


# What the locking statement returns, in this order: the round, the bucket, the bucket's ledger account.
LOCKED_ROWS: tuple[tuple[type[Model], str], ...] = ((Round, "r"), (Bucket, "b"), (Account, "a"))
# What the protected state's statement returns first: the wallet and its ledger account.
WALLET_ROWS: tuple[tuple[type[Model], str], ...] = ((Wallet, "w"), (Account, "wa"))


def _columns(rows: tuple[tuple[type[Model], str], ...]) -> str:
    return ", ".join(f'{alias}."{field.column}"' for model, alias in rows for field in model._meta.concrete_fields)


def _locking_statement(bucket: Bucket, collective: Collective) -> Statement:
    """The round FOR SHARE and the bucket FOR NO KEY UPDATE in one statement, the bucket with its ledger account.

    The account's balance is not the one to trust: it comes from the statement's snapshot, taken before the
    bucket's lock was granted; the protected state's statement reads it again."""
    return Statement(
        f"SELECT {_columns(LOCKED_ROWS)} FROM cobudget_round r JOIN cobudget_bucket b ON b.round_id = r.id"
        " JOIN budgets_account a ON a.id = b.account_id"
        " WHERE b.id = %s AND b.collective_id = %s FOR SHARE OF r FOR NO KEY UPDATE OF b",
        [bucket.pk, collective.pk])


def _locked_round_and_bucket(row: tuple, collective: Collective) -> tuple[Round, Bucket]:
    round = _instance(Round, row, 0)
    locked = _instance(Bucket, row, len(Round._meta.concrete_fields))
    locked.account = _instance(Account, row, len(Round._meta.concrete_fields) + len(Bucket._meta.concrete_fields))
    round.collective = locked.collective = collective
    return round, locked


def _state_statement(bucket: Bucket, collective: Collective, owner: User) -> Statement:
    """The owner's wallet and its account, with what the locks protect: whether the close was asked for, the
    bucket's funding and what the owner has in the bucket (a running total: MemberBucketTotal). No row when the
    owner has no wallet in the round."""
    return Statement(
        f"SELECT {_columns(WALLET_ROWS)},"
        " EXISTS (SELECT FROM cobudget_roundcloserequest c WHERE c.collective_id = %s AND c.round_id = %s),"
        " (SELECT a.balance FROM budgets_account a WHERE a.collective_id = %s AND a.id = %s),"
        " coalesce((SELECT t.amount FROM cobudget_memberbuckettotal t"
        "           WHERE t.collective_id = %s AND t.bucket_id = %s AND t.user_id = %s), 0)"
        " FROM cobudget_wallet w JOIN budgets_account wa ON wa.id = w.account_id"
        " WHERE w.collective_id = %s AND w.round_id = %s AND w.user_id = %s",
        [collective.pk, bucket.round_id, collective.pk, bucket.account_id, collective.pk, bucket.pk, owner.pk,
         collective.pk, bucket.round_id, owner.pk])


def _protected_state(rows: list[tuple], collective: Collective) -> ProtectedState | None:
    if not rows:
        return None
    [row] = rows
    wallet = _instance(Wallet, row, 0)
    wallet.account = _instance(Account, row, len(Wallet._meta.concrete_fields))
    wallet.collective = collective
    closing, funded, mine = row[-3:]
    return ProtectedState(wallet=wallet, closing=closing, funded=funded, mine=mine)


def _instance(model: type[M], row: tuple, start: int) -> M:
    """The `model` instance whose columns a row of a locking statement holds from `start` on."""
    fields = model._meta.concrete_fields
    return model.from_db(DEFAULT_DB_ALIAS, [field.attname for field in fields], row[start:start + len(fields)])


def _refuse_without_wallet(round: Round) -> NoReturn:
    """Why the allocation is refused when the close was asked for or the actor has no wallet, in the order the
    person should hear it: closing, then funding closed, then not a participant."""
    if RoundCloseRequest.objects.of(round.collective_id).filter(round_id=round.pk).exists():
        raise Conflict(_("This round is closing: allocations are no longer accepted."), "round_closing")
    if not funding_is_open(round):
        raise Conflict(_("Funding is not open in this round."), "funding_closed")
    raise Forbidden(_("You have no wallet in this round."), "not_participant")


def _move(locked: Locked, wallet: Wallet, actor: User, amount: Decimal, *, owner: User,
          funded: Decimal, last: bool) -> Allocation:
    """Post the money between wallet and bucket, record the allocation (its trigger moves the totals) and its
    audit event, in one round trip: the owner's allocation, made by the actor when they gave on the owner's
    behalf. The bucket's funding once it is made is `funded`.

    The allocation and its event are written only if the posting was: when the wallet is short, the trip writes
    nothing. So when these are the allocation's `last` writes, the same trip commits (contrib_budget.statements)
    and the bucket's lock is released without waiting for Python to send COMMIT. The trip also reads the wallet's
    balance once posted (or refused), which the person sees next."""
    bucket, collective = locked.bucket, locked.bucket.collective
    source, destination = (wallet.account, bucket.account) if amount > 0 else (bucket.account, wallet.account)
    legs = [(source, -abs(amount)), (destination, abs(amount))]
    txn, posting = posting_statement(
        collective=collective, kind="cobudget_allocation" if amount > 0 else "cobudget_retract", legs=legs,
        memo=bucket.title, actor=actor, linked=bucket, transaction_id=locked.transaction_id)
    allocation = Allocation(
        id=locked.allocation_id, collective=collective, round_id=bucket.round_id, bucket=bucket, wallet=wallet,
        user=owner, made_by=actor if owner is not actor else None,
        kind=AllocationKind.ALLOCATE if amount > 0 else AllocationKind.RETRACT, amount=amount, transaction=txn)
    event = audit_event(collective=collective, actor=actor, action=f"cobudget.{allocation.kind}", target=bucket,
                        after={"amount": str(amount), "funded": str(funded),
                               **({"on_behalf_of": owner.pk} if owner is not actor else {})})
    if_posted = Statement("SELECT FROM budgets_ledgertransaction WHERE id = %s", [locked.transaction_id])
    balance = Statement("SELECT balance FROM budgets_account WHERE collective_id = %s AND id = %s",
                        [collective.pk, wallet.account_id])
    [[posted], _allocation_rows, _event_rows, [(wallet.account.balance,)]] = run_together(
        [posting, insert_statement(allocation, only_if=if_posted), insert_statement(event, only_if=if_posted),
         balance], commit=last)
    try:
        posting_outcome(txn, legs, posted)
    except InsufficientFunds:
        # Nothing was posted, so neither the allocation nor its event was written.
        raise DomainError(
            _("Your wallet holds only %(balance)s.")
            % {"balance": format_money(wallet.account.balance, collective.currency)}, "insufficient_funds",
            fields={"amount": [_("More than your wallet holds.")]},
        ) from None
    inserted(allocation)
    return allocation


def _check_allocation(round: Round, bucket: Bucket, funded: Decimal, mine: Decimal, wallet: Wallet,
                      amount: Decimal) -> tuple[Decimal, bool]:
    currency = bucket.collective.currency
    if bucket.status == BucketStatus.FUNDED:
        raise Conflict(_("This bucket is already fully funded."), "bucket_full")
    if bucket.status != BucketStatus.OPEN:
        raise Conflict(_("This bucket is not open for funding."), "bucket_not_open")
    trimmed = False
    needed = bucket.max_goal - funded
    if amount > needed:
        if round.overallocation_mode != OverallocationMode.CAP_TO_REMAINING:
            raise DomainError(
                _("This bucket only needs %(needed)s more.") % {"needed": format_money(needed, currency)},
                "overfunding",
                fields={"amount": [_("At most %(needed)s.") % {"needed": format_money(needed, currency)}]},
            )
        amount, trimmed = needed, True
    if round.max_per_member_per_bucket is not None and mine + amount > round.max_per_member_per_bucket:
        left = max(round.max_per_member_per_bucket - mine, ZERO)
        raise DomainError(
            _("One member may give at most %(max)s to a bucket; you can still give %(left)s.")
            % {"max": format_money(round.max_per_member_per_bucket, currency), "left": format_money(left, currency)},
            "member_maximum", fields={"amount": [_("At most %(left)s.") % {"left": format_money(left, currency)}]},
        )
    if amount > wallet.account.balance:
        raise DomainError(
            _("Your wallet holds only %(balance)s.") % {"balance": format_money(wallet.account.balance, currency)},
                "insufficient_funds",
            fields={"amount": [_("More than your wallet holds.")]},
        )
    return amount, trimmed


def _check_retract(round: Round, bucket: Bucket, mine: Decimal, amount: Decimal) -> None:
    currency = bucket.collective.currency
    if not round.allow_retract:
        raise Forbidden(_("This round does not allow taking allocations back."), "retract_forbidden")
    if bucket.status not in (BucketStatus.OPEN, BucketStatus.FUNDED):
        raise Conflict(_("This bucket is not open for funding."), "bucket_not_open")
    if -amount > mine:
        raise DomainError(
            _("You gave this bucket %(mine)s: you cannot take back more.") % {"mine": format_money(mine, currency)},
            "retract_too_much",
            fields={"amount": [_("At most %(mine)s.") % {"mine": format_money(mine, currency)}]},
        )
