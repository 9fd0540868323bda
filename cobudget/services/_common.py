"""What several of the cobudget's services share: the round's shared lock, the coordinator check, and the
members given as users or ids."""

from collections.abc import Iterable

from contrib_budget.permissions import roles_of
from members.models import Collective, Role, User

from ..models import Round

# Members given as users or as their ids.
People = Iterable[User | int]


def person_ids(people: People) -> set[int]:
    """The ids of members given as users or as their ids."""
    return {person if isinstance(person, int) else person.pk for person in people}


def lock_round_shared(round_id: int) -> Round:
    """Take the round row FOR SHARE: many allocations at once, but never during the close."""
    rows = list(Round.objects.raw("SELECT * FROM cobudget_round WHERE id = %s FOR SHARE", [round_id]))
    return rows[0]


def is_coordinator(collective: Collective, user: User) -> bool:
    return Role.COORDINATOR in roles_of(collective=collective, actor=user)
