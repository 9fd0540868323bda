"""Contributive budgets: their money (fundings), envelopes, tasks, rate grid and periods."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from contrib_budget.models import CollectiveOwned, KeptByTheDatabase

from .ledger import MONEY


class PeriodKind(models.TextChoices):
    WEEK = "week", _("week")
    MONTH = "month", _("month")
    QUARTER = "quarter", _("quarter")
    YEAR = "year", _("year")
    NONE = "none", _("single period")


class OverspendPolicy(models.TextChoices):
    PRO_RATA = "pro_rata", _("pro rata")
    SERVICES_FIRST = "services_first", _("agreed services first, then pro rata")
    HOLD = "hold", _("hold for a decision")


class LeftoverPolicy(models.TextChoices):
    CARRY_OVER = "carry_over", _("carry over to the next period")
    RETURN_TO_POOL = "return_to_pool", _("return to the pool")


class Budget(KeptByTheDatabase, CollectiveOwned):
    kept_by_the_database = ("granted_total",)

    name = models.CharField(_("name"), max_length=150)
    description = models.TextField(_("description"), blank=True)
    period_kind = models.CharField(_("period"), max_length=10, choices=PeriodKind.choices, default=PeriodKind.MONTH)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    # None: the funded total is spread evenly over the periods.
    amount_per_period = models.DecimalField(
        _("amount per period"), null=True, blank=True, validators=[MinValueValidator(0)], **MONEY
    )
    overspend_policy = models.CharField(
        _("when requests exceed the money"), max_length=20, choices=OverspendPolicy.choices,
        default=OverspendPolicy.PRO_RATA,
    )
    leftover_policy = models.CharField(
        _("leftover"), max_length=20, choices=LeftoverPolicy.choices, default=LeftoverPolicy.CARRY_OVER
    )
    allow_custom_rate = models.BooleanField(_("people may set their own rate"), default=False)
    required_approvals = models.PositiveSmallIntegerField(
        _("coordinator approvals required"), default=1, validators=[MinValueValidator(1)]
    )
    auto_close_after_days = models.PositiveSmallIntegerField(
        _("close automatically this many days after a period ends"), null=True, blank=True, default=7
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # What its closings granted over its whole history, kept by triggers on the payouts (migration 0014) so that a
    # page reads one row instead of summing every payout; budgets.ledger_audit checks it against the sum nightly.
    granted_total = models.DecimalField(_("granted in all"), default=0, db_default=0, editable=False, **MONEY)

    class Meta:
        verbose_name = _("budget")
        verbose_name_plural = _("budgets")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="budget_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RateLevel(CollectiveOwned):
    """One line of the rate grid, e.g. by constraint and responsibility."""

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="rate_levels")
    name = models.CharField(_("name"), max_length=100)
    hourly_rate = models.DecimalField(_("hourly rate"), validators=[MinValueValidator(0)], **MONEY)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("rate level")
        verbose_name_plural = _("rate levels")
        ordering = ["budget", "position", "id"]

    def __str__(self) -> str:
        return self.name


class SourceKind(models.TextChoices):
    GRANT = "grant", _("grant")
    CLIENT_CONTRACT = "client_contract", _("client contract")
    BILLING_SHARE = "billing_share", _("share of members' billing")
    DONATION = "donation", _("donation")
    HOST = "host", _("host structure")
    OTHER = "other", _("other")
    CORRECTION = "correction", _("correction of a paid payout")


class FundingStatus(models.TextChoices):
    PLEDGED = "pledged", _("pledged")
    RECEIVED = "received", _("received")


class Funding(CollectiveOwned):
    budget = models.ForeignKey(Budget, on_delete=models.PROTECT, related_name="fundings")
    source = models.CharField(_("source"), max_length=150)
    source_kind = models.CharField(_("kind of source"), max_length=20, choices=SourceKind.choices,
                                   default=SourceKind.GRANT)
    amount = models.DecimalField(_("amount"), validators=[MinValueValidator(0)], **MONEY)
    status = models.CharField(_("status"), max_length=10, choices=FundingStatus.choices, default=FundingStatus.PLEDGED)
    received_on = models.DateField(_("received on"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     null=True, blank=True)
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True)

    class Meta:
        verbose_name = _("funding")
        verbose_name_plural = _("fundings")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="funding_amount_positive"),
            models.CheckConstraint(
                condition=Q(status="pledged") | Q(received_on__isnull=False),
                name="funding_received_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} ({self.amount})"


class Envelope(CollectiveOwned):
    """A mission: a share of the budget with its own amount and optional tasks."""

    budget = models.ForeignKey(Budget, on_delete=models.PROTECT, related_name="envelopes")
    name = models.CharField(_("name"), max_length=150)
    description = models.TextField(_("description"), blank=True)
    amount = models.DecimalField(_("amount"), validators=[MinValueValidator(0)], **MONEY)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("envelope")
        verbose_name_plural = _("envelopes")
        ordering = ["budget", "name", "id"]

    def __str__(self) -> str:
        return self.name


class TaskPriority(models.IntegerChoices):
    HIGH = 1, _("high")
    NORMAL = 2, _("normal")
    LOW = 3, _("low")


class Task(CollectiveOwned):
    """A piece of work coordinators publish so contributors see what is needed."""

    envelope = models.ForeignKey(Envelope, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    priority = models.PositiveSmallIntegerField(_("priority"), choices=TaskPriority.choices,
                                                default=TaskPriority.NORMAL)
    is_published = models.BooleanField(_("published"), default=True)
    is_done = models.BooleanField(_("done"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return self.title


class PeriodStatus(models.TextChoices):
    OPEN = "open", _("open")
    DEFICIT = "deficit", _("deficit: waiting for a decision")
    CLOSED = "closed", _("closed")


class Period(KeptByTheDatabase, CollectiveOwned):
    kept_by_the_database = ("requested_total", "validated_total", "claim_count", "granted_total")

    budget = models.ForeignKey(Budget, on_delete=models.PROTECT, related_name="periods")
    index = models.PositiveIntegerField()
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    status = models.CharField(_("status"), max_length=10, choices=PeriodStatus.choices, default=PeriodStatus.OPEN)
    # Frozen when the period closes (or enters deficit): what could be granted.
    available = models.DecimalField(_("available"), null=True, blank=True, **MONEY)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The coordinators' decision on a period in deficit (policy and per-declaration amounts).
    decision = models.JSONField(null=True, blank=True)
    locked_at = models.DateTimeField(_("locked at"), null=True, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # What the claims on the period ask (budgets.demand), kept by the app that defines the claims (triggers on the
    # declarations, contributions migration 0008) so that a period's figures read its row instead of summing its
    # claims; that app checks them against the sums nightly.
    requested_total = models.DecimalField(_("requested in all"), default=0, db_default=0, editable=False, **MONEY)
    validated_total = models.DecimalField(_("validated in all"), default=0, db_default=0, editable=False, **MONEY)
    claim_count = models.PositiveIntegerField(_("number of claims"), default=0, db_default=0, editable=False)
    # What its closing granted, kept by triggers on the payouts (migration 0016) as the budget's total is.
    granted_total = models.DecimalField(_("granted in all"), default=0, db_default=0, editable=False, **MONEY)

    class Meta:
        verbose_name = _("period")
        verbose_name_plural = _("periods")
        ordering = ["budget", "index"]
        constraints = [
            models.UniqueConstraint(fields=["budget", "index"], name="period_unique_index"),
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="period_ends_after_start"),
            models.CheckConstraint(condition=Q(locked_at__isnull=True) | Q(status="closed"),
                                   name="period_locked_only_closed"),
        ]

    def __str__(self) -> str:
        return f"{self.budget} #{self.index + 1} ({self.starts_on} – {self.ends_on})"
