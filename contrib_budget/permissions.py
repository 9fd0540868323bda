"""Who may do what, decided where the work is done.

Each app names its actions and the roles that may take them (`<app>/permissions.py`). The service that does
an action checks it first (`Permission.require`), so every caller (a page, the API, a task, a command) meets
the same rule; pages and the API read the same `roles` to refuse before calling, and a test calls every
write service as every role to prove both refuse alike.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Model
from django.utils.functional import Promise

from .errors import Forbidden
from .scopes import across_collectives
from .tenancy import known_membership, membership_model


@dataclass(frozen=True)
class Permission:
    roles: tuple[str, ...]
    # Why the refusal, as the person reads it: "Only coordinators …".
    message: str | Promise
    code: str = "forbidden"

    def allows(self, *, collective: Model, actor: AbstractBaseUser | None) -> bool:
        """Whether `actor` holds one of the roles in `collective`. No actor is the system (beat jobs, commands
        acting for nobody), which may: it only does what the collective's own rules scheduled."""
        if actor is None:
            return True
        return roles_of(collective=collective, actor=actor).intersection(self.roles) != set()

    def require(self, *, collective: Model, actor: AbstractBaseUser | None) -> None:
        if not self.allows(collective=collective, actor=actor):
            raise Forbidden(str(self.message), self.code)


def roles_of(*, collective: Model, actor: AbstractBaseUser) -> set[str]:
    """The roles `actor` holds in `collective` (none when not a member): the current request's membership when
    it is theirs there (no query), else the database's."""
    known = known_membership(collective_id=collective.pk, user_id=actor.pk)
    if known is not None:
        return set(known.roles)
    return _stored_roles(collective=collective, actor=actor)


@across_collectives
def _stored_roles(*, collective: Model, actor: AbstractBaseUser) -> set[str]:
    roles: Iterable[str] | None = (membership_model().objects.filter(collective=collective, user=actor)
                                   .values_list("roles", flat=True).first())
    return set(roles or ())
