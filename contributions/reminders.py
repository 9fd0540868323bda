"""Reminders of declarations: declare before a period ends, review what waits.

Each runs hourly (members.notifications.reminders) and names its occasion,
so that each person is reminded once per occasion whatever the number of runs.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils.translation import gettext_lazy, ngettext

from budgets.models import Budget, Period, PeriodStatus
from budgets.periods import periods_ensure
from members.models import Membership, Role
from members.notifications.kinds import Kind, formatted, register
from members.notifications.reminders import enabled_for, reminder_provider, settings_of
from members.notifications.services import Notice, notify, notify_each

from .models import Approval, Contribution, ContributionStatus


def _review_text(params: dict, currency: str) -> str:
    return ngettext(
        "%(count)s declaration has waited more than %(days)s days for your review in %(collective)s.",
        "%(count)s declarations have waited more than %(days)s days for your review in %(collective)s.",
        params["count"],
    ) % params


def _declare_text(params: dict, currency: str) -> str:
    return str(gettext_lazy("The period of “%(budget)s” ends on %(ends_on)s and you have declared nothing in it yet: "
                            "declare your work before it closes.")) % formatted(params, currency, dates=("ends_on",))


register(
    Kind("period.closing_soon", gettext_lazy("Reminders to declare before a period ends"), render=_declare_text),
    Kind("review.waiting", gettext_lazy("Reminders of declarations waiting for my review"), render=_review_text),
)


def _today(collective, now: datetime):
    return now.astimezone(ZoneInfo(collective.timezone)).date()


def _ensure_periods(collective, *, today, horizon) -> None:
    """The periods ending by `horizon` exist, even for an open-ended budget nobody has used for a while."""
    running = Budget.objects.of(collective).filter(starts_on__lte=horizon).exclude(ends_on__lt=today)
    for budget in running:
        periods_ensure(budget=budget, up_to=horizon)


@reminder_provider
def remind_to_declare(now: datetime) -> int:
    """Contributors who declared nothing in an open period, N days before it ends (the counter reading)."""
    sent = 0
    for collective in enabled_for("declare_enabled"):
        today = _today(collective, now)
        horizon = today + timedelta(days=settings_of(collective).declare_days_before)
        _ensure_periods(collective, today=today, horizon=horizon)
        periods = (Period.objects.of(collective).filter(status=PeriodStatus.OPEN, ends_on__gte=today,
                                                        ends_on__lte=horizon).select_related("budget"))
        contributors = set(Membership.objects.of(collective).filter(roles__contains=[Role.CONTRIBUTOR.value])
                           .values_list("user_id", flat=True))
        for period in periods:
            declared = set(Contribution.objects.filter(period=period).values_list("author_id", flat=True))
            sent += len(notify(
                collective=collective, kind="period.closing_soon", recipients=sorted(contributors - declared),
                params={"budget": period.budget.name, "ends_on": period.ends_on.isoformat()},
                url=reverse("period_detail", args=[collective.slug, period.pk]),
                occasion=f"period.closing_soon:{period.pk}",
            ))
    return sent


@reminder_provider
def remind_to_review(now: datetime) -> int:
    """Coordinators, about declarations of others waiting more than N days that they have not approved.

    The occasion is the newest of those declarations: a reviewer is reminded
    again only once another declaration has waited too long.
    """
    sent = 0
    for collective in enabled_for("review_enabled"):
        days = settings_of(collective).review_after_days
        waiting = list(Contribution.objects.of(collective).filter(
            status=ContributionStatus.PENDING, period__status=PeriodStatus.OPEN,
            created_at__lt=now - timedelta(days=days),
        ).values_list("pk", "author_id"))
        if not waiting:
            continue
        approved = defaultdict(set)
        for contribution_id, coordinator_id in (Approval.objects.filter(contribution_id__in=[pk for pk, _a in waiting])
                                                .values_list("contribution_id", "coordinator_id")):
            approved[coordinator_id].add(contribution_id)
        reviewers = Membership.objects.of(collective).filter(roles__contains=[Role.COORDINATOR.value])
        notices = []
        for reviewer_id in reviewers.values_list("user_id", flat=True):
            mine = [pk for pk, author in waiting if author != reviewer_id and pk not in approved[reviewer_id]]
            if mine:
                notices.append(Notice(
                    reviewer_id, {"count": len(mine), "days": days, "collective": collective.name},
                    reverse("contribution_list", args=[collective.slug]) + "?status=pending",
                    occasion=f"review.waiting:{max(mine)}",
                ))
        sent += len(notify_each(collective=collective, kind="review.waiting", notices=notices))
    return sent
