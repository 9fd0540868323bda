"""Rounds on the collective's home (members/dashboard.py): each open round with my wallet as a bar and the
buckets nearest their goal. Three prepared queries (contrib_budget.prepared), whatever the number of rounds and
buckets: the database picks the nearest buckets, so a round of a thousand buckets sends three of them."""

from django.db.models import Case, DecimalField, F, Value, When, Window
from django.db.models.functions import Least, RowNumber

from contrib_budget.prepared import Prepared
from members import dashboard
from members.models import Collective, Membership

from . import charts
from .models import Bucket, BucketStatus, Round, RoundStatus, Wallet
from .services import funding_is_open

SHOWN_ROUNDS = 3
SHOWN_BUCKETS = 3

_OPEN_ROUNDS = Prepared(lambda collective_id: (
    Round.objects.filter(collective_id=collective_id, status=RoundStatus.OPEN)
    .order_by(F("funding_closes_at").asc(nulls_last=True), "id")[:SHOWN_ROUNDS + 1]))

_MY_WALLETS = Prepared(lambda collective_id, round_ids, user_id: (
    Wallet.objects.filter(collective_id=collective_id, round_id__any=round_ids, user_id=user_id)
    .select_related("account")))


def _nearest_their_goal(collective_id: int, round_ids: list[int]):
    """Each round's open buckets that still need money, the nearest their next goal first (the minimum, then
    the maximum; a goal of zero counts as reached), at most SHOWN_BUCKETS a round."""
    money = DecimalField(max_digits=30, decimal_places=20)
    funded = F("account__balance") + F("converted_amount")
    next_goal = Case(When(funded__lt=F("min_goal"), then=F("min_goal")), default=F("max_goal"))
    share = Case(When(next_goal__gt=0, then=Least(F("funded") / F("next_goal"), Value(1), output_field=money)),
                 default=Value(1), output_field=money)
    nearest_first = Window(RowNumber(), partition_by=F("round_id"), order_by=[F("share").desc(), F("id")])
    return (Bucket.objects.filter(collective_id=collective_id, round_id__any=round_ids, status=BucketStatus.OPEN)
            .annotate(funded=funded).filter(funded__lt=F("max_goal"))
            .annotate(next_goal=next_goal).annotate(share=share).annotate(rank=nearest_first)
            .filter(rank__lte=SHOWN_BUCKETS).order_by("round_id", "rank"))


_NEAREST_THEIR_GOAL = Prepared(_nearest_their_goal)


def _open_rounds(collective: Collective, membership: Membership) -> dict | None:
    rounds = _OPEN_ROUNDS.rows(collective_id=collective.pk)
    if not rounds:
        return None
    shown = rounds[:SHOWN_ROUNDS]
    round_ids = [round.pk for round in shown]
    wallets = {wallet.round_id: wallet for wallet in _MY_WALLETS.rows(
        collective_id=collective.pk, round_ids=round_ids, user_id=membership.user_id)}
    nearest: dict[int, list[Bucket]] = {}
    for bucket in _NEAREST_THEIR_GOAL.rows(collective_id=collective.pk, round_ids=round_ids):
        bucket.chart = charts.bucket_funding_bar(bucket, bucket.funded, currency=collective.currency)
        nearest.setdefault(bucket.round_id, []).append(bucket)
    for round in shown:
        round.funding_open = funding_is_open(round)
        wallet = wallets.get(round.pk)
        round.wallet_chart = charts.wallet_gauge(wallet, currency=collective.currency) if wallet else None
        round.nearest = nearest.get(round.pk, [])
    return {"rounds": shown, "more": len(rounds) > SHOWN_ROUNDS}


dashboard.register(dashboard.Panel("cobudget.rounds", 40, "cobudget/dashboard/_rounds.html", _open_rounds))
