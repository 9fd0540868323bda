"""Every write about people, collectives, memberships, invitations and tokens."""

import logging
import secrets
from typing import Any

from allauth.account import app_settings as account_settings
from allauth.account.utils import has_verified_email
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from contrib_budget.errors import DomainError, Forbidden, NotFound, validated_or_raise
from contrib_budget.queue import enqueue
from contrib_budget.scopes import across_collectives, collective_scope

from . import selectors
from .audit import audit_record
from .bank import BANK_ACCOUNT_FIELDS, bank_account_of, collective_bank_account_set
from .models import PREFIX_LENGTH, Collective, Invitation, Membership, PersonalToken, Role, User
from .notifications.services import notify
from .permissions import MANAGE_COLLECTIVE, MANAGE_MEMBERS

logger = logging.getLogger(__name__)

COLLECTIVE_FIELDS = ("name", "slug", "currency", "locale", "timezone", "description")


def _collective_state(collective: Collective) -> dict[str, Any]:
    return {field: getattr(collective, field) for field in COLLECTIVE_FIELDS}


def _check_roles(roles: list[str]) -> list[str]:
    known = set(Role.values)
    unknown = [role for role in roles if role not in known]
    if unknown:
        raise DomainError(
            _("Unknown role: %(roles)s.") % {"roles": ", ".join(unknown)},
            "unknown_role",
            fields={"roles": [_("Choose among: %(roles)s.") % {"roles": ", ".join(Role.values)}]},
        )
    if not roles:
        raise DomainError(_("Give at least one role."), "no_role", fields={"roles": [_("Give at least one role.")]})
    return sorted(set(roles), key=Role.values.index)


def _bank_account_given(fields: dict[str, Any]) -> dict[str, str]:
    """The collective's account among `fields` (taken out of them), or {} when none of its fields is given."""
    return {name: fields.pop(name) for name in BANK_ACCOUNT_FIELDS if name in fields}


def collective_create(*, creator: User, **fields: Any) -> Collective:
    """Create a collective; its creator becomes its first coordinator."""
    bank_account = _bank_account_given(fields)
    collective = Collective(**{k: v for k, v in fields.items() if k in COLLECTIVE_FIELDS})
    validated_or_raise(collective)
    with transaction.atomic():
        collective.save()
        with collective_scope(collective.pk):
            Membership.objects.create(collective=collective, user=creator, roles=[Role.COORDINATOR.value])
            audit_record(collective=collective, actor=creator, action="collective.created", target=collective,
                         after=_collective_state(collective))
            if bank_account:
                collective_bank_account_set(collective=collective, actor=creator,
                                            **{**bank_account_of(collective), **bank_account})
    return collective


def collective_update(*, collective: Collective, actor: User, **fields: Any) -> Collective:
    """Change a collective's settings; its address (slug) stays as created, since links to it are out there. Its
    bank account (`bank_iban`, `bank_bic`, `bank_holder`) changes through members.bank, in the same transaction."""
    MANAGE_COLLECTIVE.require(collective=collective, actor=actor)
    bank_account = _bank_account_given(fields)
    if not bank_account:
        return _collective_settings_update(collective=collective, actor=actor, **fields)
    with transaction.atomic():
        collective_bank_account_set(collective=collective, actor=actor,
                                    **{**bank_account_of(collective), **bank_account})
        if fields:
            _collective_settings_update(collective=collective, actor=actor, **fields)
    return collective


def _collective_settings_update(*, collective: Collective, actor: User, **fields: Any) -> Collective:
    if fields.get("slug", collective.slug) != collective.slug:
        message = _("The address of a collective stays as it was created.")
        raise DomainError(message, "slug_locked", fields={"slug": [message]})
    before = _collective_state(collective)
    new_currency = fields.get("currency", collective.currency)
    if new_currency != collective.currency and _has_ledger_accounts(collective):
        message = _("The currency cannot change once money has been recorded.")
        raise DomainError(message, "currency_locked", fields={"currency": [message]})
    for field, value in fields.items():
        if field in COLLECTIVE_FIELDS:
            setattr(collective, field, value)
    validated_or_raise(collective)
    with transaction.atomic():
        collective.save()
        audit_record(collective=collective, actor=actor, action="collective.updated", target=collective,
                     before=before, after=_collective_state(collective))
    return collective


def _has_ledger_accounts(collective: Collective) -> bool:
    # The ledger's accounts carry the currency they were opened in (budgets depends on members).
    return apps.get_model("budgets", "Account").objects.of(collective).exists()


def member_add(*, collective: Collective, actor: User, email: str, roles: list[str]) -> Invitation:
    """Invite an email address to the collective. Nobody becomes a member without accepting: a known person and
    an unknown address get the same invitation, so the answer tells nothing about who has an account."""
    MANAGE_MEMBERS.require(collective=collective, actor=actor)
    roles = _check_roles(roles)
    email = email.strip().lower()
    if Membership.objects.of(collective).filter(user__email__iexact=email).exists():
        raise DomainError(
            _("%(email)s is already a member.") % {"email": email},
            "already_member",
            fields={"email": [_("Already a member of this collective.")]},
        )
    return _invitation_create(collective=collective, actor=actor, email=email, roles=roles)


def invitation_create(*, collective: Collective, actor: User, email: str, roles: list[str]) -> Invitation:
    MANAGE_MEMBERS.require(collective=collective, actor=actor)
    return _invitation_create(collective=collective, actor=actor, email=email, roles=_check_roles(roles))


def _invitation_create(*, collective: Collective, actor: User, email: str, roles: list[str]) -> Invitation:
    invitation = Invitation(collective=collective, email=email, roles=roles, invited_by=actor)
    validated_or_raise(invitation, exclude=("collective", "invited_by"))
    with transaction.atomic():
        invitation.save()
        audit_record(collective=collective, actor=actor, action="invitation.created", target=invitation,
                     after={"email": email, "roles": roles})
        notify(collective=collective, kind="invitation.received", recipients=selectors.users_owning_email(email),
               actor=actor, members_only=False, url=reverse("invitation_accept", args=[invitation.token]),
               params={"name": actor.display_name, "collective": collective.name, "roles": roles})
        transaction.on_commit(lambda: enqueue("members.tasks.send_invitation_email", invitation.pk))
    return invitation


def invitation_send(*, invitation: Invitation) -> bool:
    """Email the invitation link once, in the collective's language; True when it left now.

    The row is locked and marked sent in the transaction of the send: a repeated or redelivered task, or beat's
    sweep of unsent invitations (tasks.send_unsent_invitation_emails), finds it marked and sends nothing; a failed
    send rolls the mark back, and Celery retries it. An invitation no longer pending is not sent."""
    with transaction.atomic():
        locked = (Invitation.objects.select_for_update(of=("self",)).select_related("collective", "invited_by")
                  .filter(pk=invitation.pk, email_sent_at__isnull=True).first())
        if locked is None:
            return False
        if not locked.is_pending:
            logger.info("members: invitation %s is no longer pending, not sent", locked.pk)
            return False
        link = settings.SITE_URL.rstrip("/") + reverse("invitation_accept", args=[locked.token])
        context = {"invitation": locked, "link": link, "PRODUCT_NAME": settings.PRODUCT_NAME}
        with translation.override(locked.collective.locale):
            send_mail(
                subject=_("You are invited to join %(name)s") % {"name": locked.collective.name},
                message=render_to_string("members/email/invitation.txt", context),
                from_email=None,
                recipient_list=[locked.email],
            )
        invitation.email_sent_at = timezone.now()
        Invitation.objects.filter(pk=locked.pk).update(email_sent_at=invitation.email_sent_at)
    return True


def invitation_revoke(*, invitation: Invitation, actor: User) -> Invitation:
    MANAGE_MEMBERS.require(collective=invitation.collective, actor=actor)
    if not invitation.is_pending:
        raise DomainError(_("This invitation is no longer pending."), "not_pending")
    with transaction.atomic():
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(collective=invitation.collective, actor=actor, action="invitation.revoked",
                     target=invitation)
    return invitation


def _invitation_to_answer(*, user: User, token: str | None, invitation_id: int | None) -> Invitation:
    """The pending invitation `user` answers, locked: by the token of an emailed link (it must be sent to one of
    the person's addresses), or by its id (someone else's invitation does not exist for them)."""
    queryset = Invitation.objects.select_for_update().select_related("collective")
    if token is not None:
        invitation = queryset.filter(token=token).first()
        if invitation is None or not invitation.is_pending:
            raise DomainError(_("This invitation link is invalid, expired or revoked."), "invitation_invalid")
        if not selectors.user_owns_email(user, invitation.email):
            raise Forbidden(
                _("This invitation was sent to %(email)s: log in with that address to accept it.")
                % {"email": invitation.email},
                "invitation_other_email",
            )
        return invitation
    invitation = queryset.filter(pk=invitation_id).first()
    if invitation is None or not selectors.user_owns_email(user, invitation.email):
        raise NotFound(_("No such invitation."))
    if not invitation.is_pending:
        raise DomainError(_("This invitation is no longer pending."), "not_pending")
    return invitation


@across_collectives
def invitation_accept(*, user: User, token: str | None = None, invitation_id: int | None = None) -> Membership:
    """The invited person joins the collective with the invitation's roles (added to the ones they hold)."""
    with transaction.atomic():
        invitation = _invitation_to_answer(user=user, token=token, invitation_id=invitation_id)
        membership, created = Membership.objects.get_or_create(
            collective=invitation.collective, user=user, defaults={"roles": invitation.roles}
        )
        if not created:
            roles = sorted(set(membership.roles) | set(invitation.roles), key=Role.values.index)
            membership.roles = roles
            membership.save(update_fields=["roles"])
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
        audit_record(collective=invitation.collective, actor=user, action="invitation.accepted",
                     target=membership, after={"email": user.email, "roles": membership.roles})
    return membership


@across_collectives
def invitation_decline(*, user: User, token: str | None = None, invitation_id: int | None = None) -> Invitation:
    """The invited person says no: the invitation is no longer pending and nobody joins."""
    with transaction.atomic():
        invitation = _invitation_to_answer(user=user, token=token, invitation_id=invitation_id)
        invitation.declined_at = timezone.now()
        invitation.save(update_fields=["declined_at"])
        audit_record(collective=invitation.collective, actor=user, action="invitation.declined",
                     target=invitation, after={"email": invitation.email, "roles": invitation.roles})
    return invitation


def _lock_coordinators(collective: Collective) -> list[Membership]:
    """Lock every coordinator's row so two demotions cannot leave none."""
    return list(
        Membership.objects.of(collective).filter(roles__contains=[Role.COORDINATOR.value])
        .select_for_update().order_by("pk")
    )


def _ensure_coordinator_remains(collective: Collective, leaving: Membership) -> None:
    coordinators = _lock_coordinators(collective)
    if [m.pk for m in coordinators] == [leaving.pk]:
        raise DomainError(
            _("A collective always keeps at least one coordinator."),
            "last_coordinator",
            fields={"roles": [_("Name another coordinator first.")]},
        )


def membership_set_roles(*, membership: Membership, actor: User, roles: list[str]) -> Membership:
    MANAGE_MEMBERS.require(collective=membership.collective, actor=actor)
    roles = _check_roles(roles)
    with transaction.atomic():
        if Role.COORDINATOR.value not in roles:
            _ensure_coordinator_remains(membership.collective, membership)
        before = {"roles": membership.roles}
        membership.roles = roles
        membership.save(update_fields=["roles"])
        audit_record(collective=membership.collective, actor=actor, action="membership.roles_changed",
                     target=membership, before=before, after={"roles": roles})
    return membership


def membership_remove(*, membership: Membership, actor: User) -> None:
    """A coordinator removes someone, or a person leaves (actor is the member)."""
    is_self = actor.pk == membership.user_id
    if not is_self:
        MANAGE_MEMBERS.require(collective=membership.collective, actor=actor)
    with transaction.atomic():
        _ensure_coordinator_remains(membership.collective, membership)
        audit_record(collective=membership.collective, actor=actor,
                     action="membership.left" if is_self else "membership.removed",
                     target=membership, before={"email": membership.user.email, "roles": membership.roles})
        membership.delete()


def token_create(*, user: User, name: str) -> tuple[PersonalToken, str]:
    """A new token and its key: the key is returned this once, only its digest is stored. A name is one token:
    the person's token of that name, if any, is replaced (revoked). It expires after PERSONAL_TOKEN_DAYS if set."""
    key = secrets.token_urlsafe(32)
    name = name.strip()[:100] or _("API token")
    with transaction.atomic():
        # One person's token requests run one at a time, so that two at once cannot both keep a token of one name.
        get_user_model().objects.select_for_update().only("pk").get(pk=user.pk)
        replaced, _kinds = PersonalToken.objects.filter(user=user, name=name).delete()
        token = PersonalToken.objects.create(
            user=user, name=name, key_hash=PersonalToken.hash_key(key), prefix=key[:PREFIX_LENGTH],
        )
    logger.info("members: token %s created for user %s (%s replaced)", token.pk, user.pk, replaced)
    return token, key


class EmailNotVerified(Forbidden):
    """The password was right but the address is not confirmed yet, and confirming it is mandatory."""

    default_code = "email_not_verified"


def token_email_check(*, user: User, email: str) -> None:
    """Refuse a token, once the password is checked, to whom the web login lets not in yet: with
    ACCOUNT_EMAIL_VERIFICATION = "mandatory", an account whose address (the one typed to log in) is not
    confirmed. The rule is allauth's, as its login applies it (EmailVerificationStage)."""
    if account_settings.EMAIL_VERIFICATION != account_settings.EmailVerificationMethod.MANDATORY:
        return
    if has_verified_email(user, email.strip().lower()):
        return
    message = _("Confirm your email address first: follow the link in the email we sent you. "
                "Logging in on the website sends a new one.")
    raise EmailNotVerified(message, fields={"email": [message]})


class SecondFactorRequired(DomainError):
    """The password was right but the account also asks for its current two-factor code."""

    status_code = 401
    default_code = "otp_required"


def _check_second_factor(*, user: User, otp: str) -> None:
    authenticator = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if authenticator is None:
        return
    if not otp:
        message = _("This account uses two-factor authentication: send the current code of your "
                    "authenticator app in the “otp” field.")
        raise SecondFactorRequired(message, fields={"otp": [message]})
    if not TOTP(authenticator).validate_code(otp):
        message = _("This two-factor code is wrong, expired or already used.")
        raise SecondFactorRequired(message, fields={"otp": [message]})


def token_obtain(*, user: User, otp: str, client: str, name: str = "") -> tuple[PersonalToken, str]:
    """A token for POST /api/v1/auth/token/, once the password is checked: asks for the TOTP code too when
    the person turned two-factor authentication on, so the API is no way around it. The token is named as
    asked, else after the client (see `api_token_name`); it replaces the person's token of that name."""
    _check_second_factor(user=user, otp=otp.strip())
    return token_create(user=user, name=name.strip() or api_token_name(user=user, client=client))


def api_token_name(*, user: User, client: str) -> str:
    """The name of a token obtained through POST /api/v1/auth/token/ without a name: from which client (its
    User-Agent). The same client gets the same name every time, in the person's language, so that its new token
    replaces its previous one instead of piling up."""
    client = client.strip()[:50]
    with translation.override(user.language or settings.LANGUAGE_CODE):
        if client:
            return _("API login (%(client)s)") % {"client": client}
        return _("API login")


def token_revoke(*, token: PersonalToken) -> None:
    logger.info("members: token %s revoked for user %s", token.pk, token.user_id)
    token.delete()
