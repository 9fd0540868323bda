"""Sending payable payouts out together: a SEPA credit-transfer file, or a CSV for payroll.

A batch takes the payable payouts it can pay (the others are listed with why, never dropped silently); they
become `sent` and belong to it, so no other batch can take them. The bank statement then marks them paid
(accounting.bank, on the reference `CB-B<batch>-<person>` each transfer carries). A batch not yet marked sent can
be cancelled: its payouts are payable again.
"""

from collections import defaultdict

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contrib_budget.errors import Conflict, DomainError
from contrib_budget.money import ZERO
from members.audit import audit_record
from members.bank import PaymentDetails, bank_details_for
from members.models import Collective, User

from .corrections import corrections_budgets_lock, corrections_recover
from .locks import ensure_period_unlocked
from .models import BatchMethod, BatchStatus, Payout, PayoutBatch, PayoutState
from .permissions import PAY_PAYOUTS
from .transfer_files import Account, PayrollLine, Transfer, payroll_csv, sepa_credit_transfer

MAX_PAYOUTS = 1000


def batch_reference(batch_id: int, person_id: int) -> str:
    """What each transfer of a batch carries, and what the bank statement gives back."""
    return f"CB-B{batch_id}-{person_id}"


def _not_payable_reason(payout: Payout) -> str | None:
    state = payout.state
    if state == PayoutState.PAYABLE and payout.granted > 0:
        return None
    if state == PayoutState.SENT:
        return _("Already in batch #%(id)s.") % {"id": payout.batch_id}
    reasons: dict[str, str] = {
        PayoutState.PAID: _("Already paid."),
        PayoutState.OWED: _("Not payable yet: backed by pledged money."),
        PayoutState.REVERSED: _("Reversed."),
    }
    return reasons.get(state, _("Nothing was granted."))


def _method_reason(method: str, details: PaymentDetails) -> str | None:
    if method == BatchMethod.SEPA:
        return details.problem
    if details.method != BatchMethod.PAYROLL or not details.payroll_reference:
        return _("Not paid through payroll (no payroll reference).")
    return None


def _choose(collective: Collective, payouts: list[Payout],
            method: str) -> tuple[list[Payout], list[dict], dict[int, PaymentDetails]]:
    """The payouts the batch can pay, the others with why, and how each payee is paid."""
    skipped, candidates = [], []
    for payout in payouts:
        reason = _not_payable_reason(payout)
        if reason:
            skipped.append({"payout": payout.pk, "reason": reason})
        else:
            candidates.append(payout)
    details = bank_details_for(collective=collective, people=[payout.person for payout in candidates])
    chosen = []
    for payout in candidates:
        reason = _method_reason(method, details[payout.person_id])
        if reason:
            skipped.append({"payout": payout.pk, "reason": reason})
        else:
            chosen.append(payout)
    return chosen, sorted(skipped, key=lambda row: row["payout"]), details


def _debtor(collective: Collective) -> Account:
    if not (collective.bank_iban and collective.bank_holder):
        message = _("Record the collective's own bank account (IBAN and holder) in its settings first.")
        raise Conflict(message, "collective_bank_account_missing", fields={"method": [message]})
    return Account(name=collective.bank_holder, iban=collective.bank_iban, bic=collective.bank_bic)


def _period_label(payout: Payout) -> str:
    return f"{payout.period.starts_on.isoformat()} – {payout.period.ends_on.isoformat()}"


def _document(batch: PayoutBatch, payouts: list[Payout], details: dict[int, PaymentDetails]) -> tuple[str, str]:
    """The batch's file and its name."""
    if batch.method == BatchMethod.PAYROLL:
        lines = [PayrollLine(person=p.person.display_name, reference=details[p.person_id].payroll_reference,
                             period=_period_label(p), amount=p.net_amount, budget=p.period.budget.name, payout=p.pk)
                 for p in payouts if p.net_amount > 0]
        return payroll_csv(lines), f"payroll-batch-{batch.pk}.csv"
    per_person: dict[int, list[Payout]] = defaultdict(list)
    for payout in payouts:
        if payout.net_amount > 0:
            per_person[payout.person_id].append(payout)
    transfers = []
    for person_id, mine in per_person.items():
        reference = batch_reference(batch.pk, person_id)
        numbers = " ".join(f"#{p.pk}" for p in mine)
        person = details[person_id]
        transfers.append(Transfer(
            creditor=Account(name=person.holder, iban=person.iban, bic=person.bic),
            amount=sum((p.net_amount for p in mine), ZERO), end_to_end_id=reference,
            remittance=f"{reference} {batch.collective.name} {numbers}"))
    document = sepa_credit_transfer(debtor=_debtor(batch.collective), transfers=transfers,
                                    execution_date=timezone.localdate(), message_id=f"CB-B{batch.pk}",
                                    currency=batch.collective.currency)
    return document, f"sepa-batch-{batch.pk}.xml"


def _batch_state(batch: PayoutBatch) -> dict:
    return {"status": batch.status, "method": batch.method, "total": str(batch.total), "count": batch.count}


def batch_create(*, collective: Collective, actor: User, payout_ids: list[int], method: str) -> PayoutBatch:
    """Send the payable payouts among `payout_ids` out in one batch of `method` (sepa | payroll)."""
    PAY_PAYOUTS.require(collective=collective, actor=actor)
    if method not in BatchMethod.values:
        raise DomainError(_("Choose SEPA or payroll."), "invalid", fields={"method": [_("Choose SEPA or payroll.")]})
    ids = sorted(set(payout_ids))
    if not ids or len(ids) > MAX_PAYOUTS:
        message = _("Choose between 1 and %(max)s payouts.") % {"max": MAX_PAYOUTS}
        raise DomainError(message, "invalid", fields={"payouts": [message]})
    if method == BatchMethod.SEPA:
        _debtor(collective)
    with transaction.atomic():
        corrections_budgets_lock(collective=collective, payout_ids=ids)
        payouts = list(Payout.objects.of(collective).select_for_update(of=("self",))
                       .select_related("person", "collective", "period__budget").filter(pk__in=ids).order_by("id"))
        if len(payouts) != len(ids):
            raise DomainError(_("Unknown payout."), "not_found", fields={"payouts": [_("Unknown payout.")]})
        chosen, skipped, details = _choose(collective, payouts, method)
        if not chosen:
            message = _("None of these payouts can be sent this way.")
            raise Conflict(message, "nothing_to_send", fields={"payouts": [row["reason"] for row in skipped]})
        for period_id in sorted({p.period_id for p in chosen}):
            ensure_period_unlocked(period_id)
        corrections_recover(collective=collective, payouts=chosen, actor=actor)
        batch = _batch_record(collective=collective, actor=actor, method=method, chosen=chosen, skipped=skipped,
                              details=details)
    return batch


def _batch_record(*, collective: Collective, actor: User, method: str, chosen: list[Payout], skipped: list[dict],
                  details: dict[int, PaymentDetails]) -> PayoutBatch:
    """The batch row, its file, and its payouts marked sent (inside the caller's transaction)."""
    total = sum((p.net_amount for p in chosen), ZERO)
    if total <= 0:
        raise Conflict(_("What these payouts owe was all withheld: nothing is left to send."), "nothing_to_send")
    batch = PayoutBatch.objects.create(
        collective=collective, method=method, total=total, count=len(chosen), skipped=skipped, created_by=actor,
        lines=[{"payout": p.pk, "person": p.person_id, "amount": str(p.net_amount)} for p in chosen])
    batch.document, batch.filename = _document(batch, chosen, details)
    batch.save(update_fields=["document", "filename"])
    Payout.objects.of(collective).filter(pk__in=[p.pk for p in chosen]).update(batch=batch)
    audit_record(collective=collective, actor=actor, action="payout_batch.created", target=batch,
                 after={**_batch_state(batch), "payouts": [p.pk for p in chosen], "skipped": len(skipped)})
    return batch


def batch_mark_sent(*, batch: PayoutBatch, actor: User) -> PayoutBatch:
    """The file was handed to the bank (or the payroll): the batch can no longer be cancelled."""
    return _batch_leaves_prepared(batch=batch, actor=actor, status=BatchStatus.SENT,
                                  refusal=_("Only a prepared batch can be marked sent."))


def batch_cancel(*, batch: PayoutBatch, actor: User) -> PayoutBatch:
    """Give a prepared batch's unpaid payouts back: they are payable again, for another batch or by hand."""
    return _batch_leaves_prepared(batch=batch, actor=actor, status=BatchStatus.CANCELLED,
                                  refusal=_("Only a batch not yet marked sent can be cancelled."))


# What a batch leaving `prepared` records: the time it did, and the audit action.
STAMPS = {
    BatchStatus.SENT: ("sent_at", "payout_batch.sent"),
    BatchStatus.CANCELLED: ("cancelled_at", "payout_batch.cancelled"),
}


def _batch_leaves_prepared(*, batch: PayoutBatch, actor: User, status: str, refusal: str) -> PayoutBatch:
    """A prepared batch marked sent, or cancelled (its unpaid payouts released), once."""
    PAY_PAYOUTS.require(collective=batch.collective, actor=actor)
    stamp, action = STAMPS[BatchStatus(status)]
    with transaction.atomic():
        batch = PayoutBatch.objects.of(batch.collective_id).select_for_update().get(pk=batch.pk)
        if batch.status != BatchStatus.PREPARED:
            raise Conflict(refusal, "batch_not_prepared")
        before, after = _batch_state(batch), {}
        if status == BatchStatus.CANCELLED:
            released = list(Payout.objects.of(batch.collective_id).select_for_update()
                            .filter(batch=batch, paid_on__isnull=True).values_list("pk", flat=True))
            Payout.objects.of(batch.collective_id).filter(pk__in=released).update(batch=None)
            after["released"] = released
        batch.status = status
        setattr(batch, stamp, timezone.now())
        batch.save(update_fields=["status", stamp])
        audit_record(collective=batch.collective, actor=actor, action=action, target=batch, before=before,
                     after={**_batch_state(batch), **after})
    return batch
