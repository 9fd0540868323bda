"""The running totals that allocations keep (MemberBucketTotal, Wallet.allocated) checked against the sums they
replace; beat runs the check nightly beside the ledger's (budgets.ledger_audit), and alerts the same way."""

from datetime import date

from django.db.models import DecimalField, Exists, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from budgets.ledger_audit import collectives_check_and_alert
from budgets.models import MONEY
from contrib_budget.money import ZERO
from members.models import Collective

from .models import Allocation, MemberBucketTotal, Wallet


def _sum_of(allocations: QuerySet[Allocation], **outer: str) -> Coalesce:
    """The sum of the allocations matching the outer row's columns (`field=outer column`)."""
    matching = allocations.filter(**{field: OuterRef(column) for field, column in outer.items()})
    total = matching.values(*outer).annotate(total=Sum("amount")).values("total")
    return Coalesce(Subquery(total), Value(ZERO), output_field=DecimalField(**MONEY))


def running_total_violations(collective: Collective | None = None) -> list[str]:
    """Every running total that is not the sum of its allocations, as readable lines (empty: all agree)."""
    allocations, totals, wallets = Allocation.objects.all(), MemberBucketTotal.objects.all(), Wallet.objects.all()
    if collective is not None:
        allocations, totals, wallets = allocations.of(collective), totals.of(collective), wallets.of(collective)
    problems = [
        f"member {total.user_id} has {total.amount} in bucket {total.bucket_id} but their allocations sum to"
        f" {total.summed}"
        for total in totals.annotate(summed=_sum_of(allocations, bucket_id="bucket_id", user_id="user_id"))
        .exclude(amount=F("summed")).order_by("bucket_id", "user_id")
    ]
    untracked = (allocations.values("bucket_id", "user_id").annotate(summed=Sum("amount"))
                 .filter(~Exists(MemberBucketTotal.objects.filter(bucket_id=OuterRef("bucket_id"),
                                                                  user_id=OuterRef("user_id"))))
                 .order_by("bucket_id", "user_id"))
    problems += [f"member {row['user_id']} gave bucket {row['bucket_id']} {row['summed']} but has no running total"
                 for row in untracked]
    problems += [
        f"wallet #{wallet.pk} has {wallet.allocated} in buckets but its allocations sum to {wallet.summed}"
        for wallet in wallets.annotate(summed=_sum_of(allocations, wallet_id="pk"))
        .exclude(allocated=F("summed")).order_by("pk")
    ]
    return problems


def running_totals_check_and_alert(*, today: date) -> dict[int, list[str]]:
    """The nightly check of the running totals, told and emailed as the ledger's is."""
    return collectives_check_and_alert(check=running_total_violations, today=today,
                                       subject="Cobudget running totals: {count} differ from their allocations")
