"""Cobudget rounds: envelopes in wallets, buckets to fund, allocations, and the close.

Money never lives here: wallets and buckets each own a ledger account, and
their balances are the ledger's. What this module keeps is the rules of a
round, the buckets' descriptions and the append-only trail of allocations,
each tied to the ledger transaction that moved its money.
"""

import uuid
from collections.abc import Callable
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.validators import FileExtensionValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from budgets.models import MONEY
from contrib_budget.models import CollectiveOwned
from contrib_budget.uploads import validate_file_content

from .choices import (
    EnvelopePolicy,
    LeftoverPolicy,
    MesCompletion,
    OverallocationMode,
    PartialPolicy,
    RoundMode,
    RoundStatus,
    TieRule,
)


class Round(CollectiveOwned):
    name = models.CharField(_("name"), max_length=150)
    description = models.TextField(_("description"), blank=True)
    guidelines = models.TextField(_("guidelines"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=RoundStatus.choices, default=RoundStatus.DRAFT)

    # Optional windows: without them, proposals and funding are open while the round is open.
    proposals_open_at = models.DateTimeField(_("proposals open at"), null=True, blank=True)
    proposals_close_at = models.DateTimeField(_("proposals close at"), null=True, blank=True)
    funding_opens_at = models.DateTimeField(_("funding opens at"), null=True, blank=True)
    funding_closes_at = models.DateTimeField(_("funding closes at"), null=True, blank=True)

    envelope_policy = models.CharField(
        _("envelopes"), max_length=10, choices=EnvelopePolicy.choices, default=EnvelopePolicy.EQUAL
    )
    # equal: each participant's envelope; weighted: the total shared out; manual: unused.
    envelope_amount = models.DecimalField(
        _("envelope amount"), null=True, blank=True, validators=[MinValueValidator(0)], **MONEY
    )
    # manual: {"<user id>": "<amount>"}; its keys are the participants.
    manual_envelopes = models.JSONField(_("envelope per member"), default=dict, blank=True)
    weight_from = models.DateField(_("contributions from"), null=True, blank=True)
    weight_to = models.DateField(_("contributions to"), null=True, blank=True)
    envelope_floor = models.DecimalField(
        _("minimum envelope"), null=True, blank=True, validators=[MinValueValidator(0)], **MONEY
    )
    envelope_cap = models.DecimalField(
        _("maximum envelope"), null=True, blank=True, validators=[MinValueValidator(0)], **MONEY
    )
    # Empty: every holder of the member role when the round opens.
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("participants")
    )

    max_per_member_per_bucket = models.DecimalField(
        _("maximum one member may give one bucket"), null=True, blank=True,
        validators=[MinValueValidator(0)], **MONEY,
    )
    allow_retract = models.BooleanField(_("allocations can be taken back before the close"), default=True)
    hide_allocations_until_close = models.BooleanField(_("hide who gave what until the close"), default=False)
    bucket_approval_required = models.BooleanField(_("buckets need approval before funding"), default=False)
    min_carriers = models.PositiveSmallIntegerField(
        _("minimum number of carriers per bucket"), default=1, validators=[MinValueValidator(1)]
    )
    partial_policy = models.CharField(
        _("buckets below their minimum"), max_length=10, choices=PartialPolicy.choices, default=PartialPolicy.REFUND
    )
    partial_threshold_percent = models.PositiveSmallIntegerField(
        _("accept from this % of the minimum"), default=100,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    leftover_policy = models.CharField(
        _("money left in wallets"), max_length=20, choices=LeftoverPolicy.choices, default=LeftoverPolicy.EXPIRE
    )
    # The envelopes are drawn from the collective's pool (what earlier rounds returned to it).
    funded_from_pool = models.BooleanField(_("draw the envelopes from the cobudget pool"), default=False)
    overallocation_mode = models.CharField(
        _("an allocation above what a bucket still needs"), max_length=20,
        choices=OverallocationMode.choices, default=OverallocationMode.REFUSE,
    )

    # Equal Shares rounds: no wallets to give from; members support buckets and the close splits `total_amount`
    # with the Method of Equal Shares (cobudget.equal_shares). `results` keeps its outcome, explained per bucket.
    mode = models.CharField(_("mode"), max_length=20, choices=RoundMode.choices, default=RoundMode.LIVE)
    total_amount = models.DecimalField(_("total to share"), null=True, blank=True,
                                       validators=[MinValueValidator(0)], **MONEY)
    allow_scores = models.BooleanField(_("supporters give each bucket a score from 1 to 5"), default=False)
    mes_completion = models.CharField(_("completion"), max_length=20, choices=MesCompletion.choices,
                                      default=MesCompletion.ADD_ONE)
    tie_rule = models.CharField(_("ties are broken by"), max_length=10, choices=TieRule.choices,
                                default=TieRule.EARLIEST)
    results = models.JSONField(default=dict, blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # Set when every bucket and wallet of a closed round has been settled.
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("cobudget round")
        verbose_name_plural = _("cobudget rounds")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(partial_threshold_percent__gte=0) & Q(partial_threshold_percent__lte=100),
                name="round_threshold_percent",
            ),
            models.CheckConstraint(
                condition=Q(envelope_floor__isnull=True) | Q(envelope_cap__isnull=True)
                | Q(envelope_floor__lte=F("envelope_cap")),
                name="round_floor_below_cap",
            ),
            models.CheckConstraint(
                condition=Q(funding_opens_at__isnull=True) | Q(funding_closes_at__isnull=True)
                | Q(funding_opens_at__lt=F("funding_closes_at")),
                name="round_funding_window_order",
            ),
            models.CheckConstraint(
                condition=Q(status="closed") | Q(settled_at__isnull=True), name="round_settled_only_closed"
            ),
        ]

    def __str__(self) -> str:
        return self.name


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


class BucketStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PROPOSED = "proposed", _("proposed")
    OPEN = "open", _("open for funding")
    FUNDED = "funded", _("funded")
    PARTIALLY_FUNDED = "partially_funded", _("partially funded")
    UNFUNDED = "unfunded", _("unfunded")
    CANCELLED = "cancelled", _("cancelled")
    COMPLETED = "completed", _("completed")


BUCKET_IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "gif", "webp")
BUCKET_IMAGE_MAX_BYTES = 5 * 1024 * 1024


def bucket_image_path(instance, filename: str) -> str:
    """A random name: the file is served only through a permission-checked view, never guessable."""
    return f"cobudget/{instance.collective_id}/buckets/{uuid.uuid4().hex}{PurePath(filename).suffix.lower()}"


def validate_bucket_image_size(file) -> None:
    if file.size > BUCKET_IMAGE_MAX_BYTES:
        raise ValidationError(_("The image is too large: at most %(mb)s MB.") % {"mb": BUCKET_IMAGE_MAX_BYTES // 2**20},
                              code="image_too_large")


BUCKET_IMAGE_VALIDATORS: list[Callable[[File], None]] = [
    FileExtensionValidator(BUCKET_IMAGE_EXTENSIONS), validate_bucket_image_size, validate_file_content,
]


class Bucket(CollectiveOwned):
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="buckets")
    title = models.CharField(_("title"), max_length=150)
    description = models.TextField(_("description"), blank=True)
    image = models.FileField(
        _("image"), upload_to=bucket_image_path, blank=True,
        validators=BUCKET_IMAGE_VALIDATORS,
    )
    status = models.CharField(_("status"), max_length=20, choices=BucketStatus.choices, default=BucketStatus.DRAFT)
    carriers = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", verbose_name=_("carriers"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The sums of the budget lines, kept by the services that write the lines.
    min_goal = models.DecimalField(_("minimum goal"), **MONEY)
    max_goal = models.DecimalField(_("maximum goal"), **MONEY)
    account = models.OneToOneField("budgets.Account", on_delete=models.PROTECT, related_name="+")
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_from"
    )
    # The contributive budget envelope this funded bucket became, if any.
    envelope = models.OneToOneField(
        "budgets.Envelope", null=True, blank=True, on_delete=models.PROTECT, related_name="bucket"
    )
    # What left the bucket's account for that envelope (frozen with the ledger transfer).
    converted_amount = models.DecimalField(default=0, **MONEY)
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    # The status the close found it in (a `proposed` bucket ends unfunded: it never opened for funding).
    status_at_close = models.CharField(max_length=20, choices=BucketStatus.choices, blank=True)

    class Meta:
        verbose_name = _("bucket")
        verbose_name_plural = _("buckets")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(min_goal__gt=0), name="bucket_min_goal_positive"),
            models.CheckConstraint(condition=Q(max_goal__gte=F("min_goal")), name="bucket_max_goal_above_min"),
        ]

    def __str__(self) -> str:
        return self.title


class BudgetLine(CollectiveOwned):
    bucket = models.ForeignKey(Bucket, on_delete=models.CASCADE, related_name="lines")
    description = models.CharField(_("description"), max_length=200)
    min_amount = models.DecimalField(_("minimum"), **MONEY)
    max_amount = models.DecimalField(_("maximum"), null=True, blank=True, **MONEY)

    class Meta:
        verbose_name = _("budget line")
        verbose_name_plural = _("budget lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(min_amount__gt=0), name="budget_line_min_positive"),
            models.CheckConstraint(
                condition=Q(max_amount__isnull=True) | Q(max_amount__gte=F("min_amount")),
                name="budget_line_max_above_min",
            ),
        ]


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


class CommentKind(models.TextChoices):
    COMMENT = "comment", _("comment")
    QUESTION = "question", _("question")


class BucketComment(CollectiveOwned):
    bucket = models.ForeignKey(Bucket, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=CommentKind.choices, default=CommentKind.COMMENT)
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "id"]


class BucketSupport(CollectiveOwned):
    """A participant's support of a bucket in an Equal Shares round, with a score when the round allows scores."""

    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="supports")
    bucket = models.ForeignKey(Bucket, on_delete=models.PROTECT, related_name="supports")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField(_("score"), default=1,
                                             validators=[MinValueValidator(1), MaxValueValidator(5)])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("support")
        verbose_name_plural = _("supports")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bucket", "user"], name="support_once_per_member"),
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="support_score_1_to_5"),
        ]


class BucketFlag(CollectiveOwned):
    """A member's concern that a bucket goes against the round's guidelines."""

    bucket = models.ForeignKey(Bucket, on_delete=models.CASCADE, related_name="flags")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("which guideline, and why"))
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True,
                                    blank=True)
    resolution = models.TextField(_("how it was resolved"), blank=True)

    class Meta:
        verbose_name = _("flag")
        verbose_name_plural = _("flags")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bucket", "author"], name="flag_once_per_member"),
        ]


class RoundCloseRequest(CollectiveOwned):
    """A close asked for. From then on new allocations are refused at once, so the close never waits behind a
    stream of them. It lives apart from the round's row, which every allocation holds FOR SHARE."""

    round = models.OneToOneField(Round, on_delete=models.PROTECT, related_name="close_request")
    requested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("request to close a round")
        verbose_name_plural = _("requests to close a round")
