"""Who is online: last-seen times in a Redis sorted set (or process memory without Redis).

One pipelined round trip per request (ZADD + trim); counting is a single ZCOUNT, run only when
a page shows the number. With Redis down (hub.core.cache) nobody is counted: the count is
None and pages leave the "N online" line out rather than show a wrong number.
"""

import threading
import time
from functools import partial

from django.conf import settings

from .cache import redis_call

PRESENCE_KEY = "gradhub:presence"
_local_seen: dict[str, float] = {}
_local_lock = threading.Lock()
_redis_client = None


def _redis():
    global _redis_client
    if _redis_client is None and settings.REDIS_URL:
        import redis

        _redis_client = redis.Redis.from_url(settings.REDIS_URL, **settings.REDIS_TIMEOUTS)
    return _redis_client


def presence_touch(*, visitor: str, now: float | None = None) -> None:
    now = time.time() if now is None else now
    cutoff = now - settings.PRESENCE_WINDOW_SECONDS
    client = _redis()
    if client is not None:
        pipe = client.pipeline(transaction=False)
        pipe.zadd(PRESENCE_KEY, {visitor: now})
        pipe.zremrangebyscore(PRESENCE_KEY, 0, cutoff)
        redis_call("presence touch", pipe.execute, None)
        return
    with _local_lock:
        _local_seen[visitor] = now
        for key in [k for k, seen in _local_seen.items() if seen < cutoff]:
            del _local_seen[key]


def presence_count(*, now: float | None = None) -> int | None:
    """Visitors seen in the window; None when Redis, which knows, cannot be asked."""
    now = time.time() if now is None else now
    cutoff = now - settings.PRESENCE_WINDOW_SECONDS
    client = _redis()
    if client is not None:
        count = redis_call(
            "presence count", partial(client.zcount, PRESENCE_KEY, cutoff, "+inf"), None
        )
        return None if count is None else int(count)
    with _local_lock:
        return sum(1 for seen in _local_seen.values() if seen >= cutoff)
