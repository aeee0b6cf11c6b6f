"""The one place that decides what happens when Redis is down: it is skipped, not waited for.

Redis holds only what the site can do without for a while (cached pages and fragments,
presence, rate-limit counters), so a connection error becomes a miss or a no-op with a logged
warning. After one, the breaker stays open for REDIS_BREAKER_SECONDS: every call in that time
returns at once instead of waiting for a connect timeout; the first call after it tries again.
"""

import logging
import time
from functools import partial

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Unreachable, timing out, or refusing (out of memory, read-only replica): all mean "do without".
REDIS_DOWN_ERRORS = (RedisError, OSError)


class _Breaker:
    """Per process: Redis is one server for the whole site, so one breaker for all its uses."""

    def __init__(self):
        self.open_until = 0.0

    def closed(self) -> bool:
        return time.monotonic() >= self.open_until

    def trip(self, exc: Exception, *, during: str) -> None:
        if self.closed():  # once per opening, not once per call
            logger.warning("redis unreachable during %s (%s): skipping it", during, exc)
        self.open_until = time.monotonic() + settings.REDIS_BREAKER_SECONDS


redis_breaker = _Breaker()


def redis_available() -> bool:
    """False while the breaker is open: callers with a fallback can use it without trying."""
    return redis_breaker.closed()


def redis_call(during: str, call, default):
    """call() unless Redis is known to be down; `default` instead if it is or turns out so."""
    if not redis_breaker.closed():
        return default
    try:
        return call()
    except REDIS_DOWN_ERRORS as exc:
        redis_breaker.trip(exc, during=during)
        return default


class _ClientPerPool(RedisCacheClient):
    """Django's client makes a new redis.Redis for every call: with redis-py 8 that is about a
    thousand Python calls (its table of response callbacks), more than the call itself costs.
    One per connection pool does the same work: the pool hands out the connections."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class ResilientRedisCache(RedisCache):
    """Django's RedisCache, with a down Redis read as misses and writes dropped."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _ClientPerPool

    def get(self, key, default=None, version=None):
        return redis_call("cache get", partial(super().get, key, default, version), default)

    def get_many(self, keys, version=None):
        return redis_call("cache get_many", partial(super().get_many, keys, version), {})

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        # False, "not added": no caller may believe it holds the key.
        call = partial(super().add, key, value, timeout, version)
        return redis_call("cache add", call, False)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        redis_call("cache set", partial(super().set, key, value, timeout, version), None)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        call = partial(super().set_many, data, timeout, version)
        return redis_call("cache set_many", call, list(data))  # the keys not stored

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return redis_call("cache touch", partial(super().touch, key, timeout, version), False)

    def delete(self, key, version=None):
        return redis_call("cache delete", partial(super().delete, key, version), False)

    def delete_many(self, keys, version=None):
        redis_call("cache delete_many", partial(super().delete_many, keys, version), None)

    def has_key(self, key, version=None):
        return redis_call("cache has_key", partial(super().has_key, key, version), False)

    def incr(self, key, delta=1, version=None):
        count = redis_call("cache incr", partial(super().incr, key, delta, version), None)
        if count is None:  # what a missing key raises: the caller starts its count afresh
            raise ValueError(f"Key '{key}' not found (redis unreachable)")
        return count

    def clear(self):
        return redis_call("cache clear", super().clear, False)
