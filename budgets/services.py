"""Every write about budgets, their rate grid, envelopes and tasks (coordinators only: MANAGE_BUDGETS).

Fundings live in `budgets.fundings`, periods in `budgets.periods`, grants in `budgets.grants`, payouts in
`budgets.payouts`; the closing that grants a period's declarations in `contributions.closing`.
"""

from datetime import date

from django.db import transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from contrib_budget import text
from contrib_budget.errors import DomainError, checked, validated_or_raise
from contrib_budget.keywords import UNSET, Unset, given
from contrib_budget.money import MAX_BUDGET_AMOUNT, MoneyInput, parse_money
from members.audit import audit_record
from members.models import Collective, User

from .models import Budget, Envelope, Period, PeriodStatus, RateLevel, Task
from .periods import periods_initial
from .permissions import MANAGE_BUDGETS

BUDGET_FIELDS = (
    "name", "description", "period_kind", "starts_on", "ends_on", "amount_per_period", "overspend_policy",
    "leftover_policy", "allow_custom_rate", "required_approvals", "auto_close_after_days",
)
SCHEDULE_FIELDS = ("period_kind", "starts_on", "ends_on")


def budget_lock(budget: Budget) -> Budget:
    """Lock the budget row: every money movement of a budget serialises on it."""
    return Budget.objects.select_for_update().select_related("collective").get(pk=budget.pk)


def _budget_state(budget: Budget) -> dict:
    state = {field: getattr(budget, field) for field in BUDGET_FIELDS}
    for field, value in state.items():
        if value is not None and not isinstance(value, (str, bool, int)):
            state[field] = str(value)
    state["rate_levels"] = [
        {"id": level.pk, "name": level.name, "hourly_rate": str(level.hourly_rate)}
        for level in budget.rate_levels.all()
    ]
    return state


def _check_budget(budget: Budget) -> None:
    if budget.amount_per_period is not None:
        budget.amount_per_period = parse_money(budget.amount_per_period, "amount_per_period",
                                                maximum=MAX_BUDGET_AMOUNT)
    if budget.ends_on is not None and budget.starts_on is not None and budget.ends_on < budget.starts_on:
        raise DomainError(_("The end date comes before the start date."), "invalid",
                          fields={"ends_on": [_("The end date comes before the start date.")]})
    validated_or_raise(budget, exclude=("collective",))


def rate_grid_set(*, budget: Budget, levels: list[dict]) -> list[RateLevel]:
    """Replace the rate grid: levels with an id are updated, without one created, missing ones removed."""
    current = {level.pk: level for level in budget.rate_levels.all()}
    kept = []
    for position, data in enumerate(levels):
        level_id = data.get("id")
        if level_id is not None and level_id not in current:
            raise DomainError(_("Unknown rate level."), "invalid", fields={"rate_levels": [_("Unknown rate level.")]})
        level = (current[level_id] if level_id is not None
                 else RateLevel(collective_id=budget.collective_id, budget=budget))
        level.name = checked("rate_levels", (data.get("name") or "").strip(), text.single_line(100))
        if not level.name:
            raise DomainError(_("Name each rate level."), "invalid",
                              fields={"rate_levels": [_("Name each rate level.")]})
        level.hourly_rate = parse_money(data.get("hourly_rate"), "rate_levels", maximum=MAX_BUDGET_AMOUNT)
        level.position = position
        level.save()
        kept.append(level)
    removed = [pk for pk in current if pk not in {level.pk for level in kept}]
    if removed:
        # What uses a rate level (declarations, in an app above) protects it from deletion.
        try:
            RateLevel.objects.filter(pk__in=removed).delete()
        except ProtectedError:
            raise DomainError(_("A rate level used by declarations cannot be removed."), "rate_level_in_use",
                              fields={"rate_levels": [_("A rate level used by declarations cannot be removed.")]}
                              ) from None
    return kept


def budget_create(
    *, collective: Collective, actor: User | None, rate_levels: list[dict] | None = None,
    name: str | Unset = UNSET, description: str | Unset = UNSET, period_kind: str | Unset = UNSET,
    starts_on: date | Unset = UNSET, ends_on: date | None | Unset = UNSET,
    amount_per_period: MoneyInput | None | Unset = UNSET, overspend_policy: str | Unset = UNSET,
    leftover_policy: str | Unset = UNSET, allow_custom_rate: bool | Unset = UNSET,
    required_approvals: int | Unset = UNSET, auto_close_after_days: int | None | Unset = UNSET,
) -> Budget:
    """A coordinator sets up a budget; its periods are created from its start date and kind. A field left out
    takes the model's default."""
    MANAGE_BUDGETS.require(collective=collective, actor=actor)
    budget = Budget(collective=collective, **given(
        name=name, description=description, period_kind=period_kind, starts_on=starts_on, ends_on=ends_on,
        amount_per_period=amount_per_period, overspend_policy=overspend_policy, leftover_policy=leftover_policy,
        allow_custom_rate=allow_custom_rate, required_approvals=required_approvals,
        auto_close_after_days=auto_close_after_days))
    _check_budget(budget)
    with transaction.atomic():
        budget.save()
        rate_grid_set(budget=budget, levels=rate_levels or [])
        periods_initial(budget=budget)
        audit_record(collective=collective, actor=actor, action="budget.created", target=budget,
                     after=_budget_state(budget))
    return budget


def budget_update(
    *, budget: Budget, actor: User | None, rate_levels: list[dict] | None = None,
    name: str | Unset = UNSET, description: str | Unset = UNSET, period_kind: str | Unset = UNSET,
    starts_on: date | Unset = UNSET, ends_on: date | None | Unset = UNSET,
    amount_per_period: MoneyInput | None | Unset = UNSET, overspend_policy: str | Unset = UNSET,
    leftover_policy: str | Unset = UNSET, allow_custom_rate: bool | Unset = UNSET,
    required_approvals: int | Unset = UNSET, auto_close_after_days: int | None | Unset = UNSET,
) -> Budget:
    """Change what was passed. The schedule can change only while no period is closed and nothing is declared."""
    MANAGE_BUDGETS.require(collective=budget.collective, actor=actor)
    fields = given(
        name=name, description=description, period_kind=period_kind, starts_on=starts_on, ends_on=ends_on,
        amount_per_period=amount_per_period, overspend_policy=overspend_policy, leftover_policy=leftover_policy,
        allow_custom_rate=allow_custom_rate, required_approvals=required_approvals,
        auto_close_after_days=auto_close_after_days)
    with transaction.atomic():
        budget = budget_lock(budget)
        before = _budget_state(budget)
        for field, value in fields.items():
            setattr(budget, field, value)
        _check_budget(budget)
        schedule_changed = any(before[field] != _budget_state(budget)[field] for field in SCHEDULE_FIELDS)
        schedule_locked = DomainError(
            _("The schedule cannot change once a period is closed or work is declared."), "schedule_locked",
            fields={field: [_("The schedule is locked.")] for field in SCHEDULE_FIELDS if field in fields},
        )
        if schedule_changed and Period.objects.filter(budget=budget).exclude(status=PeriodStatus.OPEN).exists():
            raise schedule_locked
        budget.save()
        if schedule_changed:
            # Work declared in a period (in an app above) protects it: the periods cannot be laid out again.
            try:
                Period.objects.filter(budget=budget).delete()
            except ProtectedError:
                raise schedule_locked from None
            periods_initial(budget=budget)
        if rate_levels is not None:
            rate_grid_set(budget=budget, levels=rate_levels)
        audit_record(collective=budget.collective, actor=actor, action="budget.updated", target=budget,
                     before=before, after=_budget_state(budget))
    return budget


def envelope_create(*, budget: Budget, actor: User | None, name: str, amount: MoneyInput,
                    description: str = "") -> Envelope:
    MANAGE_BUDGETS.require(collective=budget.collective, actor=actor)
    envelope = Envelope(collective_id=budget.collective_id, budget=budget, name=name, description=description,
                        amount=parse_money(amount, "amount", maximum=MAX_BUDGET_AMOUNT))
    validated_or_raise(envelope, exclude=("collective", "budget"))
    with transaction.atomic():
        envelope.save()
        audit_record(collective=budget.collective, actor=actor, action="envelope.created", target=envelope,
                     after={"name": name, "amount": str(envelope.amount)})
    return envelope


def envelope_update(*, envelope: Envelope, actor: User | None, name: str | Unset = UNSET,
                    description: str | Unset = UNSET, amount: MoneyInput | Unset = UNSET) -> Envelope:
    """Change what was passed."""
    MANAGE_BUDGETS.require(collective=envelope.collective, actor=actor)
    before = {"name": envelope.name, "description": envelope.description, "amount": str(envelope.amount)}
    if amount is not UNSET:
        amount = parse_money(amount, "amount", maximum=MAX_BUDGET_AMOUNT)
    for field, value in given(name=name, description=description, amount=amount).items():
        setattr(envelope, field, value)
    validated_or_raise(envelope, exclude=("collective", "budget"))
    with transaction.atomic():
        envelope.save()
        audit_record(collective=envelope.collective, actor=actor, action="envelope.updated", target=envelope,
                     before=before, after={"name": envelope.name, "description": envelope.description,
                                           "amount": str(envelope.amount)})
    return envelope


def _task_state(task: Task) -> dict:
    return {"envelope": task.envelope_id, "title": task.title, "priority": task.priority,
            "is_published": task.is_published, "is_done": task.is_done}


def _check_task_envelope(task: Task, budget: Budget) -> None:
    if task.envelope.budget_id != budget.pk:
        raise DomainError(_("Choose an envelope of this budget."), "invalid",
                          fields={"envelope": [_("Choose an envelope of this budget.")]})


def task_create(*, budget: Budget, actor: User | None, envelope: Envelope, title: str, description: str = "",
                priority: int = 2, is_published: bool = True, is_done: bool = False) -> Task:
    """Coordinators publish a task with a priority so contributors see what is needed."""
    MANAGE_BUDGETS.require(collective=budget.collective, actor=actor)
    task = Task(collective_id=budget.collective_id, envelope=envelope, title=title, description=description,
                priority=priority, is_published=is_published, is_done=is_done)
    _check_task_envelope(task, budget)
    validated_or_raise(task, exclude=("collective", "envelope"))
    with transaction.atomic():
        task.save()
        audit_record(collective=budget.collective, actor=actor, action="task.created", target=task,
                     after=_task_state(task))
    return task


def task_update(*, task: Task, actor: User | None, envelope: Envelope | Unset = UNSET, title: str | Unset = UNSET,
                description: str | Unset = UNSET, priority: int | Unset = UNSET, is_published: bool | Unset = UNSET,
                is_done: bool | Unset = UNSET) -> Task:
    """Change what was passed."""
    MANAGE_BUDGETS.require(collective=task.collective, actor=actor)
    before = _task_state(task)
    budget = task.envelope.budget
    for field, value in given(envelope=envelope, title=title, description=description, priority=priority,
                              is_published=is_published, is_done=is_done).items():
        setattr(task, field, value)
    _check_task_envelope(task, budget)
    validated_or_raise(task, exclude=("collective", "envelope"))
    with transaction.atomic():
        task.save()
        audit_record(collective=task.collective, actor=actor, action="task.updated", target=task,
                     before=before, after=_task_state(task))
    return task
