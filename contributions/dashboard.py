"""Declarations on the collective's home (members/dashboard.py): my work here, from under review to granted."""

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from budgets.models import NET_AMOUNT, Payout
from contrib_budget import charts
from contrib_budget.charts import BLUE, GREEN, ORANGE, Series
from contrib_budget.money import ZERO
from members import dashboard
from members.models import Collective, Membership, Role

from .models import Contribution, ContributionStatus

DECIDED = (ContributionStatus.VALIDATED, ContributionStatus.ADJUSTED)


def _my_work(collective: Collective, membership: Membership) -> dict | None:
    """Contributors, and whoever declared here: what is under review, validated and waiting for its period's
    closing, and granted (two queries)."""
    mine = Contribution.objects.of(collective).filter(author=membership.user)
    figures = mine.aggregate(
        pending_count=Count("id", filter=Q(status=ContributionStatus.PENDING)),
        pending=Coalesce(Sum("amount", filter=Q(status=ContributionStatus.PENDING)), ZERO),
        waiting=Coalesce(Sum(Coalesce("validated_amount", "amount"),
                             filter=Q(status__in=DECIDED, payout__isnull=True)), ZERO),
    )
    payouts = Payout.objects.of(collective).filter(person=membership.user).aggregate(
        granted_total=Coalesce(Sum("granted"), ZERO),
        paid_total=Coalesce(Sum(NET_AMOUNT, filter=Q(paid_on__isnull=False)), ZERO))
    is_contributor = membership.has_role(Role.CONTRIBUTOR)
    if not is_contributor and not (figures["pending"] or figures["waiting"] or payouts["granted_total"]):
        return None
    chart = charts.gauge([(_("My work"), [
        (Series("granted", _("Granted"), GREEN), payouts["granted_total"]),
        (Series("validated", _("Validated, waiting for the closing"), BLUE), figures["waiting"]),
        (Series("pending", _("Under review"), ORANGE, hatched=True), figures["pending"]),
    ])], uid="my-work", currency=collective.currency)
    return {"chart": chart, "pending_count": figures["pending_count"], "paid": payouts["paid_total"],
            "is_contributor": is_contributor}


dashboard.register(dashboard.Panel("contributions.mine", 25, "contributions/dashboard/_mine.html", _my_work))
