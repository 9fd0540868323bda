"""Reads about declarations: lists, threads, gauges and what waits for a person.

Every read issues a fixed number of queries whatever the number of declarations.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from budgets.models import Budget, Envelope, Payout, Period, PeriodStatus, RateLevel, Task
from budgets.selectors import period_with_figures
from contrib_budget.money import ZERO
from contrib_budget.prepared import Prepared
from members.footprints import footprint_provider
from members.models import AuditEvent, Collective, Role, User
from members.selectors import WaitingItem, by_collective_name, collectives_where, per_collective, waiting_provider

from .models import NOT_COUNTED, Comment, CommentKind, Contribution, ContributionStatus


def contributions_of(
    collective: Collective, *, budget: int | None = None, period: int | None = None,
    status: str | None = None, author: int | None = None, since: date | None = None, until: date | None = None,
) -> QuerySet[Contribution]:
    """Every declaration of the collective (visible to all its members), newest first, with its author and payout:
    what the API renders (pages name more: `with_names`). Comments are counted per declaration shown, not by
    grouping the whole joined list: a page of 50 stays cheap among 20,000."""
    comments = (Comment.objects.filter(contribution=OuterRef("pk")).order_by().values("contribution")
                .annotate(n=Count("id")).values("n")[:1])
    queryset = (
        Contribution.objects.of(collective)
        .select_related("author", "payout")
        .annotate(comments_count=Coalesce(Subquery(comments), Value(0)))
        .order_by("-performed_on", "-id")
    )
    if budget:
        queryset = queryset.filter(budget_id=budget)
    if period:
        queryset = queryset.filter(period_id=period)
    if status:
        queryset = queryset.filter(status=status)
    if author:
        queryset = queryset.filter(author_id=author)
    if since:
        queryset = queryset.filter(performed_on__gte=since)
    if until:
        queryset = queryset.filter(performed_on__lte=until)
    return queryset


def with_names(contributions: QuerySet[Contribution], collective: Collective) -> QuerySet[Contribution]:
    """`contributions` with what a page names beside each: the budget joined; the period, envelope and task read by
    id afterwards, one query for each that the rows name. Every relation joined costs the planner: with all of
    them joined, planning a page of 50 declarations took 35-45 ms, running it 1.5 ms."""
    return contributions.select_related("budget").prefetch_related(
        *(Prefetch(name, queryset=model.objects.of(collective))
          for name, model in (("period", Period), ("envelope", Envelope), ("task", Task))))


def payouts_told_their_collective(contributions: Iterable[Contribution], collective: Collective) -> list[Contribution]:
    """The declarations, each payout given its collective (the page's): explaining a payout reads its currency."""
    contributions = list(contributions)
    for contribution in contributions:
        payout = getattr(contribution, "payout", None)
        if payout is not None:
            payout.collective = collective
    return contributions


def contribution_thread(contribution: Contribution) -> QuerySet[Comment]:
    """A declaration's comments, the newest first: a page of the thread is its latest comments."""
    return (Comment.objects.of(contribution.collective_id).filter(contribution=contribution).select_related("author")
            .order_by("-created_at", "-id"))


def contribution_approvers(contribution: Contribution) -> list[User]:
    return [approval.coordinator for approval in contribution.approvals.select_related("coordinator").order_by("id")]


def contribution_history(contribution: Contribution) -> QuerySet[AuditEvent]:
    """The audit trail of one declaration, oldest first: who did what, when."""
    return (
        AuditEvent.objects.of(contribution.collective_id)
        .filter(target_type=Contribution._meta.label_lower, target_id=str(contribution.pk))
        .select_related("actor")
        .order_by("created_at", "id")
    )


def authors_of(collective: Collective) -> QuerySet[User]:
    """Everyone who declared in the collective, members or not any more: whom the list can be filtered by."""
    return User.objects.filter(pk__in=Contribution.objects.of(collective).values("author_id"))


def budgets_of(collective: Collective) -> QuerySet[Budget]:
    return Budget.objects.of(collective).order_by("name", "id")


def budgets_open(collective: Collective) -> QuerySet[Budget]:
    """The budgets one can declare to now: those still running, and those ended that still have a period open
    (periods are created as declarations need them, so an ended budget whose last period does not exist yet
    counts too)."""
    periods = Period.objects.filter(budget=OuterRef("pk"))
    running = Q(ends_on__isnull=True) | Q(ends_on__gte=timezone.localdate())
    last_period_missing = ~Exists(periods.filter(ends_on__gte=OuterRef("ends_on")))
    return budgets_of(collective).filter(running | Exists(periods.filter(status=PeriodStatus.OPEN))
                                         | last_period_missing)


def envelopes_open(collective: Collective) -> QuerySet[Envelope]:
    """The envelopes of the budgets open to declarations."""
    return (Envelope.objects.of(collective).filter(budget__in=budgets_open(collective))
            .order_by("budget_id", "name", "id"))


def tasks_open(collective: Collective) -> QuerySet[Task]:
    """The tasks one can declare work on: published, not done, in a budget open to declarations."""
    return (Task.objects.of(collective).filter(is_published=True, is_done=False,
                                               envelope__budget__in=budgets_open(collective))
            .select_related("envelope").order_by("envelope_id", "priority", "id"))


def rate_levels_open(collective: Collective) -> QuerySet[RateLevel]:
    return rate_levels_of(collective).filter(budget__in=budgets_open(collective))


def periods_of(collective: Collective) -> QuerySet[Period]:
    return Period.objects.of(collective).select_related("budget").order_by("budget__name", "-starts_on")


def rate_levels_of(collective: Collective) -> QuerySet[RateLevel]:
    return RateLevel.objects.of(collective).order_by("budget_id", "position", "id")


def last_declaration_of(collective: Collective, user: User) -> Contribution | None:
    """The person's latest declaration here: its budget and rate level are the form's defaults."""
    return Contribution.objects.of(collective).filter(author=user).order_by("-created_at", "-id").first()


@dataclass(frozen=True)
class Gauge:
    """Money available vs requested vs validated in a period; red when it is over (`period_is_over`)."""

    available: Decimal | None
    requested: Decimal
    validated: Decimal
    granted: Decimal
    count: int
    over: bool

    def _percent(self, amount: Decimal) -> int:
        scale = max(self.available or ZERO, self.requested, self.validated)
        return int(amount * 100 / scale) if scale else 0

    @property
    def requested_percent(self) -> int:
        return self._percent(self.requested)

    @property
    def validated_percent(self) -> int:
        return self._percent(self.validated)

    @property
    def available_percent(self) -> int:
        return self._percent(self.available or ZERO)


def period_gauge(period: Period) -> Gauge:
    """Available: frozen at closing, else what a closing now could grant; the budget pages' figures."""
    figures = period_with_figures(period)
    return Gauge(available=figures.available_now, requested=figures.requested, validated=figures.validated,
                 granted=figures.granted, count=figures.declaration_count, over=figures.over)


def _to_review_per_collective(user_id: int) -> QuerySet:
    coordinated = collectives_where(user_id, Role.COORDINATOR.value)
    waiting = (Contribution.objects.filter(collective_id__in=coordinated, status=ContributionStatus.PENDING,
                                           period__status="open")
               .exclude(author_id=user_id).exclude(approvals__coordinator_id=user_id))
    return per_collective(waiting, count=Count("id"))


# The dashboard's lines are prepared queries (contrib_budget.prepared): compiled once, not on every visit.
_TO_REVIEW_PER_COLLECTIVE = Prepared(_to_review_per_collective)


@waiting_provider
def _declarations_to_review(user: User) -> list[WaitingItem]:
    """Coordinators: pending declarations of others they have not approved yet, one line per collective."""
    return [
        WaitingItem(
            title=ngettext(
                "%(count)d declaration waits for your review in %(name)s",
                "%(count)d declarations wait for your review in %(name)s",
                totals["count"],
            ) % {"count": totals["count"], "name": collective.name},
            url=reverse("contribution_list", args=[collective.slug]) + "?status=pending",
            collective=collective, action=_("Review"),
        )
        for collective, totals in by_collective_name(_TO_REVIEW_PER_COLLECTIVE.rows(user_id=user.pk))
    ]


def _questioned_declarations_of(user_id: int) -> QuerySet[Contribution]:
    latest = Comment.objects.filter(contribution=OuterRef("pk")).order_by("-created_at", "-id")
    return (
        Contribution.objects.filter(author_id=user_id, period__status="open")
        .exclude(status__in=NOT_COUNTED)
        .annotate(last_kind=Subquery(latest.values("kind")[:1]), last_author=Subquery(latest.values("author")[:1]))
        .filter(last_kind=CommentKind.QUESTION)
        .exclude(last_author=user_id)
        .select_related("collective")
        .order_by("-performed_on", "-id")[:20]
    )


_QUESTIONED_DECLARATIONS_OF = Prepared(_questioned_declarations_of)


@waiting_provider
def _questions_on_my_declarations(user: User) -> list[WaitingItem]:
    """My open declarations whose latest comment is somebody else's question."""
    rows = _QUESTIONED_DECLARATIONS_OF.rows(user_id=user.pk)
    return [
        WaitingItem(
            title=_("A question waits for your answer: %(description)s") % {"description": row.description[:60]},
            url=reverse("contribution_detail", args=[row.collective.slug, row.pk]),
            collective=row.collective,
            action=_("Answer"),
        )
        for row in rows
    ]


@footprint_provider
def _declarations_and_payouts(collective: Collective, user_ids: list[int]) -> dict[int, list[str]]:
    """A member's declarations and payouts stay when they leave: the collective's history and its books."""
    declarations = dict(Contribution.objects.of(collective).filter(author_id__in=user_ids).values("author_id")
                        .annotate(n=Count("id")).values_list("author_id", "n").order_by())
    payouts = dict(Payout.objects.of(collective).filter(person_id__in=user_ids).values("person_id")
                   .annotate(n=Count("id")).values_list("person_id", "n").order_by())
    footprints: dict[int, list[str]] = {}
    for user_id in set(declarations) | set(payouts):
        parts = []
        if declarations.get(user_id):
            parts.append(ngettext("%(count)d declaration", "%(count)d declarations", declarations[user_id])
                         % {"count": declarations[user_id]})
        if payouts.get(user_id):
            parts.append(ngettext("%(count)d payout", "%(count)d payouts", payouts[user_id])
                         % {"count": payouts[user_id]})
        footprints[user_id] = parts
    return footprints
