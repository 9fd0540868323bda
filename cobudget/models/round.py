"""A round's rules, its template for recurring rounds, and the request that closes it."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from budgets.models import MONEY
from contrib_budget.models import CollectiveOwned

from ..choices import (
    EnvelopePolicy,
    LeftoverPolicy,
    MesCompletion,
    OverallocationMode,
    PartialPolicy,
    RoundMode,
    RoundSchedule,
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
        _("buckets below their minimum"), max_length=20, choices=PartialPolicy.choices, default=PartialPolicy.REFUND
    )
    partial_threshold_percent = models.PositiveSmallIntegerField(
        _("accept from this % of the minimum"), default=100,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    # partial_policy "redistribute": the first close gives back what buckets below their minimum hold, then the
    # funders have `redistribution_hours` to give it (and, if the round says so, what they never spent) to buckets
    # still open and not full; the final close follows. Started: the first close began (funding is shut until
    # the second window opens); closes at: the second window is open until then.
    redistribution_hours = models.PositiveSmallIntegerField(
        _("hours of the second window"), default=48, db_default=48,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 31)])
    redistribute_unspent = models.BooleanField(_("what was never spent can be given in the second window"),
                                               default=False, db_default=False)
    redistribution_started_at = models.DateTimeField(_("first close"), null=True, blank=True)
    redistribution_closes_at = models.DateTimeField(_("second window closes at"), null=True, blank=True)
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

    # A round a schedule made from a template: one per occurrence (the date it stands for).
    template = models.ForeignKey("RoundTemplate", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="rounds", verbose_name=_("template"))
    occurrence = models.DateField(_("occurrence"), null=True, blank=True)

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
            models.UniqueConstraint(fields=["template", "occurrence"], name="round_one_per_occurrence"),
        ]

    def __str__(self) -> str:
        return self.name


class RoundTemplate(CollectiveOwned):
    """A round's rules saved to make the next rounds from, by hand or on a schedule (cobudget.recurring)."""

    name = models.CharField(_("name"), max_length=150)
    # The round's fields (services.ROUND_FIELDS) as the round they were saved from had them, in JSON.
    rules = models.JSONField(_("rules"), default=dict, blank=True)
    # Who takes part in each round made from it: the holders of these roles when it opens.
    participant_roles = models.JSONField(_("participants by role"), default=list, blank=True)
    schedule = models.CharField(_("schedule"), max_length=10, choices=RoundSchedule.choices,
                                default=RoundSchedule.NONE)
    funding_days = models.PositiveSmallIntegerField(_("days of funding"), default=14,
                                                    validators=[MinValueValidator(1), MaxValueValidator(365)])
    # The date the next scheduled round stands for; beat makes it once that day has come.
    next_occurrence = models.DateField(_("next round on"), null=True, blank=True)
    source_round = models.ForeignKey(Round, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("round template")
        verbose_name_plural = _("round templates")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class RoundCloseRequest(CollectiveOwned):
    """A close asked for. From then on new allocations are refused at once, so the close never waits behind a
    stream of them. It lives apart from the round's row, which every allocation holds FOR SHARE."""

    round = models.OneToOneField(Round, on_delete=models.PROTECT, related_name="close_request")
    requested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("request to close a round")
        verbose_name_plural = _("requests to close a round")
