"""Every write about people, collectives, memberships, invitations and tokens."""

import logging
import secrets

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from contrib_budget.errors import DomainError, Forbidden, validated_or_raise

from . import selectors, tasks
from .audit import audit_record
from .models import PREFIX_LENGTH, Collective, Invitation, Membership, PersonalToken, Role
from .notifications.services import notify

logger = logging.getLogger(__name__)

COLLECTIVE_FIELDS = ("name", "slug", "currency", "locale", "timezone", "description")


def _collective_state(collective: Collective) -> dict:
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


def collective_create(*, creator, **fields) -> Collective:
    """Create a collective; its creator becomes its first coordinator."""
    collective = Collective(**{k: v for k, v in fields.items() if k in COLLECTIVE_FIELDS})
    validated_or_raise(collective)
    with transaction.atomic():
        collective.save()
        Membership.objects.create(collective=collective, user=creator, roles=[Role.COORDINATOR.value])
        audit_record(collective=collective, actor=creator, action="collective.created", target=collective,
                     after=_collective_state(collective))
    return collective


def collective_update(*, collective: Collective, actor, **fields) -> Collective:
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


def member_add(*, collective: Collective, actor, email: str, roles: list[str]) -> Membership | Invitation:
    """Add a known person at once; invite an unknown email address."""
    roles = _check_roles(roles)
    email = email.strip().lower()
    user = get_user_model().objects.filter(email__iexact=email).first()
    if user is None:
        return invitation_create(collective=collective, actor=actor, email=email, roles=roles)
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            collective=collective, user=user, defaults={"roles": roles}
        )
        if not created:
            raise DomainError(
                _("%(email)s is already a member.") % {"email": email},
                "already_member",
                fields={"email": [_("Already a member of this collective.")]},
            )
        audit_record(collective=collective, actor=actor, action="membership.added", target=membership,
                     after={"email": email, "roles": roles})
        notify(collective=collective, kind="invitation.received", recipients=[user], actor=actor,
               url=reverse("collective_dashboard", args=[collective.slug]),
               params={"name": actor.display_name, "collective": collective.name, "roles": roles, "added": True})
    return membership


def invitation_create(*, collective: Collective, actor, email: str, roles: list[str]) -> Invitation:
    roles = _check_roles(roles)
    invitation = Invitation(collective=collective, email=email, roles=roles, invited_by=actor)
    validated_or_raise(invitation, exclude=("collective", "invited_by"))
    with transaction.atomic():
        invitation.save()
        audit_record(collective=collective, actor=actor, action="invitation.created", target=invitation,
                     after={"email": email, "roles": roles})
        notify(collective=collective, kind="invitation.received", recipients=selectors.users_owning_email(email),
               actor=actor, members_only=False, url=reverse("invitation_accept", args=[invitation.token]),
               params={"name": actor.display_name, "collective": collective.name, "roles": roles})
        transaction.on_commit(lambda: tasks.send_invitation_email.delay(invitation.pk))
    return invitation


def invitation_send(*, invitation: Invitation) -> None:
    """Email the invitation link, in the collective's language; a stale invitation is not sent."""
    from django.conf import settings

    if not invitation.is_pending:
        logger.info("members: invitation %s is no longer pending, not sent", invitation.pk)
        return
    link = settings.SITE_URL.rstrip("/") + reverse("invitation_accept", args=[invitation.token])
    context = {"invitation": invitation, "link": link}
    with translation.override(invitation.collective.locale):
        send_mail(
            subject=_("You are invited to join %(name)s") % {"name": invitation.collective.name},
            message=render_to_string("members/email/invitation.txt", context),
            from_email=None,
            recipient_list=[invitation.email],
        )


def invitation_revoke(*, invitation: Invitation, actor) -> Invitation:
    if not invitation.is_pending:
        raise DomainError(_("This invitation is no longer pending."), "not_pending")
    with transaction.atomic():
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(collective=invitation.collective, actor=actor, action="invitation.revoked",
                     target=invitation)
    return invitation


def invitation_accept(*, token: str, user) -> Membership:
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update().select_related("collective").filter(token=token).first()
        )
        if invitation is None or not invitation.is_pending:
            raise DomainError(_("This invitation link is invalid, expired or revoked."), "invitation_invalid")
        if not selectors.user_owns_email(user, invitation.email):
            raise Forbidden(
                _("This invitation was sent to %(email)s: log in with that address to accept it.")
                % {"email": invitation.email},
                "invitation_other_email",
            )
        membership, created = Membership.objects.get_or_create(
            collective=invitation.collective, user=user, defaults={"roles": invitation.roles}
        )
        if not created:
            membership.roles = sorted(set(membership.roles) | set(invitation.roles), key=Role.values.index)
            membership.save(update_fields=["roles"])
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
        audit_record(collective=invitation.collective, actor=user, action="invitation.accepted",
                     target=membership, after={"email": user.email, "roles": membership.roles})
    return membership


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


def membership_set_roles(*, membership: Membership, actor, roles: list[str]) -> Membership:
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


def membership_remove(*, membership: Membership, actor) -> None:
    """A coordinator removes someone, or a person leaves (actor is the member)."""
    is_self = actor.pk == membership.user_id
    with transaction.atomic():
        _ensure_coordinator_remains(membership.collective, membership)
        audit_record(collective=membership.collective, actor=actor,
                     action="membership.left" if is_self else "membership.removed",
                     target=membership, before={"email": membership.user.email, "roles": membership.roles})
        membership.delete()


def require_coordinator_or_self(*, membership: Membership, actor_membership: Membership) -> None:
    if membership.pk != actor_membership.pk and not actor_membership.has_role(Role.COORDINATOR):
        raise Forbidden(_("Only coordinators can manage other members."))


def token_create(*, user, name: str) -> tuple[PersonalToken, str]:
    """A new token and its key: the key is returned this once, only its digest is stored."""
    key = secrets.token_urlsafe(32)
    token = PersonalToken.objects.create(
        user=user, name=name.strip()[:100] or _("API token"),
        key_hash=PersonalToken.hash_key(key), prefix=key[:PREFIX_LENGTH],
    )
    logger.info("members: token %s created for user %s", token.pk, user.pk)
    return token, key


class SecondFactorRequired(DomainError):
    """The password was right but the account also asks for its current two-factor code."""

    status_code = 401
    default_code = "otp_required"


def _check_second_factor(*, user, otp: str) -> None:
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


def token_obtain(*, user, otp: str, client: str) -> tuple[PersonalToken, str]:
    """A token for POST /api/v1/auth/token/, once the password is checked: asks for the TOTP code too when
    the person turned two-factor authentication on, so the API is no way around it."""
    _check_second_factor(user=user, otp=otp.strip())
    return token_create(user=user, name=api_token_name(client=client))


def api_token_name(*, client: str) -> str:
    """The name of a token obtained through POST /api/v1/auth/token/: when, and from which client."""
    when = formats.date_format(timezone.localtime(), "SHORT_DATETIME_FORMAT")
    client = client.strip()[:50]
    if client:
        return _("API login on %(date)s (%(client)s)") % {"date": when, "client": client}
    return _("API login on %(date)s") % {"date": when}


def token_revoke(*, token: PersonalToken) -> None:
    logger.info("members: token %s revoked for user %s", token.pk, token.user_id)
    token.delete()
