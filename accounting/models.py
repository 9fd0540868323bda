"""What the accounting area keeps: export jobs, the chart of accounts, issued documents."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from budgets.models import AccountKind
from contrib_budget.models import CollectiveOwned


class ExportKind(models.TextChoices):
    JOURNAL = "journal", _("journal")
    TRIAL_BALANCE = "trial_balance", _("trial balance")
    FEC = "fec", _("FEC (Fichier des écritures comptables)")
    PAYOUTS = "payouts", _("payouts")
    FUNDING_USE = "funding_use", _("funding use")
    ROUND_RESULTS = "round_results", _("cobudget round results")


class ExportFormat(models.TextChoices):
    CSV = "csv", _("CSV")
    XLSX = "xlsx", _("Excel (XLSX)")
    TXT = "txt", _("FEC text file")


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    RUNNING = "running", _("running")
    READY = "ready", _("ready")
    FAILED = "failed", _("failed")


def export_upload_to(export: "Export", filename: str) -> str:
    return f"exports/{export.collective_id}/{export.pk}/{filename}"


class Export(CollectiveOwned):
    """One requested export: a Celery job writes its file and reports progress here."""

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=ExportKind.choices)
    format = models.CharField(_("format"), max_length=10, choices=ExportFormat.choices)
    # {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD", "delimiter": ",", "budget": id, "round": id, ...}
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    progress = models.PositiveSmallIntegerField(
        _("progress"), default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    file = models.FileField(_("file"), upload_to=export_upload_to, blank=True, max_length=255)
    row_count = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    # Touched on every progress update: a running export whose heartbeat stops was killed.
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__gte=0) & Q(progress__lte=100), name="export_progress_percent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def filename(self) -> str:
        return self.file.name.rsplit("/", 1)[-1] if self.file else ""


class AccountingSettings(CollectiveOwned):
    """Per-collective settings the legal exports need."""

    siren = models.CharField(
        _("SIREN"), max_length=9, blank=True,
        validators=[RegexValidator(r"^\d{9}$", _("A SIREN number has nine digits."))],
    )
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        _("fiscal year starts in month"), default=1, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    journal_code = models.CharField(_("journal code"), max_length=10, default="BC")
    journal_label = models.CharField(_("journal label"), max_length=100, default="Budgets contributifs")

    class Meta:
        verbose_name = _("accounting settings")
        verbose_name_plural = _("accounting settings")
        constraints = [models.UniqueConstraint(fields=["collective"], name="accounting_settings_one_per_collective")]


class AccountMapping(CollectiveOwned):
    """The chart of accounts: which account number a kind of ledger account is booked to."""

    account_kind = models.CharField(_("ledger account kind"), max_length=20, choices=AccountKind.choices)
    number = models.CharField(
        _("account number"), max_length=20,
        validators=[RegexValidator(r"^[0-9][0-9A-Za-z]{2,19}$", _("Start with a digit; at least three characters."))],
    )
    label = models.CharField(_("account label"), max_length=100)

    class Meta:
        verbose_name = _("account mapping")
        verbose_name_plural = _("chart of accounts")
        ordering = ["account_kind"]
        constraints = [
            models.UniqueConstraint(fields=["collective", "account_kind"], name="account_mapping_one_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.account_kind} → {self.number}"


class DocumentKind(models.TextChoices):
    PERIOD_STATEMENT = "period_statement", _("period closing statement")
    PERSONAL_STATEMENT = "personal_statement", _("personal statement")
    ROUND_RESULTS = "round_results", _("round results report")


class IssuedDocument(CollectiveOwned):
    """A PDF document as issued: its data is frozen so it can be rebuilt identically."""

    kind = models.CharField(_("kind"), max_length=20, choices=DocumentKind.choices)
    # What the document is about, e.g. "period:12" or "membership:7:2025".
    subject = models.CharField(_("subject"), max_length=80)
    data = models.JSONField()
    locale = models.CharField(max_length=5)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)

    class Meta:
        verbose_name = _("issued document")
        verbose_name_plural = _("issued documents")
        ordering = ["-issued_at", "-id"]
        indexes = [models.Index(fields=["collective", "kind", "subject"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.subject}"
