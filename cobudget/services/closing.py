"""The close of a round: each bucket meets its outcome, unfunded ones give their money back, wallets settle."""

import logging
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from budgets.ledger import transfer
from budgets.models import Account
from contrib_budget.errors import Conflict
from contrib_budget.money import ZERO
from members.audit import audit_record
from members.models import User

from ..models import (
    Allocation,
    AllocationKind,
    Bucket,
    BucketStatus,
    LeftoverPolicy,
    PartialPolicy,
    Round,
    RoundCloseRequest,
    RoundStatus,
    Wallet,
)
from ..notifications import bucket_funded_notify, round_closed_notify
from ..permissions import MANAGE_ROUNDS
from .rounds import pool_account, round_source_account

logger = logging.getLogger(__name__)


def round_close(*, round: Round, actor: User | None = None) -> Round:
    """Close a round and settle it: resumable, and a second run posts nothing more.

    Step 1 marks the round closed (no allocation can start after it). Then each
    bucket, then each wallet, is settled in its own transaction under its row
    lock, its ledger movements named by idempotency keys; a run killed halfway
    is completed by the next one. Without an actor, beat closes a round whose funding window ended.
    """
    MANAGE_ROUNDS.require(collective=round.collective, actor=actor)
    if Round.objects.filter(pk=round.pk, status=RoundStatus.DRAFT).exists():
        raise Conflict(_("A round that never opened cannot be closed."), "round_not_open")
    # Committed before the lock is asked for: allocations starting now are refused, and the close only waits for
    # those already running.
    RoundCloseRequest.objects.get_or_create(round_id=round.pk, defaults={"collective_id": round.collective_id})
    with transaction.atomic():
        locked = Round.objects.select_for_update().get(pk=round.pk)
        if locked.settled_at:
            return locked
        if locked.status == RoundStatus.OPEN:
            locked.status = RoundStatus.CLOSED
            locked.closed_at = timezone.now()
            locked.save(update_fields=["status", "closed_at"])
            audit_record(collective=locked.collective, actor=actor, action="cobudget.round_closed", target=locked,
                         after={"closed_at": locked.closed_at.isoformat()})
    for bucket_id in Bucket.objects.filter(round=locked).order_by("pk").values_list("pk", flat=True):
        bucket_settle(bucket_id=bucket_id, actor=actor)
    for wallet_id in Wallet.objects.filter(round=locked).order_by("pk").values_list("pk", flat=True):
        wallet_settle(wallet_id=wallet_id, actor=actor)
    with transaction.atomic():
        if Round.objects.filter(pk=locked.pk, settled_at__isnull=True).update(settled_at=timezone.now()):
            round_closed_notify(round=locked, actor=actor)
    locked.refresh_from_db()
    logger.info("cobudget: round %s closed and settled", locked.pk)
    return locked


def net_funders(bucket: Bucket) -> list[dict]:
    """Who gave the bucket more than they took back (user_id, wallet_id, net), by user id."""
    return list(
        Allocation.objects.filter(bucket=bucket).values("user_id", "wallet_id").annotate(net=Sum("amount"))
        .filter(net__gt=0).order_by("user_id")
    )


def give_back(*, bucket: Bucket, actor: User | None, reason: str, memo: str) -> Decimal:
    """Return every funder's net allocation from the bucket to their wallet (idempotent per funder)."""
    wallets = {w.pk: w for w in Wallet.objects.filter(round_id=bucket.round_id).select_related("account")}
    total = ZERO
    for funder in net_funders(bucket):
        wallet = wallets[funder["wallet_id"]]
        txn = transfer(collective=bucket.collective, source=bucket.account, destination=wallet.account,
                       amount=funder["net"], kind="cobudget_refund", memo=memo, actor=actor,
                       idempotency_key=f"cobudget:bucket:{bucket.pk}:{reason}:{funder['user_id']}", linked=bucket)
        Allocation.objects.get_or_create(
            transaction=txn, bucket=bucket,
            defaults={"collective": bucket.collective, "round_id": bucket.round_id, "wallet": wallet,
                      "user_id": funder["user_id"], "kind": AllocationKind.REFUND, "amount": -funder["net"]},
        )
        total += funder["net"]
    return total


def bucket_outcome(*, round: Round, funded: Decimal, min_goal: Decimal) -> str:
    """The fate of an open bucket at the close, by the round's rules."""
    if funded >= min_goal:
        return BucketStatus.FUNDED
    if (funded > 0 and round.partial_policy == PartialPolicy.ACCEPT
            and funded * 100 >= min_goal * round.partial_threshold_percent):
        return BucketStatus.PARTIALLY_FUNDED
    return BucketStatus.UNFUNDED


def bucket_settle(*, bucket_id: int, actor: User | None = None) -> Bucket:
    with transaction.atomic():
        bucket = (Bucket.objects.select_for_update(of=("self",)).select_related("round", "collective")
                  .get(pk=bucket_id))
        if bucket.settled_at:
            return bucket
        before = bucket.status
        bucket.status_at_close = before
        if bucket.status == BucketStatus.PROPOSED:
            # Never approved for funding, so it holds no allocation: it ends unfunded, with nothing to refund.
            bucket.status = BucketStatus.UNFUNDED
        elif bucket.status in (BucketStatus.OPEN, BucketStatus.FUNDED):
            bucket.account = Account.objects.get(pk=bucket.account_id)
            outcome = bucket_outcome(round=bucket.round, funded=bucket.account.balance, min_goal=bucket.min_goal)
            if outcome == BucketStatus.UNFUNDED:
                give_back(bucket=bucket, actor=actor, reason="refund",
                          memo=_("Refund of %(bucket)s at the close") % {"bucket": bucket.title})
            if outcome != BucketStatus.UNFUNDED and before != BucketStatus.FUNDED:
                bucket_funded_notify(bucket=bucket, funded=bucket.account.balance, actor=actor)
            bucket.status = outcome
        bucket.settled_at = timezone.now()
        bucket.save(update_fields=["status", "status_at_close", "settled_at"])
        audit_record(collective=bucket.collective, actor=actor, action="cobudget.bucket_settled", target=bucket,
                     before={"status": before}, after={"status": bucket.status})
    return bucket


def wallet_settle(*, wallet_id: int, actor: User | None = None) -> Wallet:
    """What is left in a wallet at the close expires or returns to the pool, by the round's rule."""
    with transaction.atomic():
        wallet = Wallet.objects.select_for_update(of=("self",)).select_related("round", "collective").get(pk=wallet_id)
        if wallet.settled_at:
            return wallet
        wallet.account = Account.objects.get(pk=wallet.account_id)
        left = wallet.account.balance
        if left:
            round = wallet.round
            returning = round.leftover_policy == LeftoverPolicy.RETURN_TO_POOL
            destination = pool_account(wallet.collective) if returning else round_source_account(round)
            transfer(collective=wallet.collective, source=wallet.account, destination=destination, amount=left,
                     kind="cobudget_wallet_return" if returning else "cobudget_wallet_expiry",
                     memo=_("Left in a wallet of %(round)s") % {"round": round.name}, actor=actor,
                     idempotency_key=f"cobudget:wallet:{wallet.pk}:leftover", linked=wallet)
        wallet.settled_at = timezone.now()
        wallet.save(update_fields=["settled_at"])
    return wallet


def rounds_close_due(*, now: datetime | None = None) -> list[int]:
    """Close every open round whose funding window has ended; finish any close left halfway."""
    now = now or timezone.now()
    due = Round.objects.filter(status=RoundStatus.OPEN, funding_closes_at__lte=now).values_list("pk", flat=True)
    unfinished = Round.objects.filter(status=RoundStatus.CLOSED, settled_at__isnull=True).values_list("pk", flat=True)
    closed = []
    for round_id in sorted(set(due) | set(unfinished)):
        try:
            round_close(round=Round.objects.get(pk=round_id))
        except Exception:
            # One round that cannot close must not keep the others open: log it, the next run retries.
            logger.exception("cobudget: round %s could not be closed", round_id)
            continue
        closed.append(round_id)
    return closed
