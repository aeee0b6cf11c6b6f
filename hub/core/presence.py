"""Who is online: last-seen times in a Redis sorted set (or process memory without Redis).

One pipelined round trip per request (ZADD + trim); counting is a single ZCOUNT, run only when
a page shows the number.
"""

import threading
import time

from django.conf import settings

PRESENCE_KEY = "gradhub:presence"
_local_seen: dict[str, float] = {}
_local_lock = threading.Lock()
_redis_client = None


def _redis():
    global _redis_client
    if _redis_client is None and settings.REDIS_URL:
        import redis

        _redis_client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5)
    return _redis_client


def presence_touch(*, visitor: str, now: float | None = None) -> None:
    now = time.time() if now is None else now
    cutoff = now - settings.PRESENCE_WINDOW_SECONDS
    client = _redis()
    if client is not None:
        try:
            pipe = client.pipeline(transaction=False)
            pipe.zadd(PRESENCE_KEY, {visitor: now})
            pipe.zremrangebyscore(PRESENCE_KEY, 0, cutoff)
            pipe.execute()
        except Exception:  # presence is a nicety: never fail a page for it
            pass
        return
    with _local_lock:
        _local_seen[visitor] = now
        for key in [k for k, seen in _local_seen.items() if seen < cutoff]:
            del _local_seen[key]


def presence_count(*, now: float | None = None) -> int:
    now = time.time() if now is None else now
    cutoff = now - settings.PRESENCE_WINDOW_SECONDS
    client = _redis()
    if client is not None:
        try:
            return int(client.zcount(PRESENCE_KEY, cutoff, "+inf"))
        except Exception:
            return 0
    with _local_lock:
        return sum(1 for seen in _local_seen.values() if seen >= cutoff)
