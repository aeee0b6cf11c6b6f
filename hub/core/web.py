"""Small helpers every app's views share: the client's address, per-IP limits, error pages."""

import ipaddress

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import BadRequest
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from hub.core.ratelimit import RateLimited, rate_limit

# Posts (questions, answers, comments) per client address and hour through the web forms.
RATE_IP_POST = (60, 3600)

# Control characters nobody means to type; tab, newline and carriage return they do. The
# search snippets' markers are made of them (forum.selectors), so user text must not hold them.
_CONTROL_CHARACTERS = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))


class BadInput(BadRequest):
    """Input no page can use; its message is for the person (handler400 shows it)."""


def control_strip(value: str) -> str:
    return (value or "").translate(_CONTROL_CHARACTERS)


def text_param(params, name: str, default: str = "") -> str:
    """A text parameter of request.GET or request.POST, control characters dropped. A NUL is
    BadInput (a 400 page), as Django's form fields refuse it: PostgreSQL refuses it in text."""
    value = params.get(name, default)
    if "\x00" in value:
        raise BadInput(f"“{name}” holds a NUL control character: remove it and try again.")
    return control_strip(value)


def client_ip(request) -> str:
    """REMOTE_ADDR, or behind settings.TRUSTED_PROXY_COUNT proxies the X-Forwarded-For entry
    that many places from the right.

    Each proxy appends the address it received the request from, so only the entries our own
    proxies added are trustworthy; the client can write anything to their left (the first
    entry included) to escape its per-IP limits. A short or malformed header falls back to
    REMOTE_ADDR.
    """
    remote = request.META.get("REMOTE_ADDR") or "unknown"
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    entries = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    if proxies <= 0 or len(entries) < proxies:
        return remote
    try:
        return str(ipaddress.ip_address(entries[-proxies].strip()))
    except ValueError:
        return remote


def ip_limit(request, *, scope: str, rule: tuple[int, int]) -> None:
    limit, period = rule
    rate_limit(scope=scope, key=f"ip:{client_ip(request)}", limit=limit, period_seconds=period)


def render_error(request, *, status: int, message: str, title: str | None = None, headers=None):
    """The 403/404/429 page (or a short text for htmx and JSON callers)."""
    titles = {400: "That did not work", 403: "Not allowed", 404: "Not found", 429: "Slow down"}
    if request.headers.get("HX-Request") or "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse({"error": message}, status=status)
    else:
        response = render(
            request,
            "forum/error.html",
            {"title": title or titles.get(status, "Error"), "message": message, "status": status},
            status=status,
        )
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def bad_request(request, exception=None):
    """handler400: the site's error page; only BadInput's message is meant to be shown."""
    message = str(exception) if isinstance(exception, BadInput) else ""
    return render_error(request, status=400, message=message or "The request was malformed.")


def rate_limited_response(request, error: RateLimited):
    return render_error(
        request, status=429, message=str(error), headers={"Retry-After": str(error.retry_after)}
    )


def login_then(request, next_url: str):
    """Send an anonymous visitor to log in and back to `next_url` (htmx: a full redirect)."""
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = redirect_to_login(next_url).url
        return response
    return redirect_to_login(next_url)


def safe_next_url(request, fallback: str) -> str:
    """The ``next`` parameter when it points at this site, else ``fallback`` (no open redirect)."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback
