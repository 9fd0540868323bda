"""Payouts after a closing: marking them paid (one or in bulk)."""

from datetime import date

from django.db import transaction
from django.utils.translation import gettext as _

from contrib_budget import dates, text
from contrib_budget.errors import Conflict, DomainError, checked
from members.audit import audit_record
from members.models import Collective, User

from . import accounts
from .corrections import corrections_budgets_lock, corrections_recover
from .ledger import transaction_post
from .locks import ensure_period_unlocked
from .models import Payout, PayoutState
from .notifications import payouts_notify
from .permissions import PAY_PAYOUTS


def _paid_state(payout: Payout) -> dict[str, str | None]:
    return {"paid_on": payout.paid_on.isoformat() if payout.paid_on else None, "reference": payout.reference}


def payouts_mark_paid(*, collective: Collective, payout_ids: list[int], actor: User, paid_on: date,
                      reference: str = "") -> list[Payout]:
    """Mark payable (or sent) payouts paid (all or none): payable → paid in the ledger, once each, less what a
    correction of an earlier payout withholds."""
    PAY_PAYOUTS.require(collective=collective, actor=actor)

    checked("reference", reference, text.single_line(100))
    checked("paid_on", paid_on, dates.validate_date_window)
    ids = sorted(set(payout_ids))
    if not ids:
        raise DomainError(_("Choose at least one payout."), "invalid",
                          fields={"payouts": [_("Choose at least one payout.")]})
    with transaction.atomic():
        corrections_budgets_lock(collective=collective, payout_ids=ids)
        payouts = list(Payout.objects.of(collective).select_for_update(of=("self",))
                       .select_related("person", "collective", "period__budget", "period__collective")
                       .filter(pk__in=ids).order_by("id"))
        if len(payouts) != len(ids):
            raise DomainError(_("Unknown payout."), "not_found", fields={"payouts": [_("Unknown payout.")]})
        for period_id in sorted({p.period_id for p in payouts}):
            ensure_period_unlocked(period_id)
        paid = [p.pk for p in payouts if p.state == PayoutState.PAID]
        if paid:
            raise Conflict(_("Already marked paid: #%(ids)s.") % {"ids": ", #".join(map(str, paid))}, "already_paid",
                           fields={"payouts": paid})
        owed = [p.pk for p in payouts if p.state == PayoutState.OWED]
        if owed:
            message = _("Not payable yet (backed by pledged money): #%(ids)s.") % {"ids": ", #".join(map(str, owed))}
            raise Conflict(message, "not_payable", fields={"payouts": owed})
        reversed_ = [p.pk for p in payouts if p.state == PayoutState.REVERSED]
        if reversed_:
            raise Conflict(_("Reversed, nothing to pay: #%(ids)s.") % {"ids": ", #".join(map(str, reversed_))},
                           "payout_reversed", fields={"payouts": reversed_})
        # A sent payout's amount is in its batch's file already: only payouts paid by hand repay corrections here.
        corrections_recover(collective=collective, actor=actor,
                            payouts=[p for p in payouts if p.granted and p.state == PayoutState.PAYABLE])
        for payout in payouts:
            if payout.net_amount:
                payout.payment_transaction = transaction_post(
                    collective=collective, kind="payout_paid", actor=actor, linked=payout,
                    legs=[(accounts.person_account(collective=collective, user=payout.person, state="payable"),
                           -payout.net_amount),
                          (accounts.person_account(collective=collective, user=payout.person, state="paid"),
                           payout.net_amount)],
                    memo=_("Paid %(reference)s") % {"reference": reference} if reference else _("Paid"),
                    idempotency_key=f"paid:{payout.pk}",
                )
            before = _paid_state(payout)
            payout.paid_on = paid_on
            payout.reference = reference
            payout.save(update_fields=["paid_on", "reference", "payment_transaction"])
            audit_record(collective=collective, actor=actor, action="payout.paid", target=payout,
                         before=before, after=_paid_state(payout))
        payouts_notify(kind="payout.paid", payouts=[p for p in payouts if p.net_amount], actor=actor,
                       amounts={p.pk: p.net_amount for p in payouts}, paid_on=paid_on.isoformat())
    return payouts
