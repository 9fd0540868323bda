"""What a member leaves behind in a collective (declarations, payouts…), by app.

Removing a member takes away their access and roles, never what they did: the
members page says so in figures before and after. Apps that record work or money
per person register a provider (``@footprint_provider`` at import time, e.g. in
their selectors module imported from their AppConfig.ready): given a collective
and user ids, it returns, per user, what it keeps as readable counts ("3
declarations"), in a fixed number of queries whatever the number of people.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable

from .models import Collective

FootprintProvider = Callable[[Collective, list[int]], dict[int, list[str]]]
_providers: list[FootprintProvider] = []


def footprint_provider(provider: FootprintProvider) -> FootprintProvider:
    """Register a provider of footprints (idempotent)."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def member_footprints(collective, user_ids: Iterable[int]) -> dict[int, list[str]]:
    """Per user id, what stays recorded of them in the collective, e.g. ["3 declarations", "2 payouts"]."""
    ids = list(user_ids)
    footprints: dict[int, list[str]] = defaultdict(list)
    if not ids:
        return footprints
    for provider in _providers:
        for user_id, parts in provider(collective, ids).items():
            footprints[user_id].extend(parts)
    return footprints
