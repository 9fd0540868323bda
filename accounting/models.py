"""What the accounting area keeps: export jobs, the chart of accounts, issued documents."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from budgets.models import MONEY, AccountKind
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


class ImportFormat(models.TextChoices):
    BANK = "bank", _("bank statement (its credits)")
    HELLOASSO = "helloasso", _("HelloAsso payments export")
    LIBERAPAY = "liberapay", _("Liberapay donations export")
    OPENCOLLECTIVE = "opencollective", _("Open Collective transactions export")


class ImportStatus(models.TextChoices):
    PREVIEW = "preview", _("preview")
    APPLIED = "applied", _("applied")


class ImportAction(models.TextChoices):
    RECEIVE = "receive", _("mark the pledged funding received")
    CREATE = "create", _("record a new received funding")
    SKIP = "skip", _("skip")
    DUPLICATE = "duplicate", _("already imported")


# The outcomes that brought money in: a line with one of them is never imported again.
IMPORTED_OUTCOMES = (ImportAction.RECEIVE.value, ImportAction.CREATE.value)


class FundingImport(CollectiveOwned):
    """An uploaded file of incoming money: previewed (nothing written to fundings nor the ledger), then applied."""

    format = models.CharField(_("format"), max_length=20, choices=ImportFormat.choices)
    budget = models.ForeignKey("budgets.Budget", on_delete=models.PROTECT, related_name="+", null=True, blank=True,
                               verbose_name=_("default budget"))
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    status = models.CharField(_("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.PREVIEW)
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True,
                                   blank=True)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    # Counts and totals per outcome once applied: {"receive": {"count": 2, "total": "150.00"}, ...}.
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("import of incoming money")
        verbose_name_plural = _("imports of incoming money")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_format_display()} #{self.pk}"


class FundingImportLine(CollectiveOwned):
    """One line of money coming in, what was proposed for it, what was chosen, and what it became."""

    funding_import = models.ForeignKey(FundingImport, on_delete=models.CASCADE, related_name="lines")
    number = models.PositiveIntegerField(_("line"))
    day = models.DateField(_("day"))
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    payer = models.CharField(_("payer"), max_length=150, blank=True)
    reference = models.CharField(_("reference"), max_length=255, blank=True)
    external_id = models.CharField(_("identifier"), max_length=100, blank=True)
    # sha256 of the format, day, amount, payer, reference or identifier, and the rank among identical lines.
    fingerprint = models.CharField(max_length=64)
    # Why the line cannot be imported (another currency): it may only be skipped.
    problem = models.CharField(_("problem"), max_length=255, blank=True)
    proposed_action = models.CharField(_("proposed action"), max_length=10, choices=ImportAction.choices)
    chosen_action = models.CharField(_("action"), max_length=10, choices=ImportAction.choices)
    funding = models.ForeignKey("budgets.Funding", on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    budget = models.ForeignKey("budgets.Budget", on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    # What applying did: "" while previewed, then one of ImportAction.
    outcome = models.CharField(_("outcome"), max_length=10, choices=ImportAction.choices, blank=True)

    class Meta:
        verbose_name = _("line of incoming money")
        verbose_name_plural = _("lines of incoming money")
        ordering = ["funding_import", "number"]
        constraints = [
            models.UniqueConstraint(fields=["funding_import", "number"], name="funding_import_line_number"),
            models.UniqueConstraint(fields=["collective", "fingerprint"], condition=Q(outcome__in=IMPORTED_OUTCOMES),
                                    name="funding_import_line_imported_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="funding_import_line_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.funding_import_id}:{self.number}"
