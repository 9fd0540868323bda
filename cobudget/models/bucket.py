"""Buckets: what members propose to fund, their budget lines, comments, supports and flags."""

import uuid
from collections.abc import Callable
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.validators import FileExtensionValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from budgets.models import MONEY
from contrib_budget.models import CollectiveOwned
from contrib_budget.uploads import validate_file_content

from .round import Round


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
    # Its carriers want it proposed again in the next round of the same template if it is not funded here.
    carry_over = models.BooleanField(_("carry over to the next round"), default=False, db_default=False)
    carried_from = models.OneToOneField("self", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="carried_to", verbose_name=_("carried over from"))

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
