"""Reads about people, collectives and memberships that pages need by name.

`waiting_items(user)` gathers "what waits for me" on the home page from
per-app providers: an app registers a function taking the user and returning
`WaitingItem`s (``@waiting_provider`` at import time, e.g. in its selectors
module imported from its AppConfig.ready). Each provider runs a fixed number of
queries whatever the number of items.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db.models import Aggregate, Count, Q, QuerySet
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from contrib_budget import scopes
from contrib_budget.prepared import Prepared
from contrib_budget.scopes import across_collectives

from .audit import audit_hidden
from .models import AuditEvent, Collective, Invitation, Membership, PersonalToken, Role, User


@dataclass(frozen=True)
class WaitingItem:
    """Something a person should act on: a title, the collective it concerns, a link."""

    title: str
    url: str
    collective: Collective | None = None
    detail: str = ""
    due: datetime | None = None
    # The label of the button that leads to the place to act ("Review", "Decide"); "Open" when empty.
    action: str = ""


WaitingProvider = Callable[[User], Iterable[WaitingItem]]
_waiting_providers: list[WaitingProvider] = []


def waiting_provider(provider: WaitingProvider) -> WaitingProvider:
    """Register a provider of waiting items (idempotent)."""
    if provider not in _waiting_providers:
        _waiting_providers.append(provider)
    return provider


def waiting_items(user: User, *, collective: Collective | None = None) -> list[WaitingItem]:
    """Everything waiting for `user`, across apps (only what concerns `collective` when given), soonest due
    first.

    For one collective the providers run inside its scope, so each of their queries reads that collective's rows
    only: a collective's dashboard does not grow with the number of the person's other collectives."""
    scope = scopes.collective_scope(collective.pk) if collective is not None else scopes.every_collective()
    with scope:
        items = [item for provider in _waiting_providers for item in provider(user)]
    if collective is not None:
        items = [item for item in items if item.collective is not None and item.collective.pk == collective.pk]
    return sorted(items, key=lambda item: (item.due is None, item.due.timestamp() if item.due else 0, item.title))


def per_collective(rows: QuerySet, **aggregates: Aggregate) -> QuerySet:
    """The `aggregates` of `rows` (a collective-owned model's) per collective: dicts of `collective_id` and them,
    for `by_collective_name`."""
    return rows.order_by().values("collective_id").annotate(**aggregates)


def collectives_where(user_id: int, role: str) -> QuerySet[Membership]:
    """The ids of the collectives where the person holds `role`, as a subquery for `collective_id__in`."""
    return Membership.objects.filter(user_id=user_id, roles__contains=[role]).values("collective_id")


def by_collective_name(totals: Iterable[dict]) -> list[tuple[Collective, dict]]:
    """Each collective of `totals` (`per_collective`'s rows) by name, with its own: the collectives are read once
    thousands of rows are summed, rather than joined to each row and sorted by name with them."""
    totals_of = {row.pop("collective_id"): row for row in totals}
    if not totals_of:
        return []
    return [(collective, totals_of[collective.pk]) for collective in _COLLECTIVES_BY_NAME.rows(ids=list(totals_of))]


_COLLECTIVES_BY_NAME = Prepared(lambda ids: (
    Collective.objects.filter(pk__any=ids).only("slug", "name", "currency").order_by("name")
))


@across_collectives
def memberships_of(user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("collective").order_by("collective__name")


def _pending(invitations: QuerySet[Invitation], now: datetime | None = None) -> QuerySet[Invitation]:
    return invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True, declined_at__isnull=True,
                              expires_at__gt=now or timezone.now())


@across_collectives
def invitations_pending_for(user: User) -> QuerySet[Invitation]:
    """Pending invitations addressed to the user: to their login address or to a verified address of theirs."""
    return _invitations_pending_to(user.pk, user.email.lower(), timezone.now())


def _invitations_pending_to(user_id: int, email: str, now: datetime) -> QuerySet[Invitation]:
    verified = (EmailAddress.objects.filter(user_id=user_id, verified=True)
                .annotate(address=Lower("email")).values("address"))
    return (
        _pending(Invitation.objects.annotate(address=Lower("email")), now)
        .filter(Q(address=email) | Q(address__in=verified))
        .select_related("collective", "invited_by")
        .order_by("expires_at", "pk")
    )


_INVITATIONS_PENDING_TO = Prepared(_invitations_pending_to)


@waiting_provider
def _pending_invitations(user: User) -> list[WaitingItem]:
    with scopes.every_collective():
        invitations = _INVITATIONS_PENDING_TO.rows(user_id=user.pk, email=user.email.lower(), now=timezone.now())
    return [
        WaitingItem(
            title=_("Answer the invitation to join %(name)s") % {"name": invitation.collective.name},
            url=reverse("invitation_accept", args=[invitation.token]),
            collective=invitation.collective,
            detail=_("Invited by %(name)s") % {"name": invitation.invited_by.display_name},
            due=invitation.expires_at,
            action=_("Answer"),
        )
        for invitation in invitations
    ]


# A suggestion names a person as "Name <email>" for those who may read the emails: a mailbox, as in email headers.
_MAILBOX = re.compile(r"^(?P<name>.*?)\s*<(?P<email>[^<>\s]+@[^<>\s]+)>$")


def mailbox_parts(text: str) -> tuple[str, str]:
    """The name and the email address of a text written "Name <email>"; the whole text as the name and no email
    otherwise."""
    mailbox = _MAILBOX.match(text.strip())
    return (mailbox["name"], mailbox["email"]) if mailbox else (text.strip(), "")


def person_matches(search: str, *, by_email: bool, user: str = "") -> Q:
    """The people whose name contains `search` (or whose email does, `by_email`: only for those who may read the
    emails). `user` is the path to the person from the model filtered, e.g. "user__"."""
    # A person without a name shows as the start of their email address: that is their name here.
    matches = Q(**{f"{user}name__icontains": search}) | Q(
        **{f"{user}name": "", f"{user}email__iregex": rf"^[^@]*{re.escape(search)}"})
    if by_email:
        matches |= Q(**{f"{user}email__icontains": search})
    return matches


def person_named(typed: str, *, by_email: bool, user: str = "") -> Q:
    """The people `typed` names exactly: their email address in a mailbox "Name <email>" or alone (`by_email`), or
    their whole name, whatever the case."""
    name, email = mailbox_parts(typed)
    if email and by_email:
        return Q(**{f"{user}email__iexact": email})
    named = Q(**{f"{user}name__iexact": name}) | Q(**{f"{user}name": "", f"{user}email__istartswith": f"{name}@"})
    if by_email:
        named |= Q(**{f"{user}email__iexact": name})
    return named


def people_search(people: QuerySet, search: str, *, by_email: bool, user: str = "") -> QuerySet:
    """`people` (users, or rows pointing to them through `user`) matching `search`, by name then email; a mailbox
    "Name <email>" searches its email for those who may read the emails, its name for the others."""
    name, email = mailbox_parts(search)
    return people.filter(person_matches(email if email and by_email else name, by_email=by_email, user=user)
                         ).order_by(f"{user}name", f"{user}email")


def people_designated(people: QuerySet, typed: str, *, by_email: bool, user: str = "") -> list:
    """Who `typed` designates among `people`: those it names exactly, else those whose name (or email) contains
    it; at most two, enough to tell one from several."""
    exact = list(people.filter(person_named(typed, by_email=by_email, user=user)).order_by("pk")[:2])
    return exact or list(people_search(people, typed, by_email=by_email, user=user)[:2])


def collective_members(collective: Collective, *, search: str = "", by_email: bool = False) -> QuerySet[Membership]:
    """The members, one row per person, by name; `search` keeps those whose name (or email, `by_email`: only for
    those who may read the emails) contains it."""
    members = Membership.objects.of(collective).select_related("user")
    if search:
        return people_search(members, search, by_email=by_email, user="user__")
    return members.order_by("user__name", "user__email")


def collective_member_count(collective: Collective) -> int:
    return Membership.objects.of(collective).aggregate(count=Count("pk"))["count"]


def collective_invitations_pending(collective: Collective) -> QuerySet[Invitation]:
    return (
        _pending(Invitation.objects.of(collective))
        .select_related("invited_by")
        .order_by("-created_at")
    )


# A pending invitation whose email is still unsent this long after it was made is queued again (its task was lost
# while the broker was down, or ran out of retries), until it is this old.
INVITATION_UNSENT_AFTER = timedelta(minutes=10)
INVITATION_UNSENT_FOR = timedelta(days=2)


def invitations_email_unsent(*, now: datetime) -> list[int]:
    """Pending invitations whose email has not left a while after they were made, for two days."""
    return list(_pending(Invitation.objects.all(), now).filter(
        email_sent_at__isnull=True,
        created_at__lt=now - INVITATION_UNSENT_AFTER, created_at__gte=now - INVITATION_UNSENT_FOR,
    ).order_by("pk").values_list("pk", flat=True))


def user_owns_email(user: User, email: str) -> bool:
    """The address is the user's own: their login address or a verified address of their account."""
    if user.email.lower() == email.lower():
        return True
    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


def users_owning_email(email: str) -> list[int]:
    """The accounts whose login address, or one of whose verified addresses, is `email`."""
    verified = EmailAddress.objects.filter(email__iexact=email, verified=True).values("user_id")
    return list(get_user_model().objects.filter(Q(email__iexact=email) | Q(pk__in=verified))
                .values_list("pk", flat=True))


@across_collectives
def invitation_by_token(token: str) -> Invitation | None:
    return Invitation.objects.select_related("collective", "invited_by").filter(token=token).first()


AuditEvents = TypeVar("AuditEvents", bound=QuerySet[AuditEvent])


def newest_first(events: AuditEvents) -> AuditEvents:
    """Audit events as the trail lists them: the latest first, with who did them."""
    return events.select_related("actor").order_by("-created_at", "-id")


def audit_events(collective: Collective, *, action: str = "", actor: int | str | None = None,
                 since: date | None = None, until: date | None = None) -> QuerySet[AuditEvent]:
    """The collective's audit trail, newest first; `actor` is a person's id or "system" (no person), and the days
    `since` and `until` are included, in the collective's time zone (the active one on its pages).

    Searching by person leaves out the events an app hides for now (members.audit.audit_hidden): finding them
    under a name would tell who did them."""
    events = newest_first(AuditEvent.objects.of(collective))
    if action:
        events = events.filter(action=action)
    if actor == "system":
        events = events.filter(actor__isnull=True)
    elif actor is not None:
        events = events.filter(actor_id=actor)
        hidden = audit_hidden(collective)
        if hidden is not None:
            events = events.exclude(hidden)
    if since is not None:
        events = events.filter(created_at__date__gte=since)
    if until is not None:
        events = events.filter(created_at__date__lte=until)
    return events


def audit_actions(collective: Collective) -> list[str]:
    """The actions recorded in the collective's audit trail, as codes."""
    return list(AuditEvent.objects.of(collective).order_by().values_list("action", flat=True).distinct())


def audit_actors(collective: Collective) -> QuerySet[User]:
    """The people who did something recorded in the collective's audit trail (former members included), by name;
    not for what an app hides for now (being found would tell that they did it)."""
    acting = AuditEvent.objects.of(collective).filter(actor__isnull=False)
    hidden = audit_hidden(collective)
    if hidden is not None:
        acting = acting.exclude(hidden)
    actor_ids = acting.order_by().values("actor_id")
    return get_user_model().objects.filter(pk__in=actor_ids).order_by("name", "email")


def tokens_of(user: User) -> QuerySet[PersonalToken]:
    return PersonalToken.objects.filter(user=user).order_by("-created_at")


def role_labels(roles: Iterable[str]) -> list[str]:
    labels = dict(Role.choices)
    return [str(labels.get(role, role)) for role in roles]


def member_ids_with_role(collective: Collective, role: str) -> QuerySet[Membership, int]:
    """The ids of the collective's members holding `role`."""
    return Membership.objects.of(collective).filter(roles__contains=[role]).values_list("user_id", flat=True)
