"""A contributor declares work, amends it while it waits, or withdraws it."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from budgets.locks import ensure_period_unlocked, refuse_if_locked
from budgets.models import Budget, Envelope, Period, PeriodStatus, RateLevel, Task
from budgets.periods import period_for_date
from contrib_budget import dates, text
from contrib_budget.errors import Conflict, DomainError, Forbidden, checked
from contrib_budget.money import MAX_DECLARATION, parse_money, to_money
from contrib_budget.prepared import Prepared
from contrib_budget.statements import Statement, ids_reserve_statement, insert_statement, inserted, run_together
from members.audit import audit_event, audit_record
from members.models import Collective, Membership, Role, User

from ..models import ATTACHMENT_VALIDATORS, Approval, Comment, CommentKind, Contribution, ContributionStatus, ValueMode
from ..notifications import comment_notify
from ._common import AMENDABLE, MAX_MINUTES, contribution_state, invalid, lock_contribution


@dataclass(frozen=True)
class Declaration:
    """What a person declares, before it is checked."""

    budget: Budget
    performed_on: date
    description: str
    minutes: int
    value_mode: str
    envelope: Envelope | None = None
    task: Task | None = None
    rate_level: RateLevel | None = None
    hourly_rate: Decimal | None = None
    amount: Decimal | None = None


def _attach(contribution: Contribution, attachment: UploadedFile) -> None:
    """Check an uploaded file (type, size) and set it on the declaration, keeping its original name."""
    for validator in ATTACHMENT_VALIDATORS:
        try:
            validator(attachment)
        except ValidationError as error:
            raise invalid("attachment", " ".join(error.messages), "invalid_attachment") from None
    contribution.attachment = attachment
    # An upload always has a name: the extension validator above has read it.
    contribution.attachment_name = PurePath(attachment.name or "").name[:255]


def _checked(declaration: Declaration, *, collective: Collective) -> dict:
    """Check a declaration against its budget; return the model fields to write.

    The period is not resolved here: it needs the date to be inside the budget first.
    """
    budget = declaration.budget
    if budget.collective_id != collective.pk:
        raise invalid("budget", _("Choose a budget of this collective."), "unknown_budget")

    description = checked("description", (declaration.description or "").strip(), text.multi_line(5000))
    if not description:
        raise invalid("description", _("Say in a few words what you did."), "required")
    checked("performed_on", declaration.performed_on, dates.validate_date_window)

    if declaration.performed_on < budget.starts_on or (budget.ends_on and declaration.performed_on > budget.ends_on):
        raise invalid(
            "performed_on",
            _("This budget runs from %(start)s to %(end)s; choose a date inside it.") % {
                "start": date_format(budget.starts_on),
                "end": date_format(budget.ends_on) if budget.ends_on else "…",
            },
            "date_outside_budget",
        )

    minutes = declaration.minutes
    if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 0:
        raise invalid("minutes", _("Time spent cannot be negative."), "negative_minutes")
    if minutes == 0 and declaration.value_mode == ValueMode.TIME_RATE:
        # Time × rate with no time is nothing: a slip of the finger, not pro-bono work (that is an amount of zero).
        raise invalid("minutes", _("Give the time you spent: time × rate needs more than 0 minutes."),
                       "zero_minutes")
    if minutes > MAX_MINUTES:
        raise invalid(
            "minutes", _("Time spent cannot exceed %(hours)s hours in one declaration.") % {"hours": MAX_MINUTES // 60},
            "too_many_minutes",
        )

    envelope, task = declaration.envelope, declaration.task
    if task is not None:
        if task.envelope.budget_id != budget.pk:
            raise invalid("task", _("This task belongs to another budget."), "task_of_another_budget")
        if envelope is not None and task.envelope_id != envelope.pk:
            raise invalid("task", _("This task belongs to another mission."), "task_of_another_envelope")
        envelope = task.envelope
    if envelope is not None and envelope.budget_id != budget.pk:
        raise invalid("envelope", _("This mission belongs to another budget."), "envelope_of_another_budget")

    if declaration.value_mode not in ValueMode.values:
        raise invalid("value_mode", _("Choose how the value is set."), "invalid_choice")

    rate_level, hourly_rate = declaration.rate_level, None
    if rate_level is not None and rate_level.budget_id != budget.pk:
        raise invalid("rate_level", _("This rate level belongs to another budget."), "rate_level_of_another_budget")
    if declaration.value_mode == ValueMode.TIME_RATE:
        if declaration.hourly_rate is not None and rate_level is None:
            if not budget.allow_custom_rate:
                raise invalid("hourly_rate", _("This budget does not let people set their own rate."),
                               "custom_rate_not_allowed")
            hourly_rate = parse_money(declaration.hourly_rate, "hourly_rate", maximum=MAX_DECLARATION)
        elif rate_level is not None:
            hourly_rate = rate_level.hourly_rate
        else:
            raise invalid("rate_level", _("Choose a rate level to value your time."), "required")
        try:
            amount = parse_money(to_money(Decimal(minutes) * hourly_rate / 60), "amount", maximum=MAX_DECLARATION)
        except DomainError as error:
            raise invalid("minutes", error.message, error.code) from None
    else:
        if declaration.amount is None:
            raise invalid("amount", _("Give the amount you request (zero for pro-bono work)."), "required")
        amount = parse_money(declaration.amount, "amount", maximum=MAX_DECLARATION)
        rate_level = None

    return {
        "budget": budget,
        "envelope": envelope,
        "task": task,
        "performed_on": declaration.performed_on,
        "description": description,
        "minutes": minutes,
        "value_mode": declaration.value_mode,
        "rate_level": rate_level,
        "hourly_rate": hourly_rate,
        "amount": amount,
    }


def _containing(budget_id: int, day: date) -> QuerySet[Period]:
    return Period.objects.filter(budget_id=budget_id, starts_on__lte=day, ends_on__gte=day).order_by("pk")[:1]


# Compiled once per process (contrib_budget.prepared): every declaration looks its period up.
_PERIOD_CONTAINING = Prepared(_containing)
_PERIOD_CONTAINING_LOCKED = Prepared(lambda budget_id, day: _containing(budget_id, day).select_for_update())


def _refuse_unless_open(period: Period) -> None:
    refuse_if_locked(locked_at=period.locked_at)
    if period.status != PeriodStatus.OPEN:
        raise invalid(
            "performed_on",
            _("The period from %(start)s to %(end)s is closed: declare this work in an open period.") % {
                "start": date_format(period.starts_on), "end": date_format(period.ends_on),
            },
            "period_closed",
        )


def _open_period(*, budget: Budget, day: date) -> Period:
    """The period containing `day`, locked; refused unless it is still open."""
    found = _PERIOD_CONTAINING_LOCKED.rows(budget_id=budget.pk, day=day)
    if found:
        period = found[0]
    else:  # not made yet (or outside the budget, which period_for_date refuses)
        period = Period.objects.select_for_update().get(pk=period_for_date(budget=budget, day=day).pk)
    _refuse_unless_open(period)
    return period


def _period_to_declare_in(*, budget: Budget, day: date) -> Period:
    """The period containing `day`, refused unless it is open, not locked: `_declared_under_the_period_lock`
    checks it again once locked."""
    found = _PERIOD_CONTAINING.rows(budget_id=budget.pk, day=day)
    period = found[0] if found else period_for_date(budget=budget, day=day)  # may make it, or refuse the day
    _refuse_unless_open(period)
    return period


def _declared_under_the_period_lock(contribution: Contribution, *, actor: User) -> None:
    """Write the declaration and its audit event in the round trip that locks its period and commits
    (contrib_budget.statements).

    The declarations of a period wait for each other on its row, whose totals their trigger moves: each holds the
    lock for that one trip, not for three and the commit. The rows are written only if the period is still open
    and unlocked once the lock is held; otherwise nothing is (the attachment, stored as the statement was made, is
    removed again), and the refusal is the one given before the lock."""
    period = contribution.period
    [[(contribution.pk,)]] = run_together([ids_reserve_statement(Contribution, 1)])
    event = audit_event(collective=contribution.collective, actor=actor, action="contribution.declared",
                        target=contribution, after=contribution_state(contribution))
    scoped = [contribution.collective_id, period.pk]
    still_open = Statement("SELECT FROM budgets_period WHERE collective_id = %s AND id = %s AND status = %s"
                           " AND locked_at IS NULL", [*scoped, PeriodStatus.OPEN.value])
    with transaction.atomic():
        [[(period.status, period.locked_at)], _rows, _event] = run_together([
            Statement("SELECT status, locked_at FROM budgets_period WHERE collective_id = %s AND id = %s FOR UPDATE",
                      scoped),
            insert_statement(contribution, only_if=still_open), insert_statement(event, only_if=still_open),
        ], commit=True)
    try:
        _refuse_unless_open(period)
    except DomainError:
        if contribution.attachment:
            contribution.attachment.delete(save=False)  # its row was not written: nothing refers to the file
        raise
    inserted(contribution)


def contribution_declare(
    *, collective: Collective, membership: Membership, declaration: Declaration,
    attachment: UploadedFile | None = None,
) -> Contribution:
    """A contributor declares work; it lands in the open period that contains its date."""
    if membership.collective_id != collective.pk or not membership.has_role(Role.CONTRIBUTOR):
        raise Forbidden(_("Only contributors declare work in this collective."), "not_contributor")
    fields = _checked(declaration, collective=collective)
    period = _period_to_declare_in(budget=fields["budget"], day=fields["performed_on"])
    contribution = Contribution(collective=collective, author=membership.user, period=period, **fields)
    if attachment is not None:
        _attach(contribution, attachment)
    _declared_under_the_period_lock(contribution, actor=membership.user)
    return contribution


def _amended_fields(contribution: Contribution, changes: dict[str, Any]) -> dict:
    """The declaration's fields once `changes` apply, checked against its (possibly new) budget."""
    current: dict[str, Any] = {
        "budget": contribution.budget, "envelope": contribution.envelope, "task": contribution.task,
        "performed_on": contribution.performed_on, "description": contribution.description,
        "minutes": contribution.minutes, "value_mode": contribution.value_mode,
        "rate_level": contribution.rate_level,
        "hourly_rate": contribution.hourly_rate if contribution.rate_level_id is None else None,
        "amount": contribution.amount,
    }
    if "rate_level" in changes and changes["rate_level"] is not None:
        current["hourly_rate"] = None
    if "budget" in changes and changes["budget"] != contribution.budget:
        current.update(envelope=None, task=None, rate_level=None, hourly_rate=None)
    current.update(changes)
    return _checked(Declaration(**current), collective=contribution.collective)


def contribution_amend(
    *, contribution: Contribution, actor: User, changes: dict[str, Any], note: str = "",
    attachment: UploadedFile | None = None,
) -> Contribution:
    """The author changes a declaration not yet decided; approvals given so far lapse.

    A new `attachment` replaces the previous one. The declaration's period and the period
    it moves to are locked together in id order, so two amends moving declarations in
    opposite directions wait for each other instead of deadlocking.
    """
    if contribution.author_id != actor.pk:
        raise Forbidden(_("Only the author may amend a declaration."), "not_author")
    allowed = {"budget", "envelope", "task", "performed_on", "description", "minutes", "value_mode",
               "rate_level", "hourly_rate", "amount"}
    unknown = set(changes) - allowed
    if unknown:
        raise DomainError(_("These fields cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
    fields = _amended_fields(contribution, changes)
    target = period_for_date(budget=fields["budget"], day=fields["performed_on"])
    with transaction.atomic():
        periods = {period.pk: period for period in Period.objects.select_for_update().filter(
            pk__in={contribution.period_id, target.pk}).order_by("pk")}
        for period in periods.values():
            ensure_period_unlocked(period)
        locked = Contribution.objects.select_for_update().select_related("budget").get(pk=contribution.pk)
        if locked.period_id != contribution.period_id:
            raise Conflict(_("This declaration changed meanwhile: reload the page and try again."), "changed")
        contribution = locked
        if periods[contribution.period_id].status != PeriodStatus.OPEN:
            raise Conflict(_("The period of this declaration is closed: it can no longer change."), "period_closed")
        if contribution.status not in AMENDABLE:
            raise Conflict(_("This declaration is already decided: it can no longer be amended."), "already_decided")
        fields = _amended_fields(contribution, changes)
        period = _open_period(budget=fields["budget"], day=fields["performed_on"])
        before = contribution_state(contribution)
        for name, value in fields.items():
            setattr(contribution, name, value)
        contribution.period = period
        if attachment is not None:
            _attach(contribution, attachment)
        contribution.save()
        withdrawn = Approval.objects.filter(contribution=contribution).delete()[0]
        after = contribution_state(contribution)
        changed = sorted(name for name in after if after[name] != before[name])
        amendment = Comment.objects.create(
            collective=contribution.collective, contribution=contribution, author=actor,
            kind=CommentKind.AMENDMENT, body=note.strip() or ", ".join(changed),
        )
        comment_notify(comment=amendment, actor=actor)
        audit_record(collective=contribution.collective, actor=actor, action="contribution.amended",
                     target=contribution, before=before, after={**after, "approvals_withdrawn": withdrawn})
    return contribution


def contribution_withdraw(*, contribution: Contribution, actor: User) -> Contribution:
    """The author takes back a declaration nobody has decided yet.

    It stays listed, as withdrawn, for the collective to read, but it asks for nothing: reviewers no longer see it
    waiting, and a closing neither grants it nor carries it to the next period. It cannot be put back: the author
    declares again instead.
    """
    if contribution.author_id != actor.pk:
        raise Forbidden(_("Only the author may withdraw a declaration."), "not_author")
    with transaction.atomic():
        contribution, _period = lock_contribution(contribution)
        if contribution.status == ContributionStatus.WITHDRAWN:
            raise Conflict(_("This declaration is already withdrawn."), "already_withdrawn")
        if contribution.status not in AMENDABLE:
            raise Conflict(_("This declaration is already decided: it can no longer be withdrawn."),
                           "already_decided")
        before = contribution_state(contribution)
        contribution.status = ContributionStatus.WITHDRAWN
        contribution.save(update_fields=["status", "updated_at"])
        audit_record(collective=contribution.collective, actor=actor, action="contribution.withdrawn",
                     target=contribution, before=before, after=contribution_state(contribution))
    return contribution
