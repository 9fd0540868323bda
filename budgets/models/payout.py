"""What a closing granted for one claim, and how far it is paid: posted and paid through the ledger."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from contrib_budget.models import CollectiveOwned

from .budget import Period
from .ledger import MONEY, LedgerTransaction


class PayoutState(models.TextChoices):
    OWED = "owed", _("owed (backed by pledged money)")
    PAYABLE = "payable", _("payable")
    PAID = "paid", _("paid")


class Payout(CollectiveOwned):
    """What a closing granted for one declaration, and how far it is paid."""

    # The claim the payout answers; declarations are the only kind of claim (the app above budgets).
    contribution = models.OneToOneField("contributions.Contribution", on_delete=models.PROTECT, related_name="payout")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="payouts")
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
        ]

    @property
    def state(self) -> str:
        if self.paid_on:
            return PayoutState.PAID
        if self.payable_amount < self.granted:
            return PayoutState.OWED
        return PayoutState.PAYABLE

    @property
    def state_label(self) -> str:
        return PayoutState(self.state).label

    @property
    def owed_amount(self):
        return self.granted - self.payable_amount
