"""Wallets, the allocations that move their money into buckets, and the delegation of a wallet."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from budgets.models import MONEY
from contrib_budget.models import CollectiveOwned

from .bucket import Bucket
from .round import Round


class Wallet(CollectiveOwned):
    """One participant's envelope in one round; its money is its ledger account's."""

    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="wallets")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    envelope = models.DecimalField(_("envelope"), **MONEY)
    account = models.OneToOneField("budgets.Account", on_delete=models.PROTECT, related_name="+")
    # What the member has in buckets now: the running total of the wallet's allocations, kept by the database
    # (see MemberBucketTotal); never written by the application.
    allocated = models.DecimalField(_("in buckets"), default=0, **MONEY)
    # Set once what was left in it at the close has expired or gone back to the pool.
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("wallet")
        verbose_name_plural = _("wallets")
        constraints = [
            models.UniqueConstraint(fields=["round", "user"], name="wallet_one_per_member_per_round"),
            models.CheckConstraint(condition=Q(envelope__gte=0), name="wallet_envelope_not_negative"),
            models.CheckConstraint(condition=Q(allocated__gte=0), name="wallet_allocated_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.round}"

    @property
    def balance(self):
        return self.account.balance


class AllocationKind(models.TextChoices):
    ALLOCATE = "allocate", _("allocation")
    RETRACT = "retract", _("taken back")
    REFUND = "refund", _("refunded")
    MERGE = "merge", _("moved by a merge")
    MERGE_EXCESS = "excess", _("returned at a merge: over the per-member maximum")


class Allocation(CollectiveOwned):
    """One movement between a wallet and a bucket (append-only); its money moved in `transaction`."""

    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="allocations")
    bucket = models.ForeignKey(Bucket, on_delete=models.PROTECT, related_name="allocations")
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="allocations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The delegate who gave it on `user`'s behalf, from `user`'s wallet; empty when `user` gave it.
    made_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("given by"))
    kind = models.CharField(max_length=10, choices=AllocationKind.choices)
    # Positive: into the bucket; negative: back out of it.
    amount = models.DecimalField(_("amount"), **MONEY)
    transaction = models.ForeignKey("budgets.LedgerTransaction", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["bucket", "user"])]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="allocation_amount_not_zero"),
        ]


class MemberBucketTotal(CollectiveOwned):
    """What one member has in one bucket now: the running total of their allocations to it, so an allocation
    reads one row instead of summing the member's history.

    A trigger on cobudget_allocation (migration 0008) adds every inserted allocation to this row and to its
    wallet's `allocated`, in the inserting statement's transaction, whichever service wrote it (allocations,
    merges, refunds at the close). The nightly check (cobudget.running_totals) compares both with the sums."""

    # The unique (bucket, user) index serves lookups by bucket too.
    bucket = models.ForeignKey(Bucket, on_delete=models.CASCADE, related_name="member_totals", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(_("amount"), **MONEY)

    class Meta:
        verbose_name = _("what a member has in a bucket")
        verbose_name_plural = _("what members have in buckets")
        constraints = [
            models.UniqueConstraint(fields=["bucket", "user"], name="member_bucket_total_once"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="member_bucket_total_not_negative"),
        ]


class Delegation(CollectiveOwned):
    """A participant lets another give from their wallet in a live round, until they take it back.

    The money never moves: the delegate gives from the delegator's own wallet, under that wallet's locks, so the
    two giving at once can never overspend it, and taking the delegation back leaves the unspent money where it
    always was. No chains: whoever holds a delegation cannot delegate, and nobody delegates to someone who did."""

    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="delegations")
    delegator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("delegator"))
    delegate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("delegate"))
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(_("taken back at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delegation")
        verbose_name_plural = _("delegations")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["round", "delegator"], condition=Q(revoked_at__isnull=True),
                                    name="delegation_one_active_per_member"),
            models.CheckConstraint(condition=~Q(delegator=models.F("delegate")), name="delegation_not_to_self"),
        ]
