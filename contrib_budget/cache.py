"""The shared cache is Redis; while Redis is unreachable, each process carries on with a cache in its own memory.

What lives in the cache: allauth's login rate limits (which the token endpoint shares, members/login_limits.py),
the API's throttles and allauth's record of two-factor codes already used. With Django's RedisCache, a stopped
Redis turns every login and every token request into a 500. With this backend, a Redis connection error or
timeout is logged and the operation is done in a local-memory cache instead: the limits still count, per process
rather than for the whole site, until Redis answers again. Redis is tried again RETRY_AFTER seconds after it
failed, not at every call, so that a dead Redis costs a failed connection every few seconds rather than one per
request. Counts made locally meanwhile stay local: they are not copied to Redis when it is back.
"""

import logging
import time

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# Seconds during which a process leaves Redis alone after a failure, using its local cache instead.
RETRY_AFTER = 5.0
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


def _with_fallback(operation: str):
    def method(self, *args, **kwargs):
        return self._call(operation, *args, **kwargs)

    method.__name__ = method.__qualname__ = operation
    method.__doc__ = f"RedisCache.{operation}, or the local cache's while Redis is unreachable."
    return method


class RedisCacheWithLocalFallback(RedisCache):
    """Django's RedisCache, with a per-process LocMemCache (same key prefix, version and timeouts) standing in
    while Redis is unreachable."""

    # Until when (time.monotonic()) each Redis location is left alone: shared by the process's threads, which each
    # get a backend instance of their own.
    _unreachable_until: dict[str, float] = {}

    def __init__(self, server, params):
        super().__init__(server, params)
        self._location = ",".join(self._servers)
        # LocMemCache instances of one name share their storage within the process.
        self._local = LocMemCache(f"redis-fallback:{self._location}", params)

    def _call(self, operation: str, *args, **kwargs):
        failed_until = self._unreachable_until.get(self._location)
        if failed_until is None or time.monotonic() >= failed_until:
            try:
                result = getattr(super(), operation)(*args, **kwargs)
            except UNREACHABLE as error:
                self._unreachable_until[self._location] = time.monotonic() + RETRY_AFTER
                if failed_until is None:
                    logger.warning("cache: Redis is unreachable (%s); this process uses a local cache meanwhile "
                                   "and tries Redis again every %s s", error, RETRY_AFTER)
            else:
                if self._unreachable_until.pop(self._location, None) is not None:
                    logger.warning("cache: Redis answers again; the local cache is no longer used")
                return result
        return getattr(self._local, operation)(*args, **kwargs)

    add = _with_fallback("add")
    get = _with_fallback("get")
    set = _with_fallback("set")
    touch = _with_fallback("touch")
    delete = _with_fallback("delete")
    get_many = _with_fallback("get_many")
    has_key = _with_fallback("has_key")
    incr = _with_fallback("incr")
    set_many = _with_fallback("set_many")
    delete_many = _with_fallback("delete_many")
    clear = _with_fallback("clear")
