"""Closing the loop: a funded bucket becomes an envelope of a contributive budget."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from budgets import services as budget_services
from budgets.accounts import source_account
from budgets.fundings import funding_create
from budgets.ledger import transfer
from budgets.models import Account, Budget, Envelope, FundingStatus, PeriodKind, SourceKind
from contrib_budget.errors import Conflict, DomainError
from members.audit import audit_record
from members.models import User

from ..models import Bucket, BucketStatus
from ..permissions import HAND_OVER_BUCKETS


def bucket_to_envelope(*, bucket: Bucket, actor: User, budget: Budget | None = None,
                       new_budget_name: str = "") -> Envelope:
    """Hand what a funded bucket raised to a contributive budget, as one of its envelopes.

    The money goes through the budgets' own funding service (a received
    funding named after the bucket, so owed payouts of that budget settle as
    usual), and the bucket's account pays that funding's source account in the
    same transaction: the ledger shows the money leaving the bucket for the
    budget. Its carriers then declare their work against the new envelope.
    """
    HAND_OVER_BUCKETS.require(collective=bucket.collective, actor=actor)
    if budget is None and not (new_budget_name or "").strip():
        raise DomainError(_("Choose a budget or name a new one."), "no_budget",
                          fields={"budget": [_("Choose a budget or name a new one.")]})
    with transaction.atomic():
        bucket = Bucket.objects.select_for_update(of=("self",)).select_related("round", "collective").get(pk=bucket.pk)
        if bucket.envelope_id:
            raise Conflict(_("This bucket is already an envelope of a budget."), "already_converted")
        if bucket.status not in (BucketStatus.FUNDED, BucketStatus.PARTIALLY_FUNDED, BucketStatus.COMPLETED) \
                or not bucket.settled_at:
            raise Conflict(_("Only a bucket funded at the close can become an envelope."), "not_funded")
        bucket.account = Account.objects.get(pk=bucket.account_id)
        amount = bucket.account.balance
        if budget is None:
            budget = budget_services.budget_create(
                collective=bucket.collective, actor=actor, name=new_budget_name.strip()[:150],
                description=bucket.description, starts_on=timezone.localdate(), period_kind=PeriodKind.NONE,
            )
        elif budget.collective_id != bucket.collective_id:
            raise DomainError(_("Choose a budget of this collective."), "invalid",
                              fields={"budget": [_("Unknown budget.")]})
        # A funding's source holds 150 characters: the round's name and the bucket's title are cut to fit.
        source = _("Cobudget %(round)s: %(bucket)s (#%(id)s)") % {
            "round": bucket.round.name[:60], "bucket": bucket.title[:60], "id": bucket.pk}
        funding_create(budget=budget, actor=actor, source=source, amount=amount, source_kind=SourceKind.OTHER,
                       status=FundingStatus.RECEIVED)
        transfer(collective=bucket.collective, source=bucket.account,
                 destination=source_account(budget=budget, source=source), amount=amount,
                 kind="cobudget_to_envelope", memo=source, actor=actor,
                 idempotency_key=f"cobudget:bucket:{bucket.pk}:envelope", linked=bucket)
        envelope = budget_services.envelope_create(budget=budget, actor=actor, name=bucket.title[:150],
                                                   amount=amount, description=bucket.description)
        bucket.envelope = envelope
        bucket.converted_amount = amount
        bucket.save(update_fields=["envelope", "converted_amount"])
        audit_record(collective=bucket.collective, actor=actor, action="cobudget.bucket_to_envelope", target=bucket,
                     after={"budget": budget.pk, "envelope": envelope.pk, "amount": str(amount)})
    return envelope
