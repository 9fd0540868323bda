"""Rounds on the collective's home (members/dashboard.py): each open round with my wallet as a bar and the
buckets nearest their goal. Four queries, whatever the number of rounds and buckets."""

from django.db.models import F

from members import dashboard
from members.models import Collective, Membership

from . import charts
from .models import Bucket, BucketStatus, Round, RoundStatus, Wallet
from .services import funding_is_open

SHOWN_ROUNDS = 3
SHOWN_BUCKETS = 3


def _open_rounds(collective: Collective, membership: Membership) -> dict | None:
    rounds = list(Round.objects.of(collective).filter(status=RoundStatus.OPEN)
                  .order_by(F("funding_closes_at").asc(nulls_last=True), "id")[:SHOWN_ROUNDS + 1])
    if not rounds:
        return None
    shown = rounds[:SHOWN_ROUNDS]
    wallets = {wallet.round_id: wallet for wallet in Wallet.objects.of(collective)
               .filter(round__in=shown, user=membership.user).select_related("account")}
    buckets: dict[int, list[Bucket]] = {}
    for bucket in (Bucket.objects.of(collective).filter(round__in=shown, status=BucketStatus.OPEN)
                   .select_related("account")):
        bucket.funded = bucket.account.balance + bucket.converted_amount
        if bucket.funded < bucket.max_goal:
            buckets.setdefault(bucket.round_id, []).append(bucket)
    for round in shown:
        round.funding_open = funding_is_open(round)
        wallet = wallets.get(round.pk)
        round.wallet_chart = charts.wallet_gauge(wallet, currency=collective.currency) if wallet else None
        nearest = sorted(buckets.get(round.pk, []), key=lambda b: (-charts.next_goal_share(b, b.funded), b.pk))
        round.nearest = nearest[:SHOWN_BUCKETS]
        for bucket in round.nearest:
            bucket.chart = charts.bucket_funding_bar(bucket, bucket.funded, currency=collective.currency)
    return {"rounds": shown, "more": len(rounds) > SHOWN_ROUNDS}


dashboard.register(dashboard.Panel("cobudget.rounds", 40, "cobudget/dashboard/_rounds.html", _open_rounds))
