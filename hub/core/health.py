"""Readiness checks: can this process reach the parts it needs right now?"""

from django.conf import settings
from django.db import connection


def database_check() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return f"database unreachable: {exc.__class__.__name__}"
    return None


def broker_check() -> str | None:
    from hub.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"broker unreachable: {exc.__class__.__name__}"
    return None


def cache_check() -> str | None:
    if not settings.REDIS_URL:
        return None
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
    except Exception as exc:
        return f"redis unreachable: {exc.__class__.__name__}"
    return None


def readiness() -> dict[str, str]:
    """Name -> "ok" or the reason it is down."""
    checks = {"database": database_check, "broker": broker_check, "redis": cache_check}
    return {name: (check() or "ok") for name, check in checks.items()}
