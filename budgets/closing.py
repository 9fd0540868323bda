"""Closing a period: from a frozen snapshot of validated declarations to exact payouts.

The closing runs in two steps, so that it is idempotent and resumable:

1. under a lock on the budget then the period, an open period is *settled*: the
   snapshot of validated declarations is frozen into payouts (one per
   declaration, unique), pending declarations move to the next period, and the
   period is marked closed (or `deficit` under the `hold` policy);
2. each payout's grant is posted to the ledger, one at a time under the budget
   lock, and the payout points at the transaction that posted it.

Running it again, from another worker at the same time, or after a crash
between two grants only posts the grants still missing.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from contrib_budget import text
from contrib_budget.errors import Conflict, DomainError, checked
from contrib_budget.money import (
    MAX_BUDGET_AMOUNT,
    ZERO,
    format_money,
    parse_money,
    split_largest_remainder,
    to_money,
)
from members.audit import audit_record

from . import accounts
from .fundings import funding_create
from .ledger import transaction_post
from .locks import ensure_period_unlocked
from .models import (
    Budget,
    Funding,
    FundingStatus,
    LeftoverPolicy,
    OverspendPolicy,
    Payout,
    Period,
    PeriodStatus,
)
from .notifications import period_closed_notify, period_deficit_notify
from .periods import period_count, periods_ensure
from .services import budget_lock


@dataclass(frozen=True)
class Request:
    contribution_id: int
    amount: Decimal
    fixed_price: bool = False


@dataclass
class Grant:
    contribution_id: int
    requested: Decimal
    granted: Decimal
    code: str
    params: dict = field(default_factory=dict)


def _percent(part: Decimal, whole: Decimal) -> str:
    return str(to_money(part * 100 / whole)) if whole else "0.00"


def _pro_rata(requests: list[Request], available: Decimal, rotation: int, code: str, params: dict) -> list[Grant]:
    amounts = [r.amount for r in requests]
    parts = split_largest_remainder(available, amounts, rotation=rotation)
    return [Grant(r.contribution_id, r.amount, part, code, params) for r, part in zip(requests, parts)]


def grants_compute(*, requests: list[Request], available: Decimal, policy: str, rotation: int) -> list[Grant] | None:
    """What each request is granted; None when the requests exceed the money under `hold`.

    Pure: the closing calls it on its frozen snapshot. Granted amounts never exceed
    the requests and sum to min(available, total requested), to the cent.
    """
    available = max(to_money(available), ZERO)
    total = sum((r.amount for r in requests), ZERO)
    if total <= available:
        return [Grant(r.contribution_id, r.amount, r.amount, "granted_in_full") for r in requests]
    params = {"ratio": _percent(available, total), "requested": str(total), "available": str(available)}
    if policy == OverspendPolicy.PRO_RATA:
        return _pro_rata(requests, available, rotation, "pro_rata", params)
    if policy == OverspendPolicy.SERVICES_FIRST:
        services = [r for r in requests if r.fixed_price]
        others = [r for r in requests if not r.fixed_price]
        services_total = sum((r.amount for r in services), ZERO)
        if services_total >= available:
            scaled = {"ratio": _percent(available, services_total), "requested": str(services_total),
                      "available": str(available)}
            grants = _pro_rata(services, available, rotation, "services_first_scaled", scaled)
            grants += [Grant(r.contribution_id, r.amount, ZERO, "services_first_nothing_left",
                             {"services": str(services_total), "available": str(available)}) for r in others]
        else:
            rest = available - services_total
            grants = [Grant(r.contribution_id, r.amount, r.amount, "services_first_full") for r in services]
            others_total = sum((r.amount for r in others), ZERO)
            rest_params = {"services": str(services_total), "rest": str(rest),
                           "ratio": _percent(rest, others_total)}
            grants += _pro_rata(others, rest, rotation, "services_first_rest", rest_params)
        order = {r.contribution_id: i for i, r in enumerate(requests)}
        return sorted(grants, key=lambda g: order[g.contribution_id])
    return None


def _requests(period: Period) -> tuple[list[Request], list[int]]:
    """The frozen snapshot: validated requests (in a stable author order) and the pending ids."""
    from contributions.models import Contribution, ContributionStatus, ValueMode

    rows = (Contribution.objects.filter(period=period)
            .order_by("author_id", "id")
            .values_list("id", "status", "amount", "validated_amount", "value_mode"))
    requests, pending = [], []
    for pk, status, amount, validated, mode in rows:
        if status in (ContributionStatus.VALIDATED, ContributionStatus.ADJUSTED):
            requests.append(Request(pk, validated if validated is not None else amount, mode == ValueMode.FIXED_PRICE))
        elif status == ContributionStatus.PENDING:
            pending.append(pk)
    return requests, pending


def _granted_total(budget: Budget, **filters) -> Decimal:

    return Payout.objects.filter(period__budget=budget, **filters).aggregate(s=Sum("granted"))["s"] or ZERO


def funded_total(budget: Budget) -> Decimal:
    """Every funding of the budget, received and pledged, but not the cancelled ones."""
    return Funding.objects.filter(budget=budget, cancelled_at__isnull=True).aggregate(s=Sum("amount"))["s"] or ZERO


def funds_not_granted(budget: Budget) -> Decimal:
    return funded_total(budget) - _granted_total(budget)


@dataclass(frozen=True)
class Spread:
    """The even spread of a budget without an amount per period, as it stands now."""

    first_open: int
    shares: list[Decimal]


def spread_of(budget: Budget, count: int) -> Spread:
    """What is not granted yet (less the leftover the first open period carries in) spread exactly
    over the periods still open, so what the periods offer always adds up to the funds."""
    closed = Period.objects.filter(budget=budget, status=PeriodStatus.CLOSED).count()
    if closed >= count:
        return Spread(closed, [])
    carry = carried_in(budget=budget, period=Period(budget=budget, index=closed))
    return even_spread(closed=closed, count=count, pool=funds_not_granted(budget) - carry)


def even_spread(*, closed: int, count: int, pool: Decimal) -> Spread:
    """`pool` shared exactly over the periods still open, those from index `closed` on (pure)."""
    if closed >= count:
        return Spread(closed, [])
    return Spread(closed, split_largest_remainder(max(pool, ZERO), [Decimal(1)] * (count - closed)))


def period_amount(*, budget: Budget, period: Period, count: int | None, spread: Spread | None = None) -> Decimal:
    """The period's own amount: `amount_per_period`, or its share of the funds not granted yet spread
    evenly over the periods still open (an open-ended budget offers all the funds not granted)."""
    if budget.amount_per_period is not None:
        return budget.amount_per_period
    if count is None:
        return funds_not_granted(budget)
    spread = spread or spread_of(budget, count)
    position = period.index - spread.first_open
    return spread.shares[position] if 0 <= position < len(spread.shares) else ZERO


def carried_in(*, budget: Budget, period: Period) -> Decimal:
    if budget.leftover_policy != LeftoverPolicy.CARRY_OVER or period.index == 0:
        return ZERO
    previous = Period.objects.filter(budget=budget, index=period.index - 1, status=PeriodStatus.CLOSED).first()
    if previous is None or previous.available is None:
        return ZERO
    return max(previous.available - _granted_total(budget, period=previous), ZERO)


def period_available(*, budget: Budget, period: Period) -> Decimal:
    """Money available = period amount + carried-over leftover, never more than the funds not granted."""
    own = period_amount(budget=budget, period=period, count=period_count(budget))
    return max(min(own + carried_in(budget=budget, period=period), funds_not_granted(budget)), ZERO)


def _decided_grants(*, budget: Budget, period: Period, actor, requests: list[Request], available: Decimal,
                    decision: dict) -> tuple[list[Grant], Decimal, dict]:
    """Apply the coordinators' decision on a period in deficit."""
    kind = decision.get("kind")
    total = sum((r.amount for r in requests), ZERO)
    if kind == "pro_rata":
        params = {"ratio": _percent(available, total), "requested": str(total), "available": str(available)}
        return _pro_rata(requests, available, period.index, "decision_pro_rata", params), available, {"kind": kind}
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
                raise DomainError(_("A granted amount cannot exceed its request."), "invalid",
                                  fields={"amounts": {str(r.contribution_id): [_("More than requested.")]}})
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
    from contributions.models import Contribution

    if not pending:
        return
    periods_ensure(budget=budget, up_to=period.ends_on + timedelta(days=1))
    following = Period.objects.filter(budget=budget, index=period.index + 1).first()
    if following is None:
        raise DomainError(
            _("This is the budget's last period: validate or reject its %(count)s pending declaration(s) first.")
            % {"count": len(pending)}, "pending_in_last_period")
    Contribution.objects.filter(pk__in=pending).update(period=following)


def _settle(*, budget: Budget, period: Period, actor, decision: dict | None) -> None:
    """Step 1, under the locks: freeze the snapshot into payouts and close (or flag a deficit)."""
    from contributions.models import Contribution

    if Period.objects.filter(budget=budget, index__lt=period.index).exclude(status=PeriodStatus.CLOSED).exists():
        raise Conflict(_("Close the earlier periods of this budget first."), "earlier_period_open")
    requests, pending = _requests(period)
    before = {"status": period.status, "available": str(period.available) if period.available is not None else None}
    if period.status == PeriodStatus.DEFICIT:
        available = period.available
        if decision is None:
            raise Conflict(_("This period is in deficit: record the coordinators' decision to close it."),
                           "decision_needed")
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
    authors = dict(Contribution.objects.filter(pk__in=[g.contribution_id for g in grants])
                   .values_list("id", "author_id"))
    payouts = Payout.objects.bulk_create([
        Payout(collective_id=budget.collective_id, contribution_id=g.contribution_id, period=period,
               person_id=authors[g.contribution_id], requested=g.requested, granted=g.granted,
               explanation_code=g.code, explanation_params=g.params)
        for g in grants
    ])
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
                         payout_ids={payout.contribution_id: payout.pk for payout in payouts})


def payout_grant_post(*, payout, actor=None) -> None:
    """Step 2 for one payout: post its grant once, backed by received money first, then pledged."""
    with transaction.atomic():
        budget = budget_lock(payout.period.budget)
        payout = Payout.objects.select_for_update().select_related("person").get(pk=payout.pk)
        if payout.grant_transaction_id is not None:
            return
        received = accounts.budget_received_account(budget)
        backed = min(payout.granted, received.balance)
        owed = payout.granted - backed
        collective = budget.collective
        legs = []
        if backed:
            legs += [(received, -backed),
                     (accounts.person_account(collective=collective, user=payout.person, state="payable"), backed)]
        if owed:
            legs += [(accounts.budget_pledged_account(budget), -owed),
                     (accounts.person_account(collective=collective, user=payout.person, state="owed"), owed)]
        posted = transaction_post(collective=collective, kind="grant", legs=legs, actor=actor,
                                  memo=_("Granted for declaration #%(id)s") % {"id": payout.contribution_id},
                                  idempotency_key=f"grant:{payout.contribution_id}", linked=payout)
        Payout.objects.filter(pk=payout.pk).update(payable_amount=backed, grant_transaction=posted)
        audit_record(collective=collective, actor=actor, action="payout.granted", target=payout,
                     before={"payable": str(payout.payable_amount)},
                     after={"granted": str(payout.granted), "payable": str(backed), "owed": str(owed)})


def period_grants_post(*, period: Period, actor=None) -> int:
    """Post every grant of a closed period still missing from the ledger; returns how many were posted."""
    from .selectors import payouts_unposted

    posted = 0
    for payout in payouts_unposted(period=period):
        payout_grant_post(payout=payout, actor=actor)
        posted += 1
    return posted


def period_close(*, period: Period, actor=None, decision: dict | None = None) -> Period:
    """Close a period (idempotent, resumable). Under `hold`, a period whose requests exceed the
    money enters `deficit`; closing it then needs the coordinators' `decision`:
    {"kind": "pro_rata"}, {"kind": "amounts", "amounts": {contribution_id: amount}, "note": ...}
    or {"kind": "top_up", "amount", "source", "status", "received_on"}."""
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
