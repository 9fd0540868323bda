"""What a closing granted for one claim, and how far it is paid: posted and paid through the ledger."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from contrib_budget.models import CollectiveOwned

from .budget import Funding, Period
from .ledger import MONEY, LedgerTransaction


class PayoutState(models.TextChoices):
    OWED = "owed", _("owed (backed by pledged money)")
    PAYABLE = "payable", _("payable")
    SENT = "sent", _("sent to be paid")
    PAID = "paid", _("paid")
    REVERSED = "reversed", _("reversed")


class BatchMethod(models.TextChoices):
    SEPA = "sepa", _("SEPA credit transfer")
    PAYROLL = "payroll", _("payroll or activity account")


class BatchStatus(models.TextChoices):
    PREPARED = "prepared", _("prepared")
    SENT = "sent", _("sent")
    CANCELLED = "cancelled", _("cancelled")


class PayoutBatch(CollectiveOwned):
    """Payable payouts sent out together: a SEPA credit-transfer file or a payroll CSV, kept as produced."""

    method = models.CharField(_("method"), max_length=10, choices=BatchMethod.choices)
    status = models.CharField(_("status"), max_length=10, choices=BatchStatus.choices, default=BatchStatus.PREPARED)
    total = models.DecimalField(_("total"), **MONEY)
    count = models.PositiveIntegerField(_("payouts"))
    # The payouts asked for but left out, each with why: [{"payout": id, "reason": text}].
    skipped = models.JSONField(default=list, blank=True)
    # What went out, kept when a cancelled batch gives its payouts back: [{"payout", "person", "amount"}].
    lines = models.JSONField(default=list, blank=True)
    document = models.TextField()
    filename = models.CharField(max_length=100)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment batch")
        verbose_name_plural = _("payment batches")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(total__gt=0), name="payout_batch_total_positive")]


# What a payout pays its person, in a query: the grant less what a correction withheld (Payout.net_amount).
NET_AMOUNT = models.F("granted") - models.F("withheld")
# Payouts whose money is all in and that nobody has paid or sent to be paid yet.
PAYABLE = Q(paid_on__isnull=True, payable_amount=models.F("granted"), granted__gt=0, batch__isnull=True)


class Payout(CollectiveOwned):
    """What a closing granted for one declaration, and how far it is paid."""

    # The claim the payout answers; declarations are the only kind of claim (the app above budgets).
    contribution = models.OneToOneField("contributions.Contribution", on_delete=models.PROTECT, related_name="payout")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="payouts")
    # The period's end, written by the database when the payout is (migration 0013's trigger; a period's dates
    # never change once it has payouts): the lists order by it, and their index reads a page without sorting them
    # all through a join.
    period_ends_on = models.DateField(editable=False)
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts")
    requested = models.DecimalField(_("requested"), **MONEY)
    granted = models.DecimalField(_("granted"), **MONEY)
    # The part of `granted` backed by received money; the rest is owed until pledges arrive.
    payable_amount = models.DecimalField(_("payable"), default=0, **MONEY)
    # Why granted differs from requested: a code and its parameters, rendered in the reader's language.
    explanation_code = models.CharField(max_length=40)
    explanation_params = models.JSONField(default=dict, blank=True)
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    # The ledger transactions that posted the grant and paid it: whether a payout is posted or paid is read
    # here, from the ledger's own rows, never by matching idempotency keys.
    grant_transaction = models.OneToOneField(LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True,
                                             related_name="granted_payout")
    payment_transaction = models.OneToOneField(LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True,
                                               related_name="paid_payout")
    # The batch the payout went out in, until it is paid (kept after) or the batch is cancelled (cleared).
    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="payouts")
    # Columns added after payouts were first written in sets (grants, the bench's raw SQL) have database defaults.
    # Kept back from this payout to recover what an earlier payout paid in error (PayoutCorrection).
    withheld = models.DecimalField(_("withheld"), default=0, db_default=0, **MONEY)
    # A grant made in error and not paid is reversed: `granted` drops to zero and `reversed_amount` keeps what it
    # was; the ledger keeps the grant and posts its mirror image (`reversal_transaction`).
    reversed_amount = models.DecimalField(_("reversed"), default=0, db_default=0, **MONEY)
    reversal_transaction = models.OneToOneField(LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True,
                                                related_name="reversed_payout")
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)
    reversal_reason = models.TextField(_("reason for reversing"), blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)

    # Payouts lived in the contributions app first; the ledger and the audit log are append-only and name them
    # so, and keep doing so that a payout's history reads as one (contrib_budget.models.record_label).
    record_label = "contributions.payout"

    class Meta:
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")
        ordering = ["period", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(granted__gte=0) & Q(granted__lte=models.F("requested")),
                                   name="payout_granted_within_request"),
            models.CheckConstraint(condition=Q(payable_amount__gte=0) & Q(payable_amount__lte=models.F("granted")),
                                   name="payout_payable_within_granted"),
            models.CheckConstraint(condition=Q(paid_on__isnull=True) | Q(payable_amount=models.F("granted")),
                                   name="payout_paid_only_when_payable"),
            models.CheckConstraint(condition=Q(withheld__gte=0) & Q(withheld__lte=models.F("payable_amount")),
                                   name="payout_withheld_within_payable"),
            models.CheckConstraint(condition=Q(batch__isnull=True) | Q(payable_amount=models.F("granted"),
                                                                       granted__gt=0),
                                   name="payout_batched_only_when_payable"),
            models.CheckConstraint(condition=Q(reversal_transaction__isnull=True)
                                   | Q(granted=0, paid_on__isnull=True, batch__isnull=True),
                                   name="payout_reversed_not_paid"),
        ]
        indexes = [
            # What waits to be paid, from the index alone: summed per collective on the payers' dashboards, and
            # a page of it in the lists' order (the periods' ends, then the ids).
            models.Index(fields=["collective", "period_ends_on", "id"], include=["granted", "withheld"],
                         condition=PAYABLE, name="payout_payable_idx"),
            # A page of the collective's payouts in the lists' order, read from the index.
            models.Index(fields=["collective", "period_ends_on", "id"], name="payout_listed_idx"),
            # What periods and budgets granted, summed from the index alone on every page showing their figures.
            models.Index(fields=["period"], include=["collective", "granted"], name="payout_period_granted_idx"),
        ]

    @property
    def state(self) -> str:
        if self.reversal_transaction_id:
            return PayoutState.REVERSED
        if self.paid_on:
            return PayoutState.PAID
        if self.batch_id:
            return PayoutState.SENT
        if self.payable_amount < self.granted:
            return PayoutState.OWED
        return PayoutState.PAYABLE

    @property
    def state_label(self) -> str:
        return PayoutState(self.state).label

    @property
    def owed_amount(self):
        return self.granted - self.payable_amount

    @property
    def net_amount(self):
        """What is paid to the person: the grant less what was withheld."""
        return self.granted - self.withheld


class PayoutCorrection(CollectiveOwned):
    """A paid payout found too large: the person owes `amount` back. It is a pledged funding of the payout's budget
    (so the money counts as the budget's again) that the person's next payouts pay by withholding it."""

    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="corrections")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(_("amount"), **MONEY)
    reason = models.TextField(_("reason"))
    funding = models.OneToOneField(Funding, on_delete=models.PROTECT, related_name="correction")
    # The payouts whose payment withheld it, with the ledger transaction that moved the money.
    recovered_at = models.DateTimeField(_("recovered at"), null=True, blank=True)
    recovery_transaction = models.OneToOneField(LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True,
                                                related_name="recovered_correction")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("payout correction")
        verbose_name_plural = _("payout corrections")
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payout_correction_positive")]
