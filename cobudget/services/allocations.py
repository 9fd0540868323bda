"""Allocations: a participant gives from their wallet to a bucket, or takes it back, while funding is open."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NoReturn, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.db.models import DecimalField, Exists, Model, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from budgets.ledger import InsufficientFunds, transfer
from budgets.models import MONEY, Account
from contrib_budget.errors import Conflict, DomainError, Forbidden
from contrib_budget.money import MAX_ALLOCATION, ZERO, MoneyInput, format_money, parse_money
from members.audit import audit_record
from members.models import Collective, User

from ..models import (
    Allocation,
    AllocationKind,
    Bucket,
    BucketStatus,
    MemberBucketTotal,
    OverallocationMode,
    Round,
    RoundCloseRequest,
    RoundMode,
    RoundStatus,
    Wallet,
)
from ..notifications import bucket_funded_notify
from .rounds import funding_is_open

MONEY_FIELD: DecimalField = DecimalField(max_digits=MONEY["max_digits"], decimal_places=MONEY["decimal_places"])
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

    The caller's bucket (with its collective, as the API loaded them) names what to lock: both locks are one
    statement, and what they protect one more, so the bucket stays locked for those and the writes only.

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
    with transaction.atomic():
        round, bucket = _lock_round_and_bucket(bucket, collective)
        if round.status == RoundStatus.CLOSED:
            raise Conflict(_("This round is closed: allocations are final."), "round_closed")
        if round.mode == RoundMode.EQUAL_SHARES:
            raise Conflict(_("In an Equal Shares round nobody gives money: support the buckets you want."),
                           "equal_shares_round")
        owner = actor
        if on_behalf_of is not None and on_behalf_of.pk != actor.pk:
            owner = on_behalf_of
            _hold_delegation(round, owner, actor)
        state = _protected_state(round, bucket, owner)
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
        allocation = _move(bucket, wallet, actor, amount, owner=owner)
        funded += amount
        status = BucketStatus.FUNDED if funded == bucket.max_goal else BucketStatus.OPEN
        if status != bucket.status:
            bucket.status = status
            bucket.save(update_fields=["status"])
            if status == BucketStatus.FUNDED:
                bucket_funded_notify(bucket=bucket, funded=funded + bucket.converted_amount, actor=actor)
        audit_record(collective=collective, actor=actor, action=f"cobudget.{allocation.kind}", target=bucket,
                     after={"amount": str(amount), "funded": str(funded),
                            **({"on_behalf_of": owner.pk} if owner is not actor else {})})
    # Read after the commit, outside the locks: the balance the person sees next.
    balance = Account.objects.of(collective).filter(pk=wallet.account_id).values_list("balance", flat=True).get()
    return AllocationResult(allocation=allocation, requested=requested, amount=amount, trimmed=trimmed,
                            funded_amount=funded + bucket.converted_amount, wallet_balance=balance,
                            currency=collective.currency,
                            on_behalf_of_name=owner.display_name if owner is not actor else "")


def _hold_delegation(round: Round, owner: User, actor: User) -> None:
    """Hold `owner`'s active delegation to `actor` FOR SHARE until the commit; refuse without one."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM cobudget_delegation WHERE collective_id = %s AND round_id = %s AND delegator_id = %s"
            " AND delegate_id = %s AND revoked_at IS NULL FOR SHARE",
            [round.collective_id, round.pk, owner.pk, actor.pk],
        )
        if cursor.fetchone() is None:
            raise Forbidden(_("%(name)s has not delegated their wallet to you in this round.")
                            % {"name": owner.display_name}, "not_delegate")


# What the locking statement returns, in this order: the round, the bucket, the bucket's ledger account.
LOCKED_ROWS: tuple[tuple[type[Model], str], ...] = ((Round, "r"), (Bucket, "b"), (Account, "a"))


def _lock_round_and_bucket(bucket: Bucket, collective: Collective) -> tuple[Round, Bucket]:
    """Lock the round FOR SHARE and the bucket FOR NO KEY UPDATE in one statement (the round first, as every
    service does) and return both as they are once locked, the bucket with its collective and ledger account.

    The account's balance is not the one to trust: it comes from the statement's snapshot, taken before the
    bucket's lock was granted; `_protected_state` reads it again."""
    select = ", ".join(f'{alias}."{field.column}"' for model, alias in LOCKED_ROWS
                       for field in model._meta.concrete_fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {select} FROM cobudget_round r JOIN cobudget_bucket b ON b.round_id = r.id"
            " JOIN budgets_account a ON a.id = b.account_id"
            " WHERE b.id = %s AND b.collective_id = %s FOR SHARE OF r FOR NO KEY UPDATE OF b",
            [bucket.pk, collective.pk],
        )
        row = cursor.fetchone()
    if row is None:
        raise Bucket.DoesNotExist
    round = _instance(Round, row, 0)
    locked = _instance(Bucket, row, len(Round._meta.concrete_fields))
    locked.account = _instance(Account, row, len(Round._meta.concrete_fields) + len(Bucket._meta.concrete_fields))
    round.collective = locked.collective = collective
    return round, locked


def _instance(model: type[M], row: tuple, start: int) -> M:
    """The `model` instance whose columns a row of the locking statement holds from `start` on."""
    fields = model._meta.concrete_fields
    return model.from_db(DEFAULT_DB_ALIAS, [field.attname for field in fields], row[start:start + len(fields)])


@dataclass
class ProtectedState:
    """What the locks protect, read once they are held."""

    wallet: Wallet
    closing: bool
    funded: Decimal
    mine: Decimal


def _protected_state(round: Round, bucket: Bucket, actor: User) -> ProtectedState | None:
    """The actor's wallet and its account, with what the locks protect, in one statement run after they were
    granted (so from a snapshot that sees every allocation committed before): whether the close was asked for,
    the bucket's funding and what the actor has in the bucket (a running total: MemberBucketTotal). None when
    the actor has no wallet in the round."""
    in_bucket = MemberBucketTotal.objects.of(bucket.collective).filter(bucket_id=bucket.pk, user=actor)
    row: Any = (
        Wallet.objects.of(bucket.collective).filter(round_id=round.pk, user=actor).select_related("account")
        .annotate(
            round_closing=Exists(RoundCloseRequest.objects.of(bucket.collective).filter(round_id=round.pk)),
            bucket_funded=Subquery(Account.objects.of(bucket.collective).filter(pk=bucket.account_id)
                                   .values("balance")),
            member_in_bucket=Coalesce(Subquery(in_bucket.values("amount")), ZERO, output_field=MONEY_FIELD),
        )
        .first()
    )
    if row is None:
        return None
    return ProtectedState(wallet=row, closing=row.round_closing, funded=row.bucket_funded,
                          mine=row.member_in_bucket)


def _refuse_without_wallet(round: Round) -> NoReturn:
    """Why the allocation is refused when the close was asked for or the actor has no wallet, in the order the
    person should hear it: closing, then funding closed, then not a participant."""
    if RoundCloseRequest.objects.of(round.collective).filter(round_id=round.pk).exists():
        raise Conflict(_("This round is closing: allocations are no longer accepted."), "round_closing")
    if not funding_is_open(round):
        raise Conflict(_("Funding is not open in this round."), "funding_closed")
    raise Forbidden(_("You have no wallet in this round."), "not_participant")


def _move(bucket: Bucket, wallet: Wallet, actor: User, amount: Decimal, *, owner: User) -> Allocation:
    """Post the money between wallet and bucket and record the allocation (its trigger moves the totals): the
    owner's, made by the actor when they gave on the owner's behalf."""
    source, destination = (wallet.account, bucket.account) if amount > 0 else (bucket.account, wallet.account)
    try:
        txn = transfer(collective=bucket.collective, source=source, destination=destination, amount=abs(amount),
                       kind="cobudget_allocation" if amount > 0 else "cobudget_retract", actor=actor,
                       memo=bucket.title, linked=bucket)
    except InsufficientFunds:
        wallet.account.refresh_from_db()
        raise DomainError(
            _("Your wallet holds only %(balance)s.")
            % {"balance": format_money(wallet.account.balance, bucket.collective.currency)}, "insufficient_funds",
            fields={"amount": [_("More than your wallet holds.")]},
        ) from None
    return Allocation.objects.create(
        collective=bucket.collective, round_id=bucket.round_id, bucket=bucket, wallet=wallet, user=owner,
        made_by=actor if owner is not actor else None,
        kind=AllocationKind.ALLOCATE if amount > 0 else AllocationKind.RETRACT, amount=amount, transaction=txn,
    )


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
