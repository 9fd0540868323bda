"""Declarations on the collective's home (members/dashboard.py): my work here, from under review to granted."""

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from budgets.models import NET_AMOUNT, Payout
from contrib_budget import charts
from contrib_budget.charts import BLUE, GREEN, ORANGE, Series
from contrib_budget.money import ZERO
from contrib_budget.prepared import Prepared
from members import dashboard
from members.models import Collective, Membership, Role

from .models import Contribution, ContributionStatus

DECIDED = (ContributionStatus.VALIDATED, ContributionStatus.ADJUSTED)


# Prepared (contrib_budget.prepared), as the other panels' queries: compiling them cost more than running them.
# Each sums the person's rows in one group: no row at all means nothing declared or granted yet.
_MY_DECLARATIONS = Prepared(lambda collective_id, user_id: (
    Contribution.objects.filter(collective_id=collective_id, author_id=user_id).order_by().values("author_id")
    .annotate(pending_count=Count("id", filter=Q(status=ContributionStatus.PENDING)),
              pending=Sum("amount", filter=Q(status=ContributionStatus.PENDING), default=ZERO),
              waiting=Sum(Coalesce("validated_amount", "amount"), filter=Q(status__in=DECIDED, payout__isnull=True),
                          default=ZERO))))
_MY_PAYOUTS = Prepared(lambda collective_id, user_id: (
    Payout.objects.filter(collective_id=collective_id, person_id=user_id).order_by().values("person_id")
    .annotate(granted_total=Sum("granted", default=ZERO),
              paid_total=Sum(NET_AMOUNT, filter=Q(paid_on__isnull=False), default=ZERO))))


def _my_work(collective: Collective, membership: Membership) -> dict | None:
    """Contributors, and whoever declared here: what is under review, validated and waiting for its period's
    closing, and granted (two queries)."""
    mine = {"collective_id": collective.pk, "user_id": membership.user_id}
    [figures] = _MY_DECLARATIONS.rows(**mine) or [{"pending_count": 0, "pending": ZERO, "waiting": ZERO}]
    [payouts] = _MY_PAYOUTS.rows(**mine) or [{"granted_total": ZERO, "paid_total": ZERO}]
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
