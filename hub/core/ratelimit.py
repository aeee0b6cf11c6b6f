"""Fixed-window rate limits kept in the cache (Redis in production), shared by web and API.

Services call ``rate_limit(...)`` before a write; views and the API turn ``RateLimited`` into
a clear message (HTTP 429 with Retry-After).
"""

import time

from django.core.cache import cache


class RateLimited(Exception):
    def __init__(self, *, scope: str, retry_after: int):
        self.scope = scope
        self.retry_after = retry_after
        super().__init__(f"Too many {scope} requests: try again in {retry_after} seconds.")


def rate_limit(*, scope: str, key: str, limit: int, period_seconds: int) -> None:
    """Count one event for (scope, key); raise RateLimited past `limit` in the current window."""
    window = int(time.time() // period_seconds)
    cache_key = f"ratelimit:{scope}:{key}:{window}"
    cache.add(cache_key, 0, timeout=period_seconds + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=period_seconds + 1)
        count = 1
    if count > limit:
        retry_after = int(period_seconds - time.time() % period_seconds) + 1
        raise RateLimited(scope=scope, retry_after=retry_after)
