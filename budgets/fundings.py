"""Fundings credit a budget, pledged or received; received money turns owed payouts payable."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contrib_budget import dates, text
from contrib_budget.errors import Conflict, DomainError, checked
from contrib_budget.money import MAX_FUNDING, MoneyInput, parse_money
from members.audit import audit_record
from members.models import User

from . import accounts
from .ledger import InsufficientFunds, Leg, transaction_post, transaction_reverse
from .models import Account, AccountKind, Budget, Funding, FundingStatus, LedgerTransaction, Payout, SourceKind
from .notifications import funding_received_notify, payouts_notify
from .permissions import CANCEL_FUNDINGS, MANAGE_BUDGETS
from .services import budget_lock


def _funding_state(funding: Funding) -> dict:
    return {"source": funding.source, "source_kind": funding.source_kind, "amount": str(funding.amount),
            "status": funding.status, "received_on": funding.received_on.isoformat() if funding.received_on else None}


def merge_legs(legs: list[Leg]) -> list[Leg]:
    """One leg per account, without zero legs."""
    totals: dict[int, Decimal] = defaultdict(Decimal)
    accounts_by_id = {}
    for account, amount in legs:
        totals[account.pk] += amount
        accounts_by_id[account.pk] = account
    return [(accounts_by_id[pk], amount) for pk, amount in totals.items() if amount != 0]


def settlement(*, budget: Budget, cash: Decimal) -> tuple[list[Leg], list[tuple[int, Decimal]]]:
    """Owed payouts of `budget` become payable, oldest first, as far as `cash` (received money
    not granted yet) goes. Returns the ledger legs and the (payout id, amount) updates.

    Call it with the budget locked (see `budget_lock`).
    """
    from .selectors import payouts_owed_posted

    legs: list[Leg] = []
    updates: list[tuple[int, Decimal]] = []
    per_person: dict[int, Decimal] = defaultdict(Decimal)
    people = {}
    for payout in payouts_owed_posted(budget=budget):
        if cash <= 0:
            break
        amount = min(payout.granted - payout.payable_amount, cash)
        cash -= amount
        updates.append((payout.pk, amount))
        per_person[payout.person_id] += amount
        people[payout.person_id] = payout.person
    total = sum((amount for _pk, amount in updates), Decimal("0.00"))
    if total:
        legs += [(accounts.budget_received_account(budget), -total), (accounts.budget_pledged_account(budget), total)]
        owed = accounts.person_accounts(collective=budget.collective, users=people.values(), state="owed")
        payable = accounts.person_accounts(collective=budget.collective, users=people.values(), state="payable")
        for person_id, amount in per_person.items():
            legs += [(owed[person_id], -amount), (payable[person_id], amount)]
    return legs, updates


_ADD_PAYABLE = """
    UPDATE budgets_payout AS payout SET payable_amount = payout.payable_amount + settled.amount
    FROM unnest(%s::bigint[], %s::numeric[]) AS settled(id, amount)
    WHERE payout.id = settled.id
"""


def settled_apply(updates: list[tuple[int, Decimal]], actor: User) -> None:
    """Owed payouts become payable by these amounts (one statement for them all); their payees are told."""
    if not updates:
        return
    with connection.cursor() as cursor:
        cursor.execute(_ADD_PAYABLE, [[pk for pk, _amount in updates], [amount for _pk, amount in updates]])
    payouts = Payout.objects.filter(pk__in=[pk for pk, _amount in updates]).select_related(
        "collective", "period__budget", "period__collective").order_by("pk")
    payouts_notify(kind="payout.payable", payouts=payouts, amounts=dict(updates), actor=actor)


def funding_create(
    *, budget: Budget, actor: User, source: str, amount: MoneyInput, source_kind: str = SourceKind.GRANT,
    status: str = FundingStatus.PLEDGED, received_on: date | None = None,
) -> Funding:
    """Credit `budget` from `source`; received money first makes owed payouts payable."""
    MANAGE_BUDGETS.require(collective=budget.collective, actor=actor)
    amount = parse_money(amount, "amount", positive=True, maximum=MAX_FUNDING)
    source = checked("source", (source or "").strip(), text.single_line(150))
    checked("received_on", received_on, dates.validate_date_window)
    if not source:
        raise DomainError(_("Name the source of this funding."), "invalid",
                          fields={"source": [_("This field is required.")]})
    # A correction's pledge is recorded by the correction itself (budgets.corrections), never typed in.
    if source_kind not in SourceKind.values or source_kind == SourceKind.CORRECTION:
        raise DomainError(_("Unknown kind of source."), "invalid",
                          fields={"source_kind": [_("Unknown kind of source.")]})
    if status not in FundingStatus.values:
        raise DomainError(_("A funding is pledged or received."), "invalid",
                          fields={"status": [_("Choose pledged or received.")]})
    if status == FundingStatus.RECEIVED:
        received_on = received_on or timezone.localdate()
    else:
        received_on = None
    return funding_record(budget=budget, actor=actor, source=source, amount=amount, source_kind=source_kind,
                          status=status, received_on=received_on)


def funding_record(*, budget: Budget, actor: User, source: str, amount: Decimal, source_kind: str, status: str,
                   received_on: date | None) -> Funding:
    """Record a checked funding and post it; received money first makes owed payouts payable. The caller checked
    who may."""
    with transaction.atomic():
        budget = budget_lock(budget)
        funding = Funding.objects.create(
            collective=budget.collective, budget=budget, source=source, source_kind=source_kind, amount=amount,
            status=status, received_on=received_on, created_by=actor,
        )
        legs: list[Leg] = [(accounts.source_account(budget=budget, source=source), -amount)]
        updates: list[tuple[int, Decimal]] = []
        if status == FundingStatus.RECEIVED:
            received = accounts.budget_received_account(budget)
            legs.append((received, amount))
            settle_legs, updates = settlement(budget=budget, cash=received.balance + amount)
            legs += settle_legs
        else:
            legs.append((accounts.budget_pledged_account(budget), amount))
        transaction_post(collective=budget.collective, kind="funding", legs=merge_legs(legs),
                         memo=_("Funding from %(source)s") % {"source": source}, actor=actor,
                         idempotency_key=f"funding:{funding.pk}", linked=funding)
        settled_apply(updates, actor)
        audit_record(collective=budget.collective, actor=actor, action="funding.created", target=funding,
                     after=_funding_state(funding))
        if status == FundingStatus.RECEIVED:
            funding_received_notify(funding=funding, actor=actor)
    return funding


def funding_receive(*, funding: Funding, actor: User, received_on: date | None = None) -> Funding:
    """A pledged funding arrives: its money moves from pledged to received, and owed payouts
    of the budget become payable, oldest first."""
    MANAGE_BUDGETS.require(collective=funding.collective, actor=actor)
    checked("received_on", received_on, dates.validate_date_window)
    return funding_arrive(funding=funding, actor=actor, received_on=received_on)


def funding_arrive(*, funding: Funding, actor: User, received_on: date | None = None) -> Funding:
    """`funding_receive` once the caller checked who may (a payout correction recovered by withholding arrives
    this way, whoever makes the payment)."""
    with transaction.atomic():
        budget = budget_lock(funding.budget)
        funding = Funding.objects.select_for_update().get(pk=funding.pk)
        if funding.cancelled_at is not None:
            raise Conflict(_("This funding is cancelled."), "funding_cancelled")
        if funding.status == FundingStatus.RECEIVED:
            raise Conflict(_("This funding is already received."), "already_received")
        before = _funding_state(funding)
        funding.status = FundingStatus.RECEIVED
        funding.received_on = received_on or timezone.localdate()
        funding.save(update_fields=["status", "received_on"])
        received = accounts.budget_received_account(budget)
        legs: list[Leg] = [(accounts.budget_pledged_account(budget), -funding.amount), (received, funding.amount)]
        settle_legs, updates = settlement(budget=budget, cash=received.balance + funding.amount)
        legs = merge_legs(legs + settle_legs)
        transaction_post(collective=budget.collective, kind="funding_received", legs=legs,
                         memo=_("Funding from %(source)s received") % {"source": funding.source}, actor=actor,
                         idempotency_key=f"funding-receive:{funding.pk}", linked=funding)
        settled_apply(updates, actor)
        audit_record(collective=budget.collective, actor=actor, action="funding.received", target=funding,
                     before=before, after=_funding_state(funding))
        funding_received_notify(funding=funding, actor=actor)
    return funding


def funding_cancel(*, funding: Funding, actor: User, reason: str) -> Funding:
    """Undo a mistyped funding: its ledger movements are reversed, and it no longer counts.

    Refused when the money is already granted: the reversal would take a budget account below zero,
    or the funding's arrival already made owed payouts payable.
    """
    CANCEL_FUNDINGS.require(collective=funding.collective, actor=actor)
    reason = checked("reason", (reason or "").strip(), text.multi_line(1000))
    if not reason:
        raise DomainError(_("Say why this funding is cancelled."), "invalid",
                          fields={"reason": [_("This field is required.")]})
    with transaction.atomic():
        budget = budget_lock(funding.budget)
        funding = Funding.objects.select_for_update().get(pk=funding.pk)
        if funding.cancelled_at is not None:
            raise Conflict(_("This funding is already cancelled."), "already_cancelled")
        txns = list(LedgerTransaction.objects.of(funding.collective_id).filter(
            idempotency_key__in=[f"funding-receive:{funding.pk}", f"funding:{funding.pk}"]).order_by("-id"))
        own = {account.pk for account in (accounts.budget_received_account(budget),
                                          accounts.budget_pledged_account(budget))}
        for txn in txns:
            for account in Account.objects.filter(entries__transaction=txn):
                if account.pk not in own and account.kind != AccountKind.FUNDING_SOURCE:
                    raise Conflict(_("This funding's money is already granted: owed payouts became payable "
                                     "when it was received."), "funding_granted")
        before = _funding_state(funding)
        try:
            for txn in txns:
                transaction_reverse(txn=txn, actor=actor, idempotency_key=f"cancel:{txn.idempotency_key}",
                                    memo=_("Funding from %(source)s cancelled") % {"source": funding.source})
        except InsufficientFunds:
            raise Conflict(_("This funding's money is already granted: cancelling it would leave the budget "
                             "short of money it has promised."), "funding_granted") from None
        funding.cancelled_at = timezone.now()
        funding.cancelled_by = actor
        funding.cancel_reason = reason
        funding.save(update_fields=["cancelled_at", "cancelled_by", "cancel_reason"])
        audit_record(collective=budget.collective, actor=actor, action="funding.cancelled", target=funding,
                     before=before, after={**_funding_state(funding), "cancel_reason": reason})
    return funding
