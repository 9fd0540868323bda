"""The close of a round: each bucket meets its outcome, unfunded ones give their money back, wallets settle."""

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from budgets.ledger import Posting, transactions_post_many
from contrib_budget.errors import Conflict
from contrib_budget.money import ZERO
from members.audit import audit_record, audit_record_many
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
from .supports import equal_shares_fund

logger = logging.getLogger(__name__)


def round_close(*, round: Round, actor: User | None = None) -> Round:
    """Close a round and settle it: resumable, and a second run posts nothing more.

    Step 1 marks the round closed (no allocation can start after it). Then its buckets, then its wallets, are
    settled a set at a time, each set in its own transaction under its rows' locks, its ledger movements posted
    together; a run killed halfway is completed by the next one. Without an actor, beat closes a round whose
    funding window ended.
    """
    MANAGE_ROUNDS.require(collective=round.collective, actor=actor)
    if Round.objects.filter(pk=round.pk, status=RoundStatus.DRAFT).exists():
        raise Conflict(_("A round that never opened cannot be closed."), "round_not_open")
    # Committed before the lock is asked for: allocations starting now are refused, and the close only waits for
    # those already running.
    RoundCloseRequest.objects.get_or_create(round_id=round.pk, defaults={"collective_id": round.collective_id})
    with transaction.atomic():
        locked = Round.objects.select_for_update().select_related("collective").get(pk=round.pk)
        if locked.settled_at:
            return locked
        if locked.status == RoundStatus.OPEN:
            locked.status = RoundStatus.CLOSED
            locked.closed_at = timezone.now()
            locked.save(update_fields=["status", "closed_at"])
            audit_record(collective=locked.collective, actor=actor, action="cobudget.round_closed", target=locked,
                         after={"closed_at": locked.closed_at.isoformat()})
        equal_shares_fund(round=locked, actor=actor)
    while buckets_settle(round=locked, actor=actor):
        pass
    while wallets_settle(round=locked, actor=actor):
        pass
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


def give_back(*, buckets: list[Bucket], actor: User | None, reason: str, memo: Callable[[Bucket], str]) -> Decimal:
    """Return every funder's net allocation from each of `buckets` (locked by the caller, their accounts loaded)
    to their wallet, all in one post; returns the total given back."""
    if not buckets:
        return ZERO
    by_id = {bucket.pk: bucket for bucket in buckets}
    funders = list(Allocation.objects.filter(bucket__in=buckets).values("bucket_id", "user_id", "wallet_id")
                   .annotate(net=Sum("amount")).filter(net__gt=0).order_by("bucket_id", "user_id"))
    wallets = Wallet.objects.select_related("account").in_bulk({funder["wallet_id"] for funder in funders})
    postings = [
        Posting(kind="cobudget_refund", memo=memo(by_id[funder["bucket_id"]]), linked=by_id[funder["bucket_id"]],
                legs=[(by_id[funder["bucket_id"]].account, -funder["net"]),
                      (wallets[funder["wallet_id"]].account, funder["net"])],
                idempotency_key=f"cobudget:bucket:{funder['bucket_id']}:{reason}:{funder['user_id']}")
        for funder in funders
    ]
    collective = buckets[0].collective
    posted = transactions_post_many(collective=collective, postings=postings, actor=actor)
    Allocation.objects.bulk_create([
        Allocation(collective=collective, round_id=by_id[funder["bucket_id"]].round_id, bucket_id=funder["bucket_id"],
                   wallet_id=funder["wallet_id"], user_id=funder["user_id"], kind=AllocationKind.REFUND,
                   amount=-funder["net"], transaction_id=txn_id)
        for funder, txn_id in zip(funders, posted, strict=True)
    ])
    return sum((funder["net"] for funder in funders), ZERO)


def bucket_outcome(*, round: Round, funded: Decimal, min_goal: Decimal) -> str:
    """The fate of an open bucket at the close, by the round's rules."""
    if funded >= min_goal:
        return BucketStatus.FUNDED
    if (funded > 0 and round.partial_policy == PartialPolicy.ACCEPT
            and funded * 100 >= min_goal * round.partial_threshold_percent):
        return BucketStatus.PARTIALLY_FUNDED
    return BucketStatus.UNFUNDED


def _bucket_fate(bucket: Bucket, round: Round) -> str:
    if bucket.status == BucketStatus.DRAFT:
        # Never proposed: the round it was drafted for is over.
        return BucketStatus.CANCELLED
    if bucket.status == BucketStatus.PROPOSED:
        # Never approved for funding, so it holds no allocation: it ends unfunded, with nothing to refund.
        return BucketStatus.UNFUNDED
    if bucket.status in (BucketStatus.OPEN, BucketStatus.FUNDED):
        return bucket_outcome(round=round, funded=bucket.account.balance, min_goal=bucket.min_goal)
    return bucket.status


def buckets_settle(*, round: Round, actor: User | None = None) -> int:
    """Settle the next set of the round's unsettled buckets, in one transaction: each meets its outcome, the
    unfunded give their money back. Returns how many were settled (0: none was left)."""
    with transaction.atomic():
        buckets = list(Bucket.objects.select_for_update(of=("self",)).select_related("account", "collective")
                       .filter(round=round, settled_at__isnull=True)
                       .order_by("pk")[:settings.POSTINGS_PER_TRANSACTION])
        fates = {bucket.pk: _bucket_fate(bucket, round) for bucket in buckets}
        refunded = [bucket for bucket in buckets
                    if bucket.status in (BucketStatus.OPEN, BucketStatus.FUNDED)
                    and fates[bucket.pk] == BucketStatus.UNFUNDED]
        give_back(buckets=refunded, actor=actor, reason="refund",
                  memo=lambda bucket: _("Refund of %(bucket)s at the close") % {"bucket": bucket.title})
        changes: dict[tuple[str, str], list[int]] = defaultdict(list)
        for bucket in buckets:
            if fates[bucket.pk] != BucketStatus.UNFUNDED and bucket.status == BucketStatus.OPEN:
                bucket_funded_notify(bucket=bucket, funded=bucket.account.balance, actor=actor)
            changes[(bucket.status, fates[bucket.pk])].append(bucket.pk)
        now = timezone.now()
        for (before, after), ids in changes.items():
            Bucket.objects.filter(pk__in=ids).update(status=after, status_at_close=before, settled_at=now)
        audit_record_many(collective=round.collective, actor=actor, action="cobudget.bucket_settled", changes=(
            (bucket, {"status": bucket.status}, {"status": fates[bucket.pk]}) for bucket in buckets))
    return len(buckets)


def wallets_settle(*, round: Round, actor: User | None = None) -> int:
    """Settle the next set of the round's unsettled wallets, in one transaction: what is left in each expires or
    returns to the pool, by the round's rule; a round funded from the pool always gives it back to the pool, where
    it came from. Returns how many were settled (0: none was left)."""
    with transaction.atomic():
        wallets = list(Wallet.objects.select_for_update(of=("self",)).select_related("account")
                       .filter(round=round, settled_at__isnull=True)
                       .order_by("pk")[:settings.POSTINGS_PER_TRANSACTION])
        returning = round.leftover_policy == LeftoverPolicy.RETURN_TO_POOL or round.funded_from_pool
        left = [wallet for wallet in wallets if wallet.account.balance]
        if left:
            destination = pool_account(round.collective) if returning else round_source_account(round)
            memo = _("Left in a wallet of %(round)s") % {"round": round.name}
            transactions_post_many(collective=round.collective, actor=actor, postings=[
                Posting(kind="cobudget_wallet_return" if returning else "cobudget_wallet_expiry", memo=memo,
                        legs=[(wallet.account, -wallet.account.balance), (destination, wallet.account.balance)],
                        idempotency_key=f"cobudget:wallet:{wallet.pk}:leftover", linked=wallet)
                for wallet in left
            ])
        Wallet.objects.filter(pk__in=[wallet.pk for wallet in wallets]).update(settled_at=timezone.now())
    return len(wallets)


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
