"""Exporters about people and funders: payouts, and what each funding paid for."""

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Iterator

from django.contrib.postgres.aggregates import StringAgg
from django.db.models import F, Max, Q, Sum
from django.db.models.functions import Coalesce

from budgets.models import NET_AMOUNT, Funding, Payout
from contrib_budget.money import ZERO, split_largest_remainder

from .base import CHUNK_SIZE, Exporter, register


def transfer_reference(*, period_id: int, person_id: int) -> str:
    """What to write on the transfer that pays a person for a period (matched by accounting.bank)."""
    return f"CB-{period_id}-{person_id}"


class PayoutScope(Exporter):
    """Payouts of the periods that overlap the range, optionally of one budget or period."""

    def payouts(self):
        payouts = Payout.objects.of(self.collective)
        if self.range.first:
            payouts = payouts.filter(period__ends_on__gte=self.range.first)
        if self.range.last:
            payouts = payouts.filter(period__starts_on__lte=self.range.last)
        if budget := self.filter_id("budget"):
            payouts = payouts.filter(period__budget_id=budget)
        if period := self.filter_id("period"):
            payouts = payouts.filter(period_id=period)
        return payouts


@register
class PayoutsExporter(PayoutScope):
    """Per person and per period: requested, granted, owed, payable (not yet paid), paid, references.

    `transfer_reference` is what to write on the bank transfer so the bank's
    CSV can mark the payouts paid.
    """

    kind = "payouts"
    COLUMNS = ["budget", "period_id", "period_start", "period_end", "person", "email", "requested", "granted",
               "owed", "payable", "paid", "paid_on", "reference", "transfer_reference"]

    def header(self) -> list[str]:
        return list(self.COLUMNS)

    def grouped(self):
        paid = Q(paid_on__isnull=False)
        return (
            self.payouts()
            .values("period_id", "period__budget__name", "period__starts_on", "period__ends_on",
                    "person_id", "person__name", "person__email")
            .annotate(
                requested_total=Sum("requested"),
                granted_total=Sum("granted"),
                owed_total=Sum(F("granted") - F("payable_amount")),
                # What a correction withheld from a payout was never payable to the person, nor paid to them.
                payable_total=Coalesce(Sum(F("payable_amount") - F("withheld"), filter=~paid), ZERO),
                paid_total=Coalesce(Sum(NET_AMOUNT, filter=paid), ZERO),
                last_paid_on=Max("paid_on"),
                references=StringAgg("reference", delimiter=" ", distinct=True, default=""),
            )
            .order_by("period__starts_on", "period_id", "person__name", "person_id")
        )

    def count(self) -> int:
        return self.grouped().count()

    def rows(self) -> Iterator[list]:
        for row in self.grouped().iterator(chunk_size=CHUNK_SIZE):
            yield [row["period__budget__name"], row["period_id"], row["period__starts_on"], row["period__ends_on"],
                   row["person__name"] or row["person__email"], row["person__email"], row["requested_total"],
                   row["granted_total"], row["owed_total"], row["payable_total"], row["paid_total"],
                   row["last_paid_on"], row["references"].strip(),
                   transfer_reference(period_id=row["period_id"], person_id=row["person_id"])]


@register
class FundingUseExporter(PayoutScope):
    """What each funding paid for, by envelope and by person.

    Within a budget, what the closings granted to each (envelope, person) is
    attributed to the budget's fundings in proportion to their amounts, with
    largest-remainder rounding, so the attributed amounts sum exactly to what
    was granted. Pledged fundings are included and flagged by their status.
    """

    kind = "funding_use"
    COLUMNS = ["source", "source_kind", "funding_id", "funding_status", "funding_amount", "budget", "envelope",
               "person", "email", "granted", "paid", "attributed_granted", "attributed_paid"]

    def header(self) -> list[str]:
        return list(self.COLUMNS)

    def uses(self):
        paid = Q(paid_on__isnull=False)
        return (
            self.payouts()
            .values("period__budget_id", "period__budget__name", "contribution__envelope__name",
                    "person_id", "person__name", "person__email")
            .annotate(granted_total=Sum("granted"), paid_total=Coalesce(Sum("granted", filter=paid), ZERO))
            .order_by("period__budget_id", "contribution__envelope__name", "person__name", "person_id")
        )

    def fundings_by_budget(self) -> dict[int, list[Funding]]:
        budgets = self.uses().values("period__budget_id")
        fundings = defaultdict(list)
        for funding in (Funding.objects.of(self.collective)
                        .filter(budget_id__in=budgets, cancelled_at__isnull=True).order_by("id")):
            fundings[funding.budget_id].append(funding)
        return fundings

    def count(self) -> int:
        fundings = self.fundings_by_budget()
        return sum(max(1, len(fundings[row["period__budget_id"]])) for row in self.uses())

    def rows(self) -> Iterator[list]:
        fundings = self.fundings_by_budget()
        for row in self.uses().iterator(chunk_size=CHUNK_SIZE):
            sources = fundings[row["period__budget_id"]]
            weights = [funding.amount for funding in sources]
            granted_parts: Sequence[Decimal | None] = (
                split_largest_remainder(row["granted_total"], weights) if sources else [None])
            paid_parts: Sequence[Decimal | None] = (
                split_largest_remainder(row["paid_total"], weights) if sources else [None])
            person = row["person__name"] or row["person__email"]
            for index, funding in enumerate(sources or [None]):
                head = ([funding.source, funding.source_kind, funding.pk, funding.status, funding.amount]
                        if funding else ["", "", "", "", ""])
                yield [*head, row["period__budget__name"], row["contribution__envelope__name"] or "", person,
                       row["person__email"], row["granted_total"], row["paid_total"], granted_parts[index],
                       paid_parts[index]]
