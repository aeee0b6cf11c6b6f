import hashlib

from .presence import presence_touch

# Machine endpoints do not make anyone "online".
_SKIPPED_PREFIXES = ("/static/", "/media/", "/healthz", "/readyz", "/api/")


class PresenceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(_SKIPPED_PREFIXES):
            presence_touch(visitor=visitor_id(request))
        return response


def visitor_id(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"u:{user.pk}"
    raw = f"{request.META.get('REMOTE_ADDR', '')}|{request.META.get('HTTP_USER_AGENT', '')}"
    return "a:" + hashlib.sha256(raw.encode()).hexdigest()[:16]
