import hashlib
import secrets
from datetime import timedelta
from zoneinfo import available_timezones

from babel.numbers import list_currencies
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contrib_budget.crypto import EncryptedTextField
from contrib_budget.models import CollectiveOwned


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("email address"), unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    # The language of the emails sent to this person; empty: the language of the collective they concern.
    language = models.CharField(_("language of my emails"), max_length=5, blank=True, default="",
                                choices=settings.LANGUAGES)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return display_name_of(self.name, self.email)


def display_name_of(name: str, email: str) -> str:
    """How a person is named: their name, else their address before the @ (also for rows read as values)."""
    return name or email.split("@")[0]


def validate_currency(code: str) -> None:
    if code not in list_currencies():
        raise ValidationError(
            _("%(code)s is not an ISO 4217 currency code."), params={"code": code}, code="currency"
        )


def validate_timezone(name: str) -> None:
    if name not in available_timezones():
        raise ValidationError(
            _("%(name)s is not a known time zone; use a name such as Europe/Paris."),
            params={"name": name}, code="timezone",
        )


# An account holder's name: at most the 70 characters of a SEPA transfer's name fields.
HOLDER_MAX = 70


class Collective(models.Model):
    class Locale(models.TextChoices):
        FR = "fr", _("French")
        EN = "en", _("English")

    name = models.CharField(_("name"), max_length=150)
    slug = models.SlugField(
        _("slug"),
        max_length=60,
        unique=True,
        validators=[RegexValidator(r"^[a-z0-9][a-z0-9-]*$", _("Use lowercase letters, digits and dashes."))],
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR", validators=[validate_currency])
    locale = models.CharField(_("language"), max_length=5, choices=Locale.choices, default=Locale.FR)
    timezone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Paris", validators=[validate_timezone]
    )
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # The account the collective pays from (members.bank): not personal data, so stored in plain text.
    # Database defaults too: collectives are also written by set-based SQL (the bench's seed).
    bank_iban = models.CharField(_("IBAN of the collective"), max_length=34, blank=True, default="", db_default="")
    bank_bic = models.CharField(_("BIC of the collective"), max_length=11, blank=True, default="", db_default="")
    bank_holder = models.CharField(_("holder of the collective's account"), max_length=HOLDER_MAX, blank=True,
                                   default="", db_default="")

    class Meta:
        verbose_name = _("collective")
        verbose_name_plural = _("collectives")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    COORDINATOR = "coordinator", _("coordinator")
    CONTRIBUTOR = "contributor", _("contributor")
    MEMBER = "member", _("member")
    ACCOUNTANT = "accountant", _("accountant")


# What each role may do, in a sentence: the members page shows them next to the roles.
ROLE_DUTIES = {
    Role.COORDINATOR: _("sets up budgets, their money, the rate grid and cobudget rounds; reviews declarations; "
                        "closes periods; invites and manages members."),
    Role.CONTRIBUTOR: _("declares work (time and value) and sees what was granted and why."),
    Role.MEMBER: _("takes part in cobudget rounds: gets an envelope, proposes projects and gives to them."),
    Role.ACCOUNTANT: _("exports the books and statements, marks payouts paid and locks closed periods."),
}


class Membership(CollectiveOwned):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships"
    )
    roles = ArrayField(models.CharField(max_length=20, choices=Role.choices), default=list)
    joined_at = models.DateTimeField(_("joined at"), default=timezone.now)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["collective", "user"], name="membership_unique_user"),
            models.CheckConstraint(
                condition=Q(roles__contained_by=[r.value for r in Role]),
                name="membership_known_roles",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.collective}"

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)


def invitation_expiry():
    return timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS)


def invitation_token() -> str:
    return secrets.token_urlsafe(32)


class Invitation(CollectiveOwned):
    email = models.EmailField(_("email address"))
    roles = ArrayField(models.CharField(max_length=20, choices=Role.choices), default=list)
    token = models.CharField(max_length=64, unique=True, default=invitation_token, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    # When its email left: it leaves once (members.services.invitation_send); beat queues again the ones unsent.
    email_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.email

    @property
    def is_pending(self) -> bool:
        return (not self.accepted_at and not self.revoked_at and not self.declined_at
                and self.expires_at > timezone.now())


class AuditEvent(CollectiveOwned):
    """Who changed what, when, with the state before and after."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=80)
    target_type = models.CharField(max_length=80, blank=True)
    target_id = models.CharField(max_length=40, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    # Not columns: what members.audit sets on the events it prepares for a reader (the log page, its CSV).
    hidden: bool
    action_label: str
    target_name: str
    changes: list  # of members.audit.Change (audit imports this module)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["collective", "target_type", "target_id"]),
            # The latest events of a collective (its dashboard, the audit log), among millions of all collectives.
            models.Index(fields=["collective", "-created_at", "-id"], name="auditevent_latest_idx"),
        ]


class PaymentMethod(models.TextChoices):
    TRANSFER = "transfer", _("by bank transfer")
    PAYROLL = "payroll", _("through payroll")


class BankDetails(CollectiveOwned):
    """How one person is paid in one collective: by transfer to an IBAN (encrypted at rest), or through payroll."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(_("paid by"), max_length=10, choices=PaymentMethod.choices)
    # Normalised: upper case, no spaces (members.bank).
    iban = EncryptedTextField(_("IBAN"), blank=True)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    holder = models.CharField(_("account holder"), max_length=HOLDER_MAX, blank=True)
    payroll_reference = models.CharField(_("payroll reference"), max_length=100, blank=True)
    updated_at = models.DateTimeField(_("changed at"), default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("bank details")
        verbose_name_plural = _("bank details")
        constraints = [
            models.UniqueConstraint(fields=["collective", "person"], name="bankdetails_once_per_person"),
            models.CheckConstraint(
                condition=(Q(method=PaymentMethod.TRANSFER) & ~Q(iban="") & ~Q(holder=""))
                | (Q(method=PaymentMethod.PAYROLL) & ~Q(payroll_reference="")),
                name="bankdetails_complete",
            ),
        ]

    def __str__(self) -> str:
        # Audit events keep this label: never the IBAN.
        return _("bank details of %(name)s") % {"name": self.person}


PREFIX_LENGTH = 8


def personal_token_expiry():
    """When a token created now expires: never, unless PERSONAL_TOKEN_DAYS is set."""
    days = settings.PERSONAL_TOKEN_DAYS
    return timezone.now() + timedelta(days=days) if days else None


class PersonalToken(models.Model):
    """An API token a person creates, names and revokes; several per person, one per name (a new token
    with a name in use replaces the old one)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("prefix"), max_length=PREFIX_LENGTH, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True, default=personal_token_expiry)
    # Written at most once every LAST_USED_PRECISION, so that an API call does not always cost a write.
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    LAST_USED_PRECISION = timedelta(minutes=1)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="personaltoken_unique_name")]

    def __str__(self) -> str:
        return self.name

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @staticmethod
    def hash_key(key: str) -> str:
        """Only this digest is stored: the key itself is shown once, at creation."""
        return hashlib.sha256(key.encode()).hexdigest()
