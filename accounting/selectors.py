"""Reads of the accounting area worth naming: settings, totals that tie out, exports."""

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from budgets.models import AccountKind, Entry, Payout, Period
from contrib_budget.money import ZERO
from members.models import Collective

from .dates import DateRange
from .models import AccountingSettings, Export
from .scopes import ledger_scope


def accounting_settings_of(collective: Collective) -> AccountingSettings:
    """The collective's settings, or the defaults (unsaved) when none were recorded."""
    return AccountingSettings.objects.of(collective).first() or AccountingSettings(collective=collective)


def ledger_totals(*, collective: Collective, date_range: DateRange, budget_id: int | None = None,
                  round_id: int | None = None) -> dict[str, Any]:
    """Debits, credits and entry counts of the range (of a budget, of a round), in total and per account kind."""
    rows = (
        Entry.objects.of(collective)
        .filter(ledger_scope(collective, budget_id=budget_id, round_id=round_id))
        .filter(**date_range.filter_kwargs("transaction__created_at"))
        .values("account__kind")
        .annotate(
            debit=Coalesce(Sum("amount", filter=Q(amount__gt=0)), ZERO),
            credit=Coalesce(-Sum("amount", filter=Q(amount__lt=0)), ZERO),
            entries=Count("id"),
        )
        .order_by("account__kind")
    )
    per_kind = [
        {"kind": row["account__kind"], "label": AccountKind(row["account__kind"]).label,
         "debit": row["debit"], "credit": row["credit"], "balance": row["debit"] - row["credit"],
         "entries": row["entries"]}
        for row in rows
    ]
    debit = sum((row["debit"] for row in per_kind), ZERO)
    credit = sum((row["credit"] for row in per_kind), ZERO)
    return {
        "per_kind": per_kind,
        "debit": debit,
        "credit": credit,
        "entries": sum(row["entries"] for row in per_kind),
        "balanced": debit == credit,
    }


def exports_of(collective: Collective) -> QuerySet[Export]:
    return Export.objects.of(collective).select_related("requested_by")


def payout_totals(*, collective: Collective, date_range: DateRange, budget_id: int | None = None) -> dict[str, Any]:
    """What the closings of the range granted, and how far it is paid: granted = owed + payable + paid."""
    payouts = Payout.objects.of(collective)
    if date_range.first:
        payouts = payouts.filter(period__ends_on__gte=date_range.first)
    if date_range.last:
        payouts = payouts.filter(period__starts_on__lte=date_range.last)
    if budget_id:
        payouts = payouts.filter(period__budget_id=budget_id)
    paid = Q(paid_on__isnull=False)
    sums = payouts.aggregate(
        requested_total=Coalesce(Sum("requested"), ZERO),
        granted_total=Coalesce(Sum("granted"), ZERO),
        paid_total=Coalesce(Sum("granted", filter=paid), ZERO),
        payable_total=Coalesce(Sum("payable_amount", filter=~paid), ZERO),
        count=Count("id"),
    )
    totals = {key.removesuffix("_total"): value for key, value in sums.items()}
    totals["owed"] = totals["granted"] - totals["paid"] - totals["payable"]
    return totals


def _count(payouts: QuerySet[Payout]) -> Coalesce:
    counted = payouts.order_by().values("period").annotate(count=Count("pk")).values("count")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def periods_with_settlement(periods: QuerySet[Period]) -> QuerySet[Period]:
    """Periods annotated with what keeps them from being locked: `unposted` grants and `unpaid` payouts (what
    locking seals is the period's own `granted_total`)."""
    granted = Payout.objects.filter(period=OuterRef("pk"), granted__gt=0)
    return periods.annotate(unposted=_count(granted.filter(grant_transaction__isnull=True)),
                            unpaid=_count(granted.filter(paid_on__isnull=True)))
