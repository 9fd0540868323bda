"""Correcting a grant made in error: by new ledger entries, never by editing old ones.

- A grant not paid yet is **reversed**: its money goes back to the budget (received or pledged, as it was backed),
  so the budget's funds not granted grow by it and the next open periods can grant it (a carry-over budget carries
  it into the period after the reversed one). The payout keeps the reversed amount; the period's figures drop it.
- A paid payout is **corrected**: the person owes the amount back. The correction is a pledged funding of the
  budget (its money counts as the budget's again) that the person's next payment repays by withholding it; a
  transfer from the person can settle it instead (marking that funding received).

A locked period is never touched: a correction changes no row of its period and lands in the open ones.
"""

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from contrib_budget import text
from contrib_budget.errors import Conflict, DomainError, checked
from contrib_budget.money import MAX_DECLARATION, ZERO, MoneyInput, parse_money
from members.audit import audit_record
from members.models import Collective, User

from . import accounts
from .fundings import funding_arrive, funding_record, merge_legs, settled_apply, settlement
from .ledger import Leg, transaction_post
from .locks import ensure_period_unlocked
from .models import Budget, FundingStatus, Payout, PayoutCorrection, PayoutState, SourceKind
from .notifications import payouts_notify
from .permissions import CORRECT_GRANTS
from .services import budget_lock


def _reason(reason: str) -> str:
    reason = checked("reason", (reason or "").strip(), text.multi_line(1000))
    if not reason:
        raise DomainError(_("Say why this grant is corrected."), "invalid",
                          fields={"reason": [_("This field is required.")]})
    return reason


def _locked_payout(payout: Payout) -> Payout:
    return (Payout.objects.of(payout.collective_id).select_for_update(of=("self",))
            .select_related("person", "collective", "period__budget", "period__collective").get(pk=payout.pk))


def _refuse_reversal(payout: Payout) -> None:
    state = payout.state
    if state == PayoutState.REVERSED:
        raise Conflict(_("This grant is already reversed."), "already_reversed")
    if state == PayoutState.PAID:
        raise Conflict(_("This payout is paid: record a correction instead, which its next payouts repay."),
                       "already_paid")
    if state == PayoutState.SENT:
        raise Conflict(_("This payout is in batch #%(id)s: cancel the batch first.") % {"id": payout.batch_id},
                       "payout_in_batch")
    if payout.granted <= 0 or payout.grant_transaction_id is None:
        raise Conflict(_("Nothing of this grant is in the books to reverse."), "nothing_to_reverse")
    if payout.withheld:
        raise Conflict(_("Part of this payout already repaid a correction: record a correction instead."),
                       "payout_withheld")


def payout_reverse(*, payout: Payout, actor: User, reason: str) -> Payout:
    """Reverse the grant of an unpaid payout: its money returns to the budget, the payout reads `reversed`."""
    CORRECT_GRANTS.require(collective=payout.collective, actor=actor)
    reason = _reason(reason)
    with transaction.atomic():
        budget = budget_lock(payout.period.budget)
        payout = _locked_payout(payout)
        ensure_period_unlocked(payout.period_id)
        _refuse_reversal(payout)
        collective, person, owed = payout.collective, payout.person, payout.owed_amount
        legs: list[Leg] = []
        if payout.payable_amount:
            legs += [(accounts.person_account(collective=collective, user=person, state="payable"),
                      -payout.payable_amount), (accounts.budget_received_account(budget), payout.payable_amount)]
        if owed:
            legs += [(accounts.person_account(collective=collective, user=person, state="owed"), -owed),
                     (accounts.budget_pledged_account(budget), owed)]
        before = _reversal_state(payout)
        payout.reversal_transaction = transaction_post(
            collective=collective, kind="grant_reversal", legs=legs, actor=actor, linked=payout,
            reverses=payout.grant_transaction, idempotency_key=f"reverse:{payout.pk}",
            memo=_("Grant for declaration #%(id)s reversed: %(reason)s") % {"id": payout.contribution_id,
                                                                           "reason": reason[:150]})
        payout.reversed_amount, payout.granted, payout.payable_amount = payout.granted, ZERO, ZERO
        payout.reversed_at, payout.reversal_reason = timezone.now(), reason
        payout.save(update_fields=["reversed_amount", "granted", "payable_amount", "reversal_transaction",
                                   "reversed_at", "reversal_reason"])
        _settle_owed(budget=budget, actor=actor, payout=payout)
        audit_record(collective=collective, actor=actor, action="payout.reversed", target=payout, before=before,
                     after={**_reversal_state(payout), "reason": reason})
        payouts_notify(kind="payout.reversed", payouts=[payout], amounts={payout.pk: payout.reversed_amount},
                       actor=actor, reason=reason)
    return payout


def _reversal_state(payout: Payout) -> dict:
    return {"granted": str(payout.granted), "payable": str(payout.payable_amount),
            "reversed": str(payout.reversed_amount)}


def _settle_owed(*, budget: Budget, actor: User, payout: Payout) -> None:
    """Received money the reversal gave back makes the budget's owed payouts payable, oldest first, as a funding
    that arrives does."""
    legs, updates = settlement(budget=budget, cash=accounts.budget_received_account(budget).balance)
    if legs:
        transaction_post(collective=budget.collective, kind="settlement", legs=merge_legs(legs), actor=actor,
                         idempotency_key=f"reverse-settle:{payout.pk}", linked=payout,
                         memo=_("Owed payouts of %(budget)s made payable") % {"budget": budget.name})
        settled_apply(updates, actor)


def payout_correct(*, payout: Payout, actor: User, amount: MoneyInput, reason: str) -> PayoutCorrection:
    """The paid `payout` was too large by `amount`: the person owes it back, from their next payouts."""
    CORRECT_GRANTS.require(collective=payout.collective, actor=actor)
    amount = parse_money(amount, "amount", positive=True, maximum=MAX_DECLARATION)
    reason = _reason(reason)
    with transaction.atomic():
        budget = budget_lock(payout.period.budget)
        payout = _locked_payout(payout)
        if payout.state != PayoutState.PAID:
            raise Conflict(_("Only a paid payout is corrected; reverse a grant not paid yet."), "not_paid")
        already = sum((c.amount for c in payout.corrections.all()), ZERO)
        if already + amount > payout.net_amount:
            message = _("At most %(left)s of this payout is left to correct.") % {"left": payout.net_amount - already}
            raise DomainError(message, "amount_too_large", fields={"amount": [message]})
        source = _("Correction of payout #%(id)s (%(person)s)") % {"id": payout.pk,
                                                                   "person": payout.person.display_name}
        funding = funding_record(budget=budget, actor=actor, source=source[:150], amount=amount,
                                 source_kind=SourceKind.CORRECTION, status=FundingStatus.PLEDGED, received_on=None)
        correction = PayoutCorrection.objects.create(collective=payout.collective, payout=payout,
                                                     person=payout.person, amount=amount, reason=reason,
                                                     funding=funding, created_by=actor)
        audit_record(collective=payout.collective, actor=actor, action="payout.corrected", target=payout,
                     after={"amount": str(amount), "reason": reason, "correction": correction.pk})
        payouts_notify(kind="payout.corrected", payouts=[payout], amounts={payout.pk: amount}, actor=actor,
                       reason=reason)
    return correction


def corrections_open(*, collective: Collective, people: set[int]) -> QuerySet[PayoutCorrection]:
    """Corrections of `people` still to recover: not withheld yet, and not repaid otherwise (their funding still
    pledged)."""
    return (PayoutCorrection.objects.of(collective)
            .filter(person_id__in=people, recovered_at__isnull=True, funding__status=FundingStatus.PLEDGED,
                    funding__cancelled_at__isnull=True)
            .select_related("funding__budget", "person").order_by("id"))


def corrections_budgets_lock(*, collective: Collective, payout_ids: list[int]) -> None:
    """Lock the budgets whose corrections a payment of these payouts may recover, before the payouts themselves,
    in the order every money movement takes (budget, then payouts)."""
    people = set(Payout.objects.of(collective).filter(pk__in=payout_ids).values_list("person_id", flat=True))
    for budget in sorted({c.funding.budget for c in corrections_open(collective=collective, people=people)},
                         key=lambda b: b.pk):
        budget_lock(budget)


def corrections_recover(*, collective: Collective, payouts: list[Payout], actor: User) -> None:
    """Withhold what their payees owe from `payouts` (payable, locked, about to be paid or sent), a correction at a
    time and only whole: one the payouts cannot cover waits for a larger payment."""
    for correction in corrections_open(collective=collective, people={p.person_id for p in payouts}):
        mine = sorted((p for p in payouts if p.person_id == correction.person_id),
                      key=lambda p: p.payable_amount - p.withheld, reverse=True)
        if sum((p.payable_amount - p.withheld for p in mine), ZERO) < correction.amount:
            continue
        left = correction.amount
        for payout in mine:
            take = min(payout.payable_amount - payout.withheld, left)
            if take:
                payout.withheld += take
                payout.save(update_fields=["withheld"])
                left -= take
        funding = correction.funding
        correction.recovery_transaction = transaction_post(
            collective=collective, kind="correction_recovered", actor=actor, linked=correction,
            idempotency_key=f"recover:{correction.pk}",
            legs=[(accounts.person_account(collective=collective, user=correction.person, state="payable"),
                   -correction.amount),
                  (accounts.source_account(budget=funding.budget, source=funding.source), correction.amount)],
            memo=_("Withheld from %(person)s's payment: correction of payout #%(id)s") % {
                "person": correction.person.display_name, "id": correction.payout_id})
        funding_arrive(funding=funding, actor=actor, received_on=timezone.localdate())
        correction.recovered_at = timezone.now()
        correction.save(update_fields=["recovered_at", "recovery_transaction"])
        audit_record(collective=collective, actor=actor, action="payout.correction_recovered", target=correction,
                     after={"amount": str(correction.amount), "payouts": [p.pk for p in mine]})
