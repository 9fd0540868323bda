"""The append-only, double-entry ledger: the single source of truth for money.

Sign convention: an entry's amount is what flows *into* its account; the
entries of a transaction sum to zero; an account's balance is the sum of its
entries. Accounts that stand for the outside world (funding sources) may go
negative; accounts that hold money (budgets, wallets, buckets...) may not.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contrib_budget.models import CollectiveOwned

MONEY = {"max_digits": 14, "decimal_places": 2}


class AccountKind(models.TextChoices):
    FUNDING_SOURCE = "funding_source", _("funding source")
    BUDGET = "budget", _("budget")
    ENVELOPE = "envelope", _("envelope")
    WALLET = "wallet", _("member wallet")
    PAYABLE = "payable", _("payable to a person")
    PAID = "paid", _("paid out")
    BUCKET = "bucket", _("bucket")
    POOL = "pool", _("pool")
    ROUND = "round", _("cobudget round")


class Account(CollectiveOwned):
    kind = models.CharField(_("kind"), max_length=20, choices=AccountKind.choices)
    code = models.CharField(_("code"), max_length=80)
    name = models.CharField(_("name"), max_length=200)
    currency = models.CharField(_("currency"), max_length=3)
    allow_negative = models.BooleanField(default=False)
    # Cached sum of the entries, kept by ledger.transaction_post: the database refuses any other value (trigger
    # account_balance_follows_entries, migration 0007), and check_ledger checks it every night.
    balance = models.DecimalField(_("balance"), default=0, **MONEY)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        constraints = [
            models.UniqueConstraint(fields=["collective", "code"], name="account_unique_code"),
            models.CheckConstraint(
                condition=Q(allow_negative=True) | Q(balance__gte=0),
                name="account_balance_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class LedgerTransaction(CollectiveOwned):
    kind = models.CharField(_("type"), max_length=40)
    memo = models.CharField(_("memo"), max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("date"), default=timezone.now, db_index=True)
    # A caller that may run twice (closings, retries) names its transaction so
    # the second post finds the first instead of paying twice. NULL, not "", for
    # "no key": the unique constraint below treats NULLs as distinct, so the many
    # unnamed transactions do not collide.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    linked_type = models.CharField(max_length=80, blank=True)
    linked_id = models.CharField(max_length=40, blank=True)

    class Meta:
        verbose_name = _("ledger transaction")
        verbose_name_plural = _("ledger transactions")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["collective", "idempotency_key"], name="transaction_unique_idempotency_key"
            ),
        ]
        indexes = [models.Index(fields=["collective", "linked_type", "linked_id"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind}"


class Entry(CollectiveOwned):
    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    # Indexed with the amount below: an account's total is read from the index alone.
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries", db_index=False)
    amount = models.DecimalField(_("amount"), **MONEY)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="entry_amount_not_zero"),
        ]
        # The trigger that lets a cached balance move only to its entries' total sums them at every move.
        indexes = [models.Index(fields=["account"], include=["amount"], name="entry_account_amount")]
