"""A person's money across their collectives: what they declared, what closings granted them, what is owed,
payable and paid, and what still waits for a review or a closing."""

from collections.abc import Iterable

from django.db.models import Count, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth

from budgets.models import NET_AMOUNT, Payout
from budgets.selectors import sum_of
from contrib_budget.money import ZERO
from contrib_budget.scopes import across_collectives
from members.models import Collective, Membership, User

from .models import NOT_COUNTED, Contribution, ContributionStatus


@across_collectives
def earnings_of(user: User) -> list[dict]:
    """Per collective of `user`: declared, granted, owed, payable and paid totals."""
    declared = (Contribution.objects.filter(author=user, collective=OuterRef("collective"))
                .exclude(status__in=NOT_COUNTED).order_by().values("collective"))
    payouts = Payout.objects.filter(person=user, collective=OuterRef("collective")).order_by().values("collective")
    memberships = (Membership.objects.filter(user=user).select_related("collective").order_by("collective__name")
                   .annotate(declared=sum_of(declared, "amount"),
                             granted=sum_of(payouts, "granted"),
                             owed=sum_of(payouts.filter(paid_on__isnull=True), F("granted") - F("payable_amount")),
                             payable=sum_of(payouts.filter(paid_on__isnull=True), F("payable_amount") - F("withheld")),
                             # What a correction withheld repaid an earlier payout: not paid again.
                             paid=sum_of(payouts.filter(paid_on__isnull=False), NET_AMOUNT)))
    return [
        {"collective": m.collective, "declared": m.declared, "granted": m.granted, "owed": m.owed,
         "payable": m.payable, "paid": m.paid}
        for m in memberships
    ]


def earnings_totals(rows: list[dict]) -> list[dict]:
    """The same figures summed per currency (collectives may use different ones)."""
    totals: dict[str, dict] = {}
    for row in rows:
        currency = row["collective"].currency
        total = totals.setdefault(currency, {"currency": currency,
                                             **{k: ZERO for k in ("declared", "granted", "owed", "payable", "paid")}})
        for key in ("declared", "granted", "owed", "payable", "paid"):
            total[key] += row[key]
    return list(totals.values())


@across_collectives
def earnings_by_month(user: User, collectives: Iterable[Collective]) -> list[dict]:
    """What closings granted `user` per month of their work (the month it was performed in) and per collective,
    among `collectives`: {"month": first day, "collective", "granted"}, in one query."""
    by_pk = {collective.pk: collective for collective in collectives}
    rows = (Payout.objects.filter(person=user, collective_id__in=list(by_pk), granted__gt=0)
            .annotate(month=TruncMonth("contribution__performed_on"))
            .values("month", "collective_id").annotate(total=Sum("granted")).order_by("month", "collective_id"))
    return [{"month": row["month"], "collective": by_pk[row["collective_id"]], "granted": row["total"]}
            for row in rows]


@across_collectives
def declarations_under_review(user: User, collectives: Iterable[Collective]) -> QuerySet[Contribution]:
    """A person's declarations still pending review in `collectives`, the latest work first."""
    return (Contribution.objects.filter(author=user, collective__in=list(collectives),
                                        status=ContributionStatus.PENDING)
            .select_related("collective", "budget").order_by("-performed_on", "-id"))


@across_collectives
def under_review_totals(user: User, collectives: Iterable[Collective]) -> list[dict]:
    """Per currency: how many declarations are pending and what they ask, and what is validated but waits for
    its period's closing (no payout yet)."""
    decided = [ContributionStatus.VALIDATED, ContributionStatus.ADJUSTED]
    rows = (Contribution.objects.filter(author=user, collective__in=list(collectives))
            .values("collective__currency")
            .annotate(pending_count=Count("id", filter=Q(status=ContributionStatus.PENDING)),
                      pending=Coalesce(Sum("amount", filter=Q(status=ContributionStatus.PENDING)), ZERO),
                      waiting=Coalesce(Sum(Coalesce("validated_amount", "amount"),
                                           filter=Q(status__in=decided, payout__isnull=True)), ZERO))
            .order_by("collective__currency"))
    return [{"currency": row["collective__currency"], "pending_count": row["pending_count"],
             "pending": row["pending"], "waiting": row["waiting"]}
            for row in rows if row["pending_count"] or row["waiting"]]
