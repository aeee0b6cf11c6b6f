"""Request throttles per scope, keyed by token (uploads: by user) and, for anonymous callers, by IP.

Rates may be overridden with ``settings.API_THROTTLE_RATES`` (scope -> "N/period").
Over the limit the API answers 429 with Retry-After (see exceptions.py). With Redis down, reads
are not throttled and writes are counted in this process (hub.core.ratelimit).
"""

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import SimpleRateThrottle

from hub.core.cache import redis_available
from hub.core.ratelimit import rate_limit_store
from hub.core.web import client_ip

from .models import AccessToken

# Generous for reads (a script paging through questions), strict for writes and uploads: the
# services' own per-action limits (hub.core.ratelimit) still apply behind these.
DEFAULT_RATES = {
    "anon": "120/min",
    "read": "600/min",
    "write": "60/min",
    "upload": "30/hour",
}


class ScopedThrottle(SimpleRateThrottle):
    scope = "read"
    applies_to_safe_methods = True
    applies_to_unsafe_methods = True

    def allow_request(self, request, view):
        if not redis_available() and request.method in SAFE_METHODS:
            return True  # no shared counts to check against: keep the site readable
        self.cache = rate_limit_store()
        return super().allow_request(request, view)

    def get_ident(self, request):
        # DRF's own keys on the whole X-Forwarded-For (NUM_PROXIES unset), which the client writes.
        return client_ip(request)

    def get_rate(self):
        rates = {**DEFAULT_RATES, **getattr(settings, "API_THROTTLE_RATES", {})}
        return rates[self.scope]

    def applies(self, request) -> bool:
        return (
            self.applies_to_safe_methods
            if request.method in SAFE_METHODS
            else self.applies_to_unsafe_methods
        )

    def get_cache_key(self, request, view):
        if not self.applies(request):
            return None
        if isinstance(request.auth, AccessToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return f"api-throttle:{self.scope}:{ident}"


class AnonThrottle(ScopedThrottle):
    """Anonymous callers, by IP, for every method."""

    scope = "anon"

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            return None
        return f"api-throttle:anon:ip-{self.get_ident(request)}"


class ReadThrottle(ScopedThrottle):
    scope = "read"
    applies_to_unsafe_methods = False


class WriteThrottle(ScopedThrottle):
    scope = "write"
    applies_to_safe_methods = False


class UploadThrottle(ScopedThrottle):
    """Per person, whichever token (or session) they use: new tokens must not reset it."""

    scope = "upload"
    applies_to_safe_methods = False

    def get_cache_key(self, request, view):
        if not self.applies(request) or not (request.user and request.user.is_authenticated):
            return super().get_cache_key(request, view)
        return f"api-throttle:{self.scope}:user-{request.user.pk}"


DEFAULT_THROTTLES = [AnonThrottle, ReadThrottle, WriteThrottle]
UPLOAD_THROTTLES = [AnonThrottle, ReadThrottle, UploadThrottle]
