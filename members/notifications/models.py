"""Notifications, each person's settings for them, the daily digests sent, and the collective's reminders."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contrib_budget.models import CollectiveOwned


class EmailMode(models.TextChoices):
    INSTANT = "instant", _("at once")
    DAILY = "daily", _("in a daily digest")
    OFF = "off", _("never")


class Notification(CollectiveOwned):
    """One thing one person is told; its sentence is rendered from `kind` and `params` in the reader's language."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=60)
    params = models.JSONField(default=dict, blank=True)
    # The page of the object, as a path (it contains the object's id).
    url = models.CharField(max_length=300)
    # Both frozen from the person's settings when the notification is recorded.
    in_app = models.BooleanField(default=True)
    email = models.CharField(max_length=10, choices=EmailMode.choices, default=EmailMode.INSTANT)
    # Names the occasion of a reminder, so that it reaches each person once however often beat runs.
    occasion = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox"),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True, in_app=True),
                         name="notification_unread"),
            models.Index(fields=["email", "created_at"], condition=Q(emailed_at__isnull=True) & ~Q(email="off"),
                         name="notification_email_pending"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "occasion"], condition=~Q(occasion=""),
                                    name="notification_once_per_occasion"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}"


class NotificationPreference(models.Model):
    """How one person wants one kind: by email (at once, in the digest, never) and in the app. No row: the kind's
    defaults."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=60)
    email = models.CharField(max_length=10, choices=EmailMode.choices)
    in_app = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("notification setting")
        verbose_name_plural = _("notification settings")
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_once")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.user_id}: email {self.email}, in app {self.in_app}"


class DigestRun(models.Model):
    """The daily digest of one person for one day (in their time zone): claimed once, marked when sent."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sent_at = models.DateTimeField(null=True, blank=True)
    item_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="digest_once_a_day")]

    def __str__(self) -> str:
        return f"digest of {self.day} → {self.user_id}"


class ReminderSettings(CollectiveOwned):
    """Which reminders a collective sends, and when; each can be switched off."""

    declare_enabled = models.BooleanField(_("remind contributors to declare before a period closes"), default=True)
    declare_days_before = models.PositiveSmallIntegerField(
        _("days before the period ends"), default=2, validators=[MinValueValidator(0), MaxValueValidator(60)])
    review_enabled = models.BooleanField(_("remind reviewers of declarations waiting for them"), default=True)
    review_after_days = models.PositiveSmallIntegerField(
        _("days a declaration waits before the reminder"), default=3,
        validators=[MinValueValidator(1), MaxValueValidator(60)])
    wallet_enabled = models.BooleanField(
        _("remind participants of money left in their wallet 48 hours before a round closes"), default=True)
    lock_enabled = models.BooleanField(
        _("remind accountants of settled periods not yet locked at the end of each month"), default=True)

    class Meta:
        verbose_name = _("reminder settings")
        verbose_name_plural = _("reminder settings")
        constraints = [models.UniqueConstraint(fields=["collective"], name="reminder_settings_once")]
