"""Fixed-window rate limits kept in the cache (Redis in production), shared by web and API.

Services call ``rate_limit(...)`` before a write; views and the API turn ``RateLimited`` into
a clear message (HTTP 429 with Retry-After).

With Redis down (hub.core.cache) writes stay possible and limited: each process counts in its
own memory, to the same limit. A person spread over N worker processes may get up to N times
the limit for as long as Redis is away; refusing every write instead would close the site.
"""

import time

from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache

from .cache import redis_available

# This process's counts while Redis is down; the oldest are culled past MAX_ENTRIES.
_local_counts = LocMemCache("ratelimit-fallback", {"OPTIONS": {"MAX_ENTRIES": 10_000}})


class RateLimited(Exception):
    def __init__(self, *, scope: str, retry_after: int):
        self.scope = scope
        self.retry_after = retry_after
        super().__init__(f"Too many {scope} requests: try again in {retry_after} seconds.")


def rate_limit_store():
    """Where counts are kept right now: the shared cache, or this process while Redis is down."""
    return cache if redis_available() else _local_counts


def rate_limit(*, scope: str, key: str, limit: int, period_seconds: int) -> None:
    """Count one event for (scope, key); raise RateLimited past `limit` in the current window."""
    window = int(time.time() // period_seconds)
    cache_key = f"ratelimit:{scope}:{key}:{window}"
    if redis_available():
        count = _count(cache, cache_key, period_seconds)
    if not redis_available():  # known down, or found down just now: this process counts
        count = _count(_local_counts, cache_key, period_seconds)
    if count > limit:
        retry_after = int(period_seconds - time.time() % period_seconds) + 1
        raise RateLimited(scope=scope, retry_after=retry_after)


def _count(store, cache_key: str, period_seconds: int) -> int:
    store.add(cache_key, 0, timeout=period_seconds + 1)
    try:
        return store.incr(cache_key)
    except ValueError:  # expired between add and incr
        store.set(cache_key, 1, timeout=period_seconds + 1)
        return 1
