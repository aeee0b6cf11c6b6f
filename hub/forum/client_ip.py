"""The client's address for per-IP rate limits and view counting."""

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    """REMOTE_ADDR, or the first X-Forwarded-For address when settings.TRUST_X_FORWARDED_FOR.

    Trust the header only behind a reverse proxy that sets it: a client that reaches the app
    directly could otherwise pick any address and escape its per-IP limits. A malformed first
    entry falls back to REMOTE_ADDR.
    """
    remote = request.META.get("REMOTE_ADDR") or "unknown"
    if not getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    first = forwarded.split(",", 1)[0].strip()
    try:
        return str(ipaddress.ip_address(first))
    except ValueError:
        return remote
