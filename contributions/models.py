"""Declarations of work, their open regulation, and the payouts closings grant."""

import uuid
from collections.abc import Callable
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.validators import FileExtensionValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from budgets.models import MONEY
from contrib_budget.models import CollectiveOwned
from contrib_budget.uploads import validate_file_content


class ValueMode(models.TextChoices):
    TIME_RATE = "time_rate", _("time × rate")
    SELF_ASSESSED = "self_assessed", _("amount I set")
    FIXED_PRICE = "fixed_price", _("agreed service (fixed price)")


class ContributionStatus(models.TextChoices):
    PENDING = "pending", _("pending review")
    VALIDATED = "validated", _("validated")
    ADJUSTED = "adjusted", _("adjusted")
    REJECTED = "rejected", _("rejected")
    WITHDRAWN = "withdrawn", _("withdrawn")


# Declarations that ask for nothing any more: rejected by coordinators or withdrawn by their author. They stay
# listed (declarations are public) but count in no request, closing, statement or earnings.
NOT_COUNTED = (ContributionStatus.REJECTED, ContributionStatus.WITHDRAWN)

# Receipts, invoices, photos, documents: nothing a browser would run.
ATTACHMENT_EXTENSIONS = ("pdf", "png", "jpg", "jpeg", "gif", "webp", "heic", "txt",
                         "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp")
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024


def validate_attachment_size(file) -> None:
    if file.size > ATTACHMENT_MAX_BYTES:
        raise ValidationError(
            _("An attachment is at most %(max)s MB.") % {"max": ATTACHMENT_MAX_BYTES // (1024 * 1024)},
            code="file_too_large",
        )


ATTACHMENT_VALIDATORS: list[Callable[[File], None]] = [
    FileExtensionValidator(ATTACHMENT_EXTENSIONS), validate_attachment_size, validate_file_content,
]


def attachment_path(contribution, filename: str) -> str:
    """A random name under the collective's folder: nobody can guess another file's name."""
    return f"contributions/{contribution.collective_id}/{uuid.uuid4().hex}{PurePath(filename).suffix.lower()}"


class Contribution(CollectiveOwned):
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contributions")
    budget = models.ForeignKey("budgets.Budget", on_delete=models.PROTECT, related_name="contributions")
    envelope = models.ForeignKey(
        "budgets.Envelope", null=True, blank=True, on_delete=models.PROTECT, related_name="contributions"
    )
    task = models.ForeignKey(
        "budgets.Task", null=True, blank=True, on_delete=models.PROTECT, related_name="contributions"
    )
    # The period that contains performed_on; pending declarations may be carried to a later one at closing.
    # Indexed by contribution_period_newest_idx, which leads with the period.
    period = models.ForeignKey("budgets.Period", on_delete=models.PROTECT, related_name="contributions",
                               db_index=False)
    performed_on = models.DateField(_("date"))
    description = models.TextField(_("description"))
    minutes = models.PositiveIntegerField(_("time spent (minutes)"), default=0)
    value_mode = models.CharField(_("value"), max_length=20, choices=ValueMode.choices, default=ValueMode.TIME_RATE)
    rate_level = models.ForeignKey(
        "budgets.RateLevel", null=True, blank=True, on_delete=models.PROTECT, related_name="contributions"
    )
    # The hourly rate used, copied at declaration so a later grid change does not rewrite history.
    hourly_rate = models.DecimalField(_("hourly rate"), null=True, blank=True, **MONEY)
    amount = models.DecimalField(_("requested amount"), validators=[MinValueValidator(0)], **MONEY)
    # What coordinators validated: the requested amount, or the adjusted one.
    validated_amount = models.DecimalField(_("validated amount"), null=True, blank=True, **MONEY)
    status = models.CharField(
        _("status"), max_length=10, choices=ContributionStatus.choices, default=ContributionStatus.PENDING
    )
    decision_reason = models.TextField(_("reason"), blank=True)
    attachment = models.FileField(_("attachment"), upload_to=attachment_path, blank=True,
                                  validators=ATTACHMENT_VALIDATORS)
    # The name the file had on its author's device, shown and used when it is downloaded.
    attachment_name = models.CharField(_("attachment name"), max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("contribution")
        verbose_name_plural = _("contributions")
        ordering = ["-performed_on", "-id"]
        indexes = [
            models.Index(fields=["collective", "period", "status"]),
            # The lists' order (newest first): a page of 50 is read from the index among hundreds of thousands.
            models.Index(fields=["collective", "-performed_on", "-id"], name="contribution_newest_idx"),
            # A period's page in the same order: an old period's page does not walk every newer declaration.
            models.Index(fields=["period", "-performed_on", "-id"], name="contribution_period_newest_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="contribution_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(validated_amount__isnull=True) | Q(validated_amount__gte=0),
                name="contribution_validated_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.author} — {self.description[:40]}"

    @property
    def attachment_filename(self) -> str:
        return self.attachment_name or PurePath(self.attachment.name).name

    @property
    def granted_payout(self):
        """What a closing granted this declaration, or None before: `payout` raises when there is none, which costs
        a page of 50 declarations almost a millisecond in the template engine's recovery."""
        return getattr(self, "payout", None)


class Approval(CollectiveOwned):
    """One coordinator's approval; a budget may require several before validation."""

    contribution = models.ForeignKey(Contribution, on_delete=models.CASCADE, related_name="approvals")
    coordinator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("approval")
        verbose_name_plural = _("approvals")
        constraints = [
            models.UniqueConstraint(fields=["contribution", "coordinator"], name="approval_once_per_coordinator"),
        ]


class CommentKind(models.TextChoices):
    QUESTION = "question", _("question")
    REPLY = "reply", _("reply")
    AMENDMENT = "amendment", _("amendment")
    DECISION = "decision", _("decision")


class Comment(CollectiveOwned):
    """The open regulation thread of a declaration, visible to the whole collective."""

    contribution = models.ForeignKey(Contribution, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=CommentKind.choices, default=CommentKind.QUESTION)
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "id"]
