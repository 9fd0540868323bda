"""Exporters about cobudget rounds: what each bucket collected, what each member gave."""

from typing import Iterator

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from cobudget.models import AllocationKind, Bucket, Round, Wallet
from contrib_budget.money import ZERO

from .base import CHUNK_SIZE, Exporter, register

GIVEN = ~Q(allocations__kind=AllocationKind.REFUND)
REFUNDED = Q(allocations__kind=AllocationKind.REFUND)


def rounds_in(collective, exporter: Exporter):
    """The round named by the `round` filter, else the rounds closed in the range."""
    rounds = Round.objects.of(collective)
    if round_id := exporter.filter_id("round"):
        return rounds.filter(pk=round_id)
    return rounds.filter(**exporter.range.filter_kwargs("closed_at"))


def bucket_results(rounds):
    """Per bucket: goals, what it collected (before refunds), what went back, its funders, its outcome."""
    return (
        Bucket.objects.filter(round__in=rounds)
        .annotate(
            funded=Coalesce(Sum("allocations__amount", filter=GIVEN), ZERO),
            refunded=Coalesce(-Sum("allocations__amount", filter=REFUNDED), ZERO),
            funders=Count("allocations__user", filter=Q(allocations__kind=AllocationKind.ALLOCATE), distinct=True),
        )
        .select_related("round").order_by("round_id", "created_at", "id")
    )


def member_results(rounds):
    """Per member and round: envelope, what they allocated (net of take-backs), what came back to them."""
    return (
        Wallet.objects.filter(round__in=rounds)
        .annotate(
            # Not `allocated`: the wallet's own column is what is in buckets now, refunds and take-backs counted.
            given=Coalesce(Sum("allocations__amount", filter=GIVEN), ZERO),
            returned=Coalesce(-Sum("allocations__amount", filter=REFUNDED), ZERO),
        )
        .select_related("round", "user", "account").order_by("round_id", "user__name", "user__email", "id")
    )


@register
class RoundResultsExporter(Exporter):
    """Two sections in one table: a row per bucket, then a row per member's envelope."""

    kind = "round_results"
    COLUMNS = ["section", "round", "name", "outcome", "min_goal", "max_goal", "funded", "funders", "refunded",
               "envelope", "allocated", "returned", "left_in_wallet"]

    def header(self) -> list[str]:
        return list(self.COLUMNS)

    def rounds(self):
        return rounds_in(self.collective, self)

    def count(self) -> int:
        rounds = self.rounds()
        return Bucket.objects.filter(round__in=rounds).count() + Wallet.objects.filter(round__in=rounds).count()

    def rows(self) -> Iterator[list]:
        rounds = self.rounds()
        for bucket in bucket_results(rounds).iterator(chunk_size=CHUNK_SIZE):
            yield ["bucket", bucket.round.name, bucket.title, bucket.status, bucket.min_goal, bucket.max_goal,
                   bucket.funded, bucket.funders, bucket.refunded, None, None, None, None]
        for wallet in member_results(rounds).iterator(chunk_size=CHUNK_SIZE):
            yield ["member", wallet.round.name, wallet.user.display_name, "", None, None, None, None, None,
                   wallet.envelope, wallet.given, wallet.returned, wallet.account.balance]
