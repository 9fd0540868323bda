"""Which collectives the running code may read: tenancy that fails closed.

Every query of a collective-owned model starts from its manager, which asks the active scope:

- one collective (its pages and endpoints: entered by CollectiveMiddleware and the API's
  CollectiveScopedMixin): the query only ever sees that collective's rows, whatever its filters say;
- every collective: the system (Celery tasks, management commands), and the few reads a person makes across
  their own collectives (their home, earnings, notifications, invitations), which say so (`across_collectives`)
  and filter by the person themselves;
- none (anywhere else, a page that is not a collective's included): the query raises OutOfScope, so code that
  forgot to scope its data fails in tests instead of reading another tenant's.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from functools import wraps
from typing import Any, TypeVar

EVERY = "every"

Scope = int | str | None
_active: ContextVar[Scope] = ContextVar("collective_scope", default=None)

F = TypeVar("F", bound=Callable[..., Any])


class OutOfScope(RuntimeError):
    """A collective-owned model was queried where no collective scope is active."""


def active_scope() -> Scope:
    return _active.get()


def enter(scope: Scope) -> Token[Scope]:
    """Make `scope` (a collective's id, EVERY or None) the active one until `leave` is given the token."""
    return _active.set(scope)


def leave(token: Token[Scope]) -> None:
    _active.reset(token)


@contextmanager
def collective_scope(collective_id: int) -> Iterator[None]:
    token = enter(collective_id)
    try:
        yield
    finally:
        leave(token)


@contextmanager
def every_collective() -> Iterator[None]:
    token = enter(EVERY)
    try:
        yield
    finally:
        leave(token)


def across_collectives(function: F) -> F:
    """For a read that spans a person's collectives (and filters by the person): it may see every collective."""

    @wraps(function)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with every_collective():
            return function(*args, **kwargs)

    return wrapped  # type: ignore[return-value]  # wraps keeps the signature
