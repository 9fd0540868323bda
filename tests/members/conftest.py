import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _no_login_failures_from_earlier_runs():
    """allauth's failed-login counters (which the token endpoint shares) live in Redis for minutes and are keyed
    by address or account id, which every run of the suite hands out again: drop them before each test, so that
    running the suite twice in a row does not lock the fixtures' accounts (bob@example.org…)."""
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=cache.make_key("allauth:rl:*")))
    if keys:
        client.delete(*keys)
