"""Closing a period: from a frozen snapshot of validated declarations to exact payouts.

The closing runs in two steps, so that it is idempotent and resumable:

1. under a lock on the budget then the period, an open period is *settled*: the
   snapshot of validated declarations is frozen into payouts (one per
   declaration, unique), pending declarations move to the next period, and the
   period is marked closed (or `deficit` under the `hold` policy);
2. each payout's grant is posted to the ledger (budgets.grants).

Running it again, from another worker at the same time, or after a crash
between two grants only posts the grants still missing.
"""

import logging
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from budgets.available import funds_not_granted, period_available
from budgets.fundings import funding_create
from budgets.grants import Grant, Request, grants_compute, grants_pro_rata, payouts_record, percent, period_grants_post
from budgets.locks import ensure_period_unlocked
from budgets.models import Budget, FundingStatus, Period, PeriodStatus
from budgets.notifications import period_closed_notify, period_deficit_notify
from budgets.periods import periods_ensure
from budgets.selectors import periods_due
from budgets.services import budget_lock
from contrib_budget import text
from contrib_budget.errors import Conflict, DomainError, checked
from contrib_budget.money import MAX_BUDGET_AMOUNT, ZERO, format_money, parse_money
from members.audit import audit_record
from members.models import User

from .models import Contribution, ContributionStatus, ValueMode
from .permissions import CLOSE_PERIODS

logger = logging.getLogger(__name__)


def _requests(period: Period) -> tuple[list[Request], list[int], dict[int, int]]:
    """The frozen snapshot: validated requests (in a stable author order), the pending ids, and each validated
    request's author."""
    rows = (Contribution.objects.filter(period=period)
            .order_by("author_id", "id")
            .values_list("id", "status", "amount", "validated_amount", "value_mode", "author_id"))
    requests, pending, authors = [], [], {}
    for pk, status, amount, validated, mode, author in rows.iterator(chunk_size=5000):
        if status in (ContributionStatus.VALIDATED, ContributionStatus.ADJUSTED):
            requests.append(Request(pk, validated if validated is not None else amount, mode == ValueMode.FIXED_PRICE))
            authors[pk] = author
        elif status == ContributionStatus.PENDING:
            pending.append(pk)
    return requests, pending, authors


def _decided_grants(*, budget: Budget, period: Period, actor: User | None, requests: list[Request],
                    available: Decimal, decision: dict[str, Any]) -> tuple[list[Grant], Decimal, dict[str, Any]]:
    """Apply the coordinators' decision on a period in deficit."""
    kind = decision.get("kind")
    total = sum((r.amount for r in requests), ZERO)
    if kind == "pro_rata":
        params = {"ratio": percent(available, total), "requested": str(total), "available": str(available)}
        grants = grants_pro_rata(requests, available, period.index, "decision_pro_rata", params)
        return grants, available, {"kind": kind}
    if kind == "amounts":
        amounts = {str(k): v for k, v in (decision.get("amounts") or {}).items()}
        expected = {str(r.contribution_id) for r in requests}
        if set(amounts) != expected:
            raise DomainError(_("Give an amount for each validated declaration of the period, and only for them."),
                              "invalid", fields={"amounts": [_("One amount per validated declaration.")]})
        note = checked("note", (decision.get("note") or "").strip(), text.multi_line(500))
        grants = []
        for r in requests:
            amount = parse_money(amounts[str(r.contribution_id)], "amounts", maximum=MAX_BUDGET_AMOUNT)
            if amount > r.amount:
                # DomainError types a field's errors as one list of messages; this field has one list per
                # declaration (the API has always sent it so), which its type does not say.
                per_declaration = {str(r.contribution_id): [_("More than requested.")]}
                raise DomainError(_("A granted amount cannot exceed its request."), "invalid",
                                  fields={"amounts": per_declaration})  # type: ignore[dict-item]
            grants.append(Grant(r.contribution_id, r.amount, amount, "decision_amount", {"note": note}))
        if sum((g.granted for g in grants), ZERO) > available:
            raise DomainError(
                _("The amounts exceed the money available (%(available)s).") % {
                    "available": format_money(available, budget.collective.currency)},
                "over_available", fields={"amounts": [_("The sum exceeds the money available.")]})
        stored = {"kind": kind, "amounts": {str(g.contribution_id): str(g.granted) for g in grants}, "note": note}
        return grants, available, stored
    if kind == "top_up":
        gap = total - available
        amount = parse_money(decision.get("amount", gap), "amount", positive=True,
                             maximum=MAX_BUDGET_AMOUNT)
        if amount < gap:
            raise DomainError(
                _("The top-up must cover the gap of %(gap)s.") % {"gap": format_money(gap, budget.collective.currency)},
                "top_up_too_small", fields={"amount": [_("Less than the gap.")]})
        assert actor is not None, "a decision is a person's: the system closes periods without one"
        funding = funding_create(
            budget=budget, actor=actor, source=decision.get("source") or _("Top-up"), amount=amount,
            source_kind=decision.get("source_kind") or "other", status=decision.get("status") or FundingStatus.RECEIVED,
            received_on=decision.get("received_on"),
        )
        available = min(available + amount, funds_not_granted(budget))
        grants = [Grant(r.contribution_id, r.amount, r.amount, "decision_top_up", {"amount": str(amount)})
                  for r in requests]
        return grants, available, {"kind": kind, "funding": funding.pk, "amount": str(amount)}
    raise DomainError(_("Choose a decision: pro rata, an amount per declaration, or a top-up funding."), "invalid",
                      fields={"decision": [_("Unknown decision.")]})


def _carry_pending(*, budget: Budget, period: Period, pending: list[int]) -> None:
    if not pending:
        return
    periods_ensure(budget=budget, up_to=period.ends_on + timedelta(days=1))
    following = Period.objects.filter(budget=budget, index=period.index + 1).first()
    if following is None:
        raise DomainError(
            _("This is the budget's last period: validate or reject its %(count)s pending declaration(s) first.")
            % {"count": len(pending)}, "pending_in_last_period")
    Contribution.objects.filter(pk__in=pending).update(period=following)


def _settle(*, budget: Budget, period: Period, actor: User | None, decision: dict[str, Any] | None) -> None:
    """Step 1, under the locks: freeze the snapshot into payouts and close (or flag a deficit)."""
    if Period.objects.filter(budget=budget, index__lt=period.index).exclude(status=PeriodStatus.CLOSED).exists():
        raise Conflict(_("Close the earlier periods of this budget first."), "earlier_period_open")
    requests, pending, authors = _requests(period)
    before = {"status": period.status, "available": str(period.available) if period.available is not None else None}
    grants: list[Grant] | None
    stored: dict[str, Any] | None
    if period.status == PeriodStatus.DEFICIT:
        available = period.available
        if decision is None:
            raise Conflict(_("This period is in deficit: record the coordinators' decision to close it."),
                           "decision_needed")
        assert available is not None, "frozen when the period entered deficit"
        grants, available, stored = _decided_grants(budget=budget, period=period, actor=actor, requests=requests,
                                                    available=available, decision=decision)
    else:
        available = period_available(budget=budget, period=period)
        grants = grants_compute(requests=requests, available=available, policy=budget.overspend_policy,
                                rotation=period.index)
        stored = None
        if grants is None:
            period.status = PeriodStatus.DEFICIT
            period.available = available
            period.save(update_fields=["status", "available"])
            requested = sum((r.amount for r in requests), ZERO)
            audit_record(collective=budget.collective, actor=actor, action="period.deficit", target=period,
                         before=before, after={"status": period.status, "available": str(available),
                                               "requested": str(requested)})
            period_deficit_notify(period=period, requested=requested, available=available, actor=actor)
            return
    _carry_pending(budget=budget, period=period, pending=pending)
    payout_ids = payouts_record(period=period, grants=grants, people=authors)
    period.status = PeriodStatus.CLOSED
    period.available = available
    period.decision = stored
    period.closed_at = timezone.now()
    period.closed_by = actor if getattr(actor, "is_authenticated", False) else None
    period.save(update_fields=["status", "available", "decision", "closed_at", "closed_by"])
    audit_record(collective=budget.collective, actor=actor, action="period.closed", target=period, before=before,
                 after={"status": period.status, "available": str(available), "decision": stored,
                        "granted": str(sum((g.granted for g in grants), ZERO)), "carried": pending})
    period_closed_notify(period=period, grants=grants, authors=authors, actor=actor,
                         payout_ids=payout_ids)


def period_close(*, period: Period, actor: User | None = None, decision: dict[str, Any] | None = None) -> Period:
    """Close a period (idempotent, resumable). Under `hold`, a period whose requests exceed the
    money enters `deficit`; closing it then needs the coordinators' `decision`:
    {"kind": "pro_rata"}, {"kind": "amounts", "amounts": {contribution_id: amount}, "note": ...}
    or {"kind": "top_up", "amount", "source", "status", "received_on"}. Without an actor, the system closes a
    period its budget closes automatically."""
    CLOSE_PERIODS.require(collective=period.collective, actor=actor)
    with transaction.atomic():
        budget = budget_lock(period.budget)
        period = Period.objects.select_for_update().get(pk=period.pk)
        ensure_period_unlocked(period)
        if period.status == PeriodStatus.CLOSED:
            if decision is not None:
                raise Conflict(_("This period is already closed."), "already_closed")
        elif period.status == PeriodStatus.OPEN and decision is not None:
            message = _("This period is not in deficit: it closes by the budget's rule, without a decision.")
            raise DomainError(message, "no_deficit", fields={"decision": [message]})
        else:
            _settle(budget=budget, period=period, actor=actor, decision=decision)
    if period.status == PeriodStatus.CLOSED:
        period_grants_post(period=period, actor=actor)
    period.refresh_from_db()
    return period


def periods_close_due(*, today: date) -> int:
    """Close every period due for automatic closing and finish the closings a crash interrupted, budget by
    budget in order: a budget whose period cannot close (a deficit, pending work in its last period) waits for
    its coordinators, the others go on. Returns how many periods were closed or resumed."""
    closed = 0
    blocked_budgets = set()
    for period in periods_due(today):
        if period.budget_id in blocked_budgets:
            continue
        try:
            result = period_close(period=period, actor=None)
        except DomainError as error:
            logger.warning("contributions: period %s not closed automatically: %s", period.pk, error.message)
            blocked_budgets.add(period.budget_id)
            continue
        if result.status != PeriodStatus.CLOSED:
            blocked_budgets.add(period.budget_id)
        closed += 1
    return closed
