"""Which ledger entries belong to a budget or a cobudget round: those of the transactions linked to its objects."""

import operator
from functools import reduce

from django.db.models import CharField, Q
from django.db.models.functions import Cast

from budgets.models import Funding, Payout, PayoutCorrection
from cobudget.models import Bucket, Round, Wallet
from contrib_budget.models import record_label


def _linked_to(model, objects) -> Q:
    ids = objects.annotate(text_id=Cast("pk", CharField())).values("text_id")
    return Q(transaction__linked_type=record_label(model), transaction__linked_id__in=ids)


def ledger_scope(collective, *, budget_id: int | None = None, round_id: int | None = None) -> Q:
    """Entries of the transactions about a budget (its fundings and payouts) or a cobudget round
    (the round, its buckets and wallets), reversals included since they keep the link; no filter: all."""
    parts = []
    if budget_id:
        parts.append(_linked_to(Funding, Funding.objects.of(collective).filter(budget_id=budget_id)))
        parts.append(_linked_to(Payout, Payout.objects.of(collective).filter(period__budget_id=budget_id)))
        parts.append(_linked_to(PayoutCorrection,
                                PayoutCorrection.objects.of(collective).filter(funding__budget_id=budget_id)))
    if round_id:
        parts.append(_linked_to(Round, Round.objects.of(collective).filter(pk=round_id)))
        parts.append(_linked_to(Bucket, Bucket.objects.of(collective).filter(round_id=round_id)))
        parts.append(_linked_to(Wallet, Wallet.objects.of(collective).filter(round_id=round_id)))
    return reduce(operator.or_, parts, Q()) if parts else Q()
