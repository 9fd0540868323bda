"""Allocations: a participant gives from their wallet to a bucket, or takes it back, while funding is open."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from budgets.ledger import InsufficientFunds, transfer
from budgets.models import Account
from contrib_budget.errors import Conflict, DomainError, Forbidden
from contrib_budget.money import MAX_ALLOCATION, ZERO, MoneyInput, format_money, parse_money
from members.audit import audit_record
from members.models import User

from ..models import (
    Allocation,
    AllocationKind,
    Bucket,
    BucketStatus,
    OverallocationMode,
    Round,
    RoundCloseRequest,
    RoundStatus,
    Wallet,
)
from ..notifications import bucket_funded_notify
from ._common import lock_round_shared
from .rounds import funding_is_open


@dataclass
class AllocationResult:
    allocation: Allocation
    requested: Decimal
    amount: Decimal
    trimmed: bool
    funded_amount: Decimal
    wallet_balance: Decimal
    currency: str

    @property
    def message(self) -> str:
        if self.trimmed:
            return _("The bucket only needed %(amount)s: your allocation of %(requested)s was trimmed to it.") % {
                "amount": format_money(self.amount, self.currency),
                "requested": format_money(self.requested, self.currency)}
        if self.amount < 0:
            return _("You took back %(amount)s.") % {"amount": format_money(-self.amount, self.currency)}
        return _("You gave %(amount)s.") % {"amount": format_money(self.amount, self.currency)}


def allocation_create(*, bucket: Bucket, actor: User, amount: MoneyInput,
                      round_id: int | None = None) -> AllocationResult:
    """Move money from the actor's wallet into a bucket (or back out of it, with a negative amount).

    Under the round's shared lock and the bucket's row lock, the bucket's
    funding and the member's total to it are read fresh; the ledger's
    conditional update refuses to overdraw the wallet. So concurrent
    allocations can neither overfund the bucket, nor exceed the per-member
    maximum, nor drive a wallet below zero.
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
    with transaction.atomic():
        round = lock_round_shared(bucket.round_id)
        if round.status == RoundStatus.CLOSED:
            raise Conflict(_("This round is closed: allocations are final."), "round_closed")
        if RoundCloseRequest.objects.filter(round_id=round.pk).exists():
            raise Conflict(_("This round is closing: allocations are no longer accepted."), "round_closing")
        if not funding_is_open(round):
            raise Conflict(_("Funding is not open in this round."), "funding_closed")
        bucket = Bucket.objects.select_for_update(of=("self",)).select_related("collective").get(pk=bucket.pk)
        wallet = Wallet.objects.filter(round_id=round.pk, user=actor).select_related("account").first()
        if wallet is None:
            raise Forbidden(_("You have no wallet in this round."), "not_participant")
        bucket.account = Account.objects.get(pk=bucket.account_id)
        funded = bucket.account.balance
        mine = Allocation.objects.filter(bucket=bucket, user=actor).aggregate(total=Sum("amount"))["total"] or ZERO
        requested, trimmed = amount, False
        if amount > 0:
            amount, trimmed = _check_allocation(round, bucket, funded, mine, wallet, amount)
        else:
            _check_retract(round, bucket, mine, amount)
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
        allocation = Allocation.objects.create(
            collective=bucket.collective, round_id=round.pk, bucket=bucket, wallet=wallet, user=actor,
            kind=AllocationKind.ALLOCATE if amount > 0 else AllocationKind.RETRACT, amount=amount, transaction=txn,
        )
        funded += amount
        status = BucketStatus.FUNDED if funded == bucket.max_goal else BucketStatus.OPEN
        if status != bucket.status:
            bucket.status = status
            bucket.save(update_fields=["status"])
            if status == BucketStatus.FUNDED:
                bucket_funded_notify(bucket=bucket, funded=funded + bucket.converted_amount, actor=actor)
        audit_record(collective=bucket.collective, actor=actor, action=f"cobudget.{allocation.kind}", target=bucket,
                     after={"amount": str(amount), "funded": str(funded)})
    wallet.account.refresh_from_db()
    return AllocationResult(allocation=allocation, requested=requested, amount=amount, trimmed=trimmed,
                            funded_amount=funded + bucket.converted_amount, wallet_balance=wallet.account.balance,
                            currency=bucket.collective.currency)


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
