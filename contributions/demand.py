"""What declarations ask of each period's money, for the budgets' figures (budgets.demand)."""

from django.db.models import Count, Expression, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from budgets.demand import register_period_demand
from budgets.selectors import sum_of

from .models import NOT_COUNTED, Contribution, ContributionStatus


@register_period_demand
def declarations_asked() -> dict[str, Expression]:
    """Requested: every declaration still counted; validated: what review kept of the validated and adjusted."""
    declared = Contribution.objects.filter(period=OuterRef("pk")).order_by().values("period")
    decided = declared.filter(status__in=[ContributionStatus.VALIDATED, ContributionStatus.ADJUSTED])
    return {
        "requested": sum_of(declared.exclude(status__in=NOT_COUNTED), "amount"),
        "validated": sum_of(decided, Coalesce("validated_amount", "amount")),
        "declaration_count": Coalesce(Subquery(declared.annotate(n=Count("id")).values("n")[:1]), Value(0)),
    }
