"""What several of the cobudget's services share: the round's shared lock, the coordinator check, and the
marker of a keyword a caller did not pass."""

import enum
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from members.models import Collective, Membership, Role, User

from ..models import Round

# An amount as a person or a client sent it (parse_money checks it), or as the code already holds it.
MoneyInput = Decimal | str | int
# Members given as users or as their ids.
People = Iterable[User | int]


class Unset(enum.Enum):
    """The default of a keyword an update may leave out: only what the caller passed changes."""

    UNSET = "unset"


UNSET = Unset.UNSET


def person_ids(people: People) -> set[int]:
    """The ids of members given as users or as their ids."""
    return {person if isinstance(person, int) else person.pk for person in people}


def given(**values: Any) -> dict[str, Any]:
    """The keywords the caller passed, without those left UNSET."""
    return {name: value for name, value in values.items() if value is not UNSET}


def lock_round_shared(round_id: int) -> Round:
    """Take the round row FOR SHARE: many allocations at once, but never during the close."""
    rows = list(Round.objects.raw("SELECT * FROM cobudget_round WHERE id = %s FOR SHARE", [round_id]))
    return rows[0]


def is_coordinator(collective: Collective, user: User) -> bool:
    return Membership.objects.of(collective).filter(user=user, roles__contains=[Role.COORDINATOR.value]).exists()
