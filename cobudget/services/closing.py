"""The close of a round: each bucket meets its outcome, unfunded ones give their money back, wallets settle.

A round that redistributes closes twice: `round_close` runs its first close (cobudget.services.redistribution)
until its second window opens, then the final close below.
"""

import logging
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Case, CharField, F, Q, Value, When
from django.db.models.lookups import GreaterThan, GreaterThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext as _

from budgets.ledger import Posting, transactions_post_many
from contrib_budget.errors import Conflict
from members.audit import audit_record, audit_record_many
from members.models import User

from ..models import Bucket, BucketStatus, PartialPolicy, Round, RoundCloseRequest, RoundStatus, Wallet
from ..notifications import bucket_funded_notify, round_closed_notify
from ..permissions import MANAGE_ROUNDS
from .redistribution import give_back, is_first_close_due, leftover_destination, redistribution_first_close
from .redistribution import net_funders as net_funders  # buckets import it from here
from .supports import equal_shares_fund

logger = logging.getLogger(__name__)


def round_close(*, round: Round, actor: User | None = None) -> Round:
    """Close a round and settle it: resumable, and a second run posts nothing more.

    Step 1 marks the round closed (no allocation can start after it). Then its buckets, then its wallets, are
    settled a set at a time, each set in its own transaction under its rows' locks, its ledger movements posted
    together; a run killed halfway is completed by the next one. Without an actor, beat closes a round whose
    funding window ended. A round that redistributes and whose second window has not opened gets its first close
    instead (without the close request: allocations are welcome again in its second window).
    """
    MANAGE_ROUNDS.require(collective=round.collective, actor=actor)
    if Round.objects.filter(pk=round.pk, status=RoundStatus.DRAFT).exists():
        raise Conflict(_("A round that never opened cannot be closed."), "round_not_open")
    if is_first_close_due(round):
        return redistribution_first_close(round=round, actor=actor)
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


def bucket_outcome(*, round: Round, funded: Decimal, min_goal: Decimal) -> str:
    """The fate of an open bucket at the close, by the round's rules (a round that redistributes refunds, as
    "refund" does: its second window is over)."""
    if funded >= min_goal:
        return BucketStatus.FUNDED
    if (funded > 0 and round.partial_policy == PartialPolicy.ACCEPT
            and funded * 100 >= min_goal * round.partial_threshold_percent):
        return BucketStatus.PARTIALLY_FUNDED
    return BucketStatus.UNFUNDED


def bucket_outcome_in_sql(round: Round) -> Case:
    """`bucket_outcome` of each bucket, by the database, from its account's balance (a bucket's annotation):
    the coordinator's round page previews the close of every bucket without reading one row a bucket. A
    proposed bucket ends unfunded (`_bucket_fate`). tests/cobudget/test_close_preview.py holds both to agree."""
    funded = F("account__balance")
    outcomes = [When(status=BucketStatus.PROPOSED, then=Value(BucketStatus.UNFUNDED.value)),
                When(GreaterThanOrEqual(funded, F("min_goal")), then=Value(BucketStatus.FUNDED.value))]
    if round.partial_policy == PartialPolicy.ACCEPT:
        reaches_threshold: GreaterThanOrEqual = GreaterThanOrEqual(
            funded * 100, F("min_goal") * round.partial_threshold_percent)
        outcomes.append(When(Q(GreaterThan(funded, 0)) & Q(reaches_threshold),
                             then=Value(BucketStatus.PARTIALLY_FUNDED.value)))
    return Case(*outcomes, default=Value(BucketStatus.UNFUNDED.value), output_field=CharField())


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
        left = [wallet for wallet in wallets if wallet.account.balance]
        if left:
            destination, kind = leftover_destination(round)
            memo = _("Left in a wallet of %(round)s") % {"round": round.name}
            transactions_post_many(collective=round.collective, actor=actor, postings=[
                Posting(kind=kind, memo=memo,
                        legs=[(wallet.account, -wallet.account.balance), (destination, wallet.account.balance)],
                        idempotency_key=f"cobudget:wallet:{wallet.pk}:leftover", linked=wallet)
                for wallet in left
            ])
        Wallet.objects.filter(pk__in=[wallet.pk for wallet in wallets]).update(settled_at=timezone.now())
    return len(wallets)


def rounds_close_due(*, now: datetime | None = None) -> list[int]:
    """Close every open round whose funding window has ended (a round that redistributes: its first close, then
    its final close once its second window has ended); finish any close left halfway."""
    now = now or timezone.now()
    due = Round.objects.filter(
        Q(redistribution_started_at__isnull=True, funding_closes_at__lte=now)
        | Q(redistribution_started_at__isnull=False, redistribution_closes_at__isnull=True)
        | Q(redistribution_closes_at__lte=now), status=RoundStatus.OPEN).values_list("pk", flat=True)
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
