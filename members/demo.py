"""Demo data for the quick start. Each app may add a `<app>/demo.py` with
`seed(data: DemoData) -> None`; `seed_demo` calls them in order after this one.
"""

from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Prefetch

from . import services
from .audit import audit_record
from .models import Collective, Membership, Role, User

DEMO_DOMAIN = "demo.contrib-budget.org"
DEMO_PASSWORD = "fabrique-demo"

COORDINATOR, CONTRIBUTOR, MEMBER, ACCOUNTANT = (
    Role.COORDINATOR.value, Role.CONTRIBUTOR.value, Role.MEMBER.value, Role.ACCOUNTANT.value,
)

# Key (lowercase first name) -> full name.
PEOPLE = {
    "alice": "Alice Martin",
    "bob": "Bob Lefebvre",
    "carol": "Carole Dubois",
    "david": "David Moreau",
    "emma": "Emma Laurent",
    "farid": "Farid Benali",
    "gaelle": "Gaëlle Le Goff",
    "hugo": "Hugo Petit",
    "ines": "Inès Haddad",
    "jules": "Jules Girard",
    "karim": "Karim Mansouri",
    "lea": "Léa Fontaine",
    "nadia": "Nadia Ouali",
    "theo": "Théo Roux",
}

# Key -> fields of the collective, its first coordinator, and everyone else's roles.
COLLECTIVES = {
    "fabrique": {
        "fields": {
            "name": "La Fabrique",
            "slug": "la-fabrique",
            "currency": "EUR",
            "locale": "fr",
            "timezone": "Europe/Paris",
            "description": (
                "Tiers-lieu associatif à Montreuil : atelier bois et métal partagé, café-cantine, "
                "ressourcerie et salle de réunion. Les contributions à la vie du lieu sont "
                "rétribuées sur un budget contributif voté chaque trimestre."
            ),
        },
        "coordinator": ("alice", [COORDINATOR, MEMBER]),
        "members": {
            "bob": [CONTRIBUTOR, MEMBER],
            "david": [CONTRIBUTOR, MEMBER],
            "emma": [CONTRIBUTOR, MEMBER],
            "farid": [CONTRIBUTOR, MEMBER],
            "carol": [ACCOUNTANT],
            "gaelle": [MEMBER],
            "hugo": [MEMBER],
            "ines": [MEMBER],
            "jules": [MEMBER],
            "karim": [MEMBER],
            "lea": [MEMBER],
        },
    },
    "kpa": {
        "fields": {
            "name": "KPA-Cité",
            "slug": "kpa-cite",
            "currency": "EUR",
            "locale": "fr",
            "timezone": "Europe/Paris",
            "description": (
                "Collectif de quartier qui anime un jardin partagé et une cuisine solidaire ; "
                "il partage avec La Fabrique quelques bénévoles et des outils."
            ),
        },
        "coordinator": ("alice", [COORDINATOR]),
        "members": {
            "emma": [CONTRIBUTOR, MEMBER],
            "bob": [MEMBER],
            "nadia": [CONTRIBUTOR, MEMBER],
            "theo": [MEMBER],
        },
    },
}


@dataclass
class DemoData:
    # "fabrique": the third place (main demo collective); "kpa": the second one.
    collectives: dict[str, Collective] = field(default_factory=dict)
    # Keyed by lowercase first name: alice (coordinator), bob, david, emma, farid
    # (contributors), carol (accountant), gaelle, hugo, ines, jules, karim, lea (members).
    people: dict[str, User] = field(default_factory=dict)


def membership(collective: Collective, person: User) -> Membership:
    """The person's membership in the collective: what the demo of each app acts through."""
    return Membership.objects.get(collective=collective, user=person)


def demo_email(key: str) -> str:
    return f"{key}@{DEMO_DOMAIN}"


def _person_create(key: str, password_hash: str) -> User:
    """A demo person who can log in at once: password set, email address verified."""
    user = get_user_model().objects.create(email=demo_email(key), name=PEOPLE[key], password=password_hash)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def _collective_seed(spec: dict, people: dict[str, User]) -> Collective:
    coordinator_key, coordinator_roles = spec["coordinator"]
    coordinator = people[coordinator_key]
    collective = services.collective_create(creator=coordinator, **spec["fields"])
    services.membership_set_roles(
        membership=Membership.objects.of(collective).get(user=coordinator), actor=coordinator,
        roles=coordinator_roles,
    )
    for key, roles in spec["members"].items():
        _member_seed(collective, coordinator, people[key], roles)
    return collective


def _member_seed(collective: Collective, coordinator: User, person: User, roles: list[str]) -> None:
    """Demo people are members at once, as if they had accepted their invitations: no invitation is sent (their
    addresses are made up), and the audit trail says who was added."""
    roles = sorted(set(roles), key=Role.values.index)
    membership = Membership.objects.create(collective=collective, user=person, roles=roles)
    audit_record(collective=collective, actor=coordinator, action="membership.added", target=membership,
                 after={"email": person.email, "roles": roles})


def seed() -> DemoData:
    """Create the demo people and collectives (call once: see `demo_exists`)."""
    with transaction.atomic():
        password_hash = make_password(DEMO_PASSWORD)  # hashing is slow on purpose: once for everyone
        people = {key: _person_create(key, password_hash) for key in PEOPLE}
        collectives = {key: _collective_seed(spec, people) for key, spec in COLLECTIVES.items()}
    return DemoData(collectives=collectives, people=people)


def demo_exists() -> bool:
    return Collective.objects.filter(slug=COLLECTIVES["fabrique"]["fields"]["slug"]).exists()


def demo_accounts() -> list[tuple[str, str, dict[str, list[str]]]]:
    """(email, name, {collective name: roles}) of every demo person, as stored now."""
    memberships = Prefetch("memberships", queryset=Membership.objects.select_related("collective").order_by("pk"))
    users = (
        get_user_model().objects.filter(email__endswith="@" + DEMO_DOMAIN)
        .prefetch_related(memberships).order_by("email")
    )
    return [
        (user.email, user.name, {m.collective.name: m.roles for m in user.memberships.all()})
        for user in users
    ]
