"""What declarations ask of each period's money, for the budgets' figures (budgets.demand).

Each period keeps what its declarations ask in its own row (`requested_total`, `validated_total`, `claim_count`),
kept by triggers on the declarations (migration 0008): a period's figures read one row however many declarations
it has. The sums those columns stand for are written here once, for the nightly check that compares them."""

from datetime import date

from django.db.models import Count, Expression, F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from budgets.demand import register_period_demand
from budgets.ledger_audit import collectives_check_and_alert
from budgets.models import Period
from budgets.selectors import sum_of
from members.models import Collective

from .models import NOT_COUNTED, Contribution, ContributionStatus


@register_period_demand
def declarations_asked() -> dict[str, Expression]:
    """Requested: every declaration still counted; validated: what review kept of the validated and adjusted."""
    return {"requested": F("requested_total"), "validated": F("validated_total"), "declaration_count": F("claim_count")}


def declarations_summed() -> dict[str, Expression]:
    """What `declarations_asked` keeps, summed from the outer period's declarations."""
    declared = Contribution.objects.filter(period=OuterRef("pk")).order_by().values("period")
    decided = declared.filter(status__in=[ContributionStatus.VALIDATED, ContributionStatus.ADJUSTED])
    return {
        "requested": sum_of(declared.exclude(status__in=NOT_COUNTED), "amount"),
        "validated": sum_of(decided, Coalesce("validated_amount", "amount")),
        "declaration_count": Coalesce(Subquery(declared.annotate(n=Count("id")).values("n")[:1]), Value(0)),
    }


def demand_total_violations(collective: Collective | None = None) -> list[str]:
    """Every period whose kept totals differ from its declarations' sums, as readable lines (empty: all agree)."""
    periods = Period.objects.all() if collective is None else Period.objects.of(collective)
    kept = {"requested": "requested_total", "validated": "validated_total", "declaration_count": "claim_count"}
    rows = (periods.annotate(**declarations_summed()).order_by("pk")
            .values("pk", *kept.values(), *kept))
    return [f"period #{row['pk']} keeps {row[column]} as {name} but its declarations sum to {row[name]}"
            for row in rows for name, column in kept.items() if row[column] != row[name]]


def demand_totals_check_and_alert(*, today: date) -> dict[int, list[str]]:
    """The nightly check of the periods' kept totals, told and emailed as the ledger's is."""
    return collectives_check_and_alert(check=demand_total_violations, today=today,
                                       subject="Periods' totals: {count} differ from their declarations")
