"""Money given back to its funders, and the first close of a round that redistributes what a live round leaves.

`give_back` returns funders' net allocations to their wallets (a cancelled bucket, an unfunded one at the close,
one below its minimum at the first close). A round whose partial policy is "redistribute" closes twice: the first
close shuts funding, settles what each wallet holds now unless the round lets it be given again
(`redistribute_unspent`), gives back what the open buckets below their minimum hold, then opens a second window
of `redistribution_hours` in which the funders can give it to buckets still open and not yet full; the final
close (cobudget.services.closing) follows. Each step is resumable: a run killed after any of them is completed by
the next one, and a second run posts nothing more.
"""

import logging
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, F, OuterRef, Sum, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from budgets.ledger import Posting, transactions_post_many
from budgets.models import Account, LedgerTransaction
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
    RoundMode,
    RoundStatus,
    Wallet,
)
from ..notifications import redistribution_opened_notify
from ..permissions import MANAGE_ROUNDS
from .rounds import pool_account, round_source_account

logger = logging.getLogger(__name__)

# Where the first close keeps, in `Round.results`, that the wallets' unspent money was settled (step 2 is done).
UNSPENT_SETTLED = "redistribution_unspent_settled_at"
REASON = "redistribute"


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


def leftover_destination(round: Round) -> tuple[Account, str]:
    """Where money left in a wallet goes, and the ledger kind of the move: back to the pool when the round says so
    or was funded from it (where it came from), else it expires to the round's source."""
    if round.leftover_policy == LeftoverPolicy.RETURN_TO_POOL or round.funded_from_pool:
        return pool_account(round.collective), "cobudget_wallet_return"
    return round_source_account(round), "cobudget_wallet_expiry"


def is_first_close_due(round: Round) -> bool:
    """Whether closing `round` now is its first close: a live round that redistributes, still open, whose second
    window has not opened (read fresh: the caller's copy may be stale)."""
    return Round.objects.filter(pk=round.pk, status=RoundStatus.OPEN, mode=RoundMode.LIVE,
                                partial_policy=PartialPolicy.REDISTRIBUTE,
                                redistribution_closes_at__isnull=True).exists()


def redistribution_first_close(*, round: Round, actor: User | None = None) -> Round:
    """The first close: (1) funding shuts, (2) unless the round lets it be given again, what each wallet holds
    leaves it as at the close, (3) open buckets below their minimum give their money back and end unfunded,
    (4) the second window opens and the funders who got money back are told. Without an actor: beat's run."""
    MANAGE_ROUNDS.require(collective=round.collective, actor=actor)
    with transaction.atomic():
        locked = Round.objects.select_for_update().select_related("collective").get(pk=round.pk)
        if locked.status != RoundStatus.OPEN or locked.redistribution_closes_at is not None:
            return locked
        if locked.redistribution_started_at is None:
            locked.redistribution_started_at = timezone.now()
            locked.save(update_fields=["redistribution_started_at"])
            audit_record(collective=locked.collective, actor=actor, action="cobudget.redistribution_started",
                         target=locked,
                         after={"redistribution_started_at": locked.redistribution_started_at.isoformat()})
    if not locked.redistribute_unspent and UNSPENT_SETTLED not in locked.results:
        while unspent_settle(round=locked, actor=actor):
            pass
        with transaction.atomic():
            locked = Round.objects.select_for_update().select_related("collective").get(pk=round.pk)
            locked.results = {**locked.results, UNSPENT_SETTLED: timezone.now().isoformat()}
            locked.save(update_fields=["results"])
    while redistribution_buckets_settle(round=locked, actor=actor):
        pass
    with transaction.atomic():
        locked = Round.objects.select_for_update().select_related("collective").get(pk=round.pk)
        if locked.redistribution_closes_at is None:
            locked.redistribution_closes_at = timezone.now() + timedelta(hours=locked.redistribution_hours)
            locked.save(update_fields=["redistribution_closes_at"])
            audit_record(collective=locked.collective, actor=actor, action="cobudget.redistribution_opened",
                         target=locked,
                         after={"redistribution_closes_at": locked.redistribution_closes_at.isoformat()})
            redistribution_opened_notify(round=locked, given_back=redistribution_given_back(locked), actor=actor)
    logger.info("cobudget: round %s in its second window until %s", locked.pk, locked.redistribution_closes_at)
    return locked


def _unspent_key(wallet_pk: OuterRef) -> Concat:
    return Concat(Value("cobudget:wallet:"), Cast(wallet_pk, CharField()), Value(":unspent"))


def unspent_settle(*, round: Round, actor: User | None = None) -> int:
    """Step 2 of the first close, a set of wallets at a time: what each still holds leaves it as the final close
    would send it (the pool or the round's source). A wallet whose move was posted is skipped: a rerun posts
    nothing twice. Returns how many wallets moved (0: none was left)."""
    with transaction.atomic():
        # The round first, as everywhere: two runs take turns, the second one's query sees the first one's moves.
        list(Round.objects.select_for_update().filter(pk=round.pk).values_list("pk", flat=True))
        posted = LedgerTransaction.objects.filter(collective_id=round.collective_id,
                                                  idempotency_key=_unspent_key(OuterRef("pk")))
        wallets = list(Wallet.objects.select_for_update(of=("self",)).select_related("account")
                       .filter(round=round, account__balance__gt=0)
                       .annotate(done=Exists(posted.values("pk")))
                       .filter(done=False).order_by("pk")[:settings.POSTINGS_PER_TRANSACTION])
        if not wallets:
            return 0
        destination, kind = leftover_destination(round)
        memo = _("Unspent in a wallet of %(round)s at its first close") % {"round": round.name}
        transactions_post_many(collective=round.collective, actor=actor, postings=[
            Posting(kind=kind, memo=memo, linked=wallet,
                    legs=[(wallet.account, -wallet.account.balance), (destination, wallet.account.balance)],
                    idempotency_key=f"cobudget:wallet:{wallet.pk}:unspent")
            for wallet in wallets
        ])
    return len(wallets)


def redistribution_buckets_settle(*, round: Round, actor: User | None = None) -> int:
    """Step 3 of the first close, a set of buckets at a time: each open bucket (not full) holding less than its
    minimum gives every funder's net back to their wallet and ends unfunded. Returns how many were settled."""
    with transaction.atomic():
        list(Round.objects.select_for_update().filter(pk=round.pk).values_list("pk", flat=True))
        buckets = list(Bucket.objects.select_for_update(of=("self",)).select_related("account", "collective")
                       .filter(round=round, settled_at__isnull=True, status=BucketStatus.OPEN,
                               account__balance__lt=F("min_goal"))
                       .order_by("pk")[:settings.POSTINGS_PER_TRANSACTION])
        give_back(buckets=buckets, actor=actor, reason=REASON,
                  memo=lambda bucket: _("Refund of %(bucket)s at the first close") % {"bucket": bucket.title})
        Bucket.objects.filter(pk__in=[bucket.pk for bucket in buckets]).update(
            status=BucketStatus.UNFUNDED, status_at_close=BucketStatus.OPEN, settled_at=timezone.now())
        audit_record_many(collective=round.collective, actor=actor, action="cobudget.bucket_settled", changes=(
            (bucket, {"status": bucket.status}, {"status": BucketStatus.UNFUNDED}) for bucket in buckets))
    return len(buckets)


def redistribution_given_back(round: Round) -> dict[int, Decimal]:
    """What the first close gave back to each funder (user id → amount)."""
    rows = (Allocation.objects.filter(round=round, kind=AllocationKind.REFUND,
                                      transaction__idempotency_key__contains=f":{REASON}:")
            .values("user_id").annotate(total=Sum("amount")).values_list("user_id", "total"))
    return {user_id: -total for user_id, total in rows if total}
