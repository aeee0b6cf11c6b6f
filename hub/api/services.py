"""Writes for the API's own data: personal access tokens and webhook endpoints."""

import hashlib
import ipaddress
import secrets
import socket
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db.models import Q
from django.utils import timezone

from hub.core.ratelimit import rate_limit

from .models import SCOPES, TOKEN_PREFIX, WEBHOOK_EVENTS, AccessToken, WebhookEndpoint

TOKEN_SECRET_BYTES = 30  # 240 bits of randomness, 40 url-safe characters
TOKEN_DISPLAY_CHARS = 8
TOKEN_NAME_MAX = 100
TOKEN_MAX_EXPIRY_DAYS = 366
# Tokens that are live or were created in the last day (revoked or not): revoking does not free
# a place at once, so create-and-revoke cannot mint tokens without end.
MAX_TOKENS_PER_USER = 50
TOKEN_CAP_WINDOW = timedelta(days=1)
TOKENS_PER_HOUR = 10  # created per person and hour, from every entry point
MAX_WEBHOOKS_PER_USER = 10
WEBHOOK_SECRET_BYTES = 24
WEBHOOK_URL_MAX_LENGTH = 500
WEBHOOK_URL_MESSAGE = "Webhook URLs must start with http:// or https:// and name a host."
_webhook_url_syntax = URLValidator(schemes=["http", "https"], message=WEBHOOK_URL_MESSAGE)
# last_used_at is written at most this often per token: a busy script must not turn every
# request into an UPDATE.
LAST_USED_WRITE_INTERVAL = timedelta(minutes=1)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def scopes_parse(*, scopes) -> list[str]:
    """A clean, ordered scope list from a list or a comma-separated string."""
    if isinstance(scopes, str):
        scopes = [part.strip() for part in scopes.split(",")]
    chosen = [scope for scope in scopes if scope]
    unknown = sorted(set(chosen) - set(SCOPES))
    if unknown:
        raise ValidationError(
            f"Unknown scope {', '.join(unknown)}: choose from {', '.join(SCOPES)}."
        )
    if not chosen:
        raise ValidationError(f"Choose at least one scope: {', '.join(SCOPES)}.")
    return [scope for scope in SCOPES if scope in chosen]


def token_create(
    *, user, name: str, scopes, expires_days: int | None = None
) -> tuple[AccessToken, str]:
    """Create a token; returns it with the raw secret, which is never stored or shown again."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("Give the token a name, e.g. the machine or job that will use it.")
    if len(name) > TOKEN_NAME_MAX:
        raise ValidationError(f"Token names are at most {TOKEN_NAME_MAX} characters.")
    scope_list = scopes_parse(scopes=scopes)
    expires_at = None
    if expires_days is not None:
        if not 1 <= expires_days <= TOKEN_MAX_EXPIRY_DAYS:
            raise ValidationError(
                f"Expiry must be between 1 and {TOKEN_MAX_EXPIRY_DAYS} days (or none)."
            )
        expires_at = timezone.now() + timedelta(days=expires_days)
    counted = AccessToken.objects.filter(user=user).filter(
        Q(revoked_at__isnull=True) | Q(created_at__gte=timezone.now() - TOKEN_CAP_WINDOW)
    )
    if counted.count() >= MAX_TOKENS_PER_USER:
        raise PermissionDenied(
            f"You have {MAX_TOKENS_PER_USER} tokens that are active or were created in the last "
            "day, the maximum: revoke one you no longer use (revoked ones count for a day)."
        )
    rate_limit(
        scope="token-create", key=f"user:{user.pk}", limit=TOKENS_PER_HOUR, period_seconds=3600
    )
    secret = secrets.token_urlsafe(TOKEN_SECRET_BYTES)
    raw = f"{TOKEN_PREFIX}{secret}"
    token = AccessToken.objects.create(
        user=user,
        name=name,
        display_prefix=f"{TOKEN_PREFIX}{secret[:TOKEN_DISPLAY_CHARS]}",
        key_hash=token_hash(raw),
        scopes=scope_list,
        expires_at=expires_at,
    )
    return token, raw


def token_revoke(*, user, token: AccessToken) -> AccessToken:
    if token.user_id != user.pk:
        raise PermissionDenied("You can only revoke your own tokens.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def token_touch(*, token: AccessToken) -> None:
    """Record use, at most once per LAST_USED_WRITE_INTERVAL."""
    now = timezone.now()
    if token.last_used_at and now - token.last_used_at < LAST_USED_WRITE_INTERVAL:
        return
    AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


def webhook_url_syntax_check(value: str) -> None:
    """The one check of a webhook URL's form (a Django validator): the settings form, the API's
    serializer and webhook_url_validate all use it, so they accept the same URLs."""
    if len(value) > WEBHOOK_URL_MAX_LENGTH:
        raise ValidationError(f"Webhook URLs are at most {WEBHOOK_URL_MAX_LENGTH} characters.")
    _webhook_url_syntax(value)
    try:
        port = urlsplit(value).port
    except ValueError:  # past 65535: URLValidator lets any five digits through
        port = 0
    if port == 0:
        raise ValidationError(WEBHOOK_URL_MESSAGE)


def webhook_url_validate(*, url: str, resolve: bool = True) -> str:
    """Only http(s); outside development no loopback, private, link-local or reserved hosts."""
    url = (url or "").strip()
    webhook_url_syntax_check(url)
    if getattr(settings, "WEBHOOK_ALLOW_PRIVATE_HOSTS", True) or not resolve:
        return url
    parts = urlsplit(url)
    host_addresses_check(host=parts.hostname, port=parts.port)
    return url


# IPv6 forms that carry an IPv4 address in their last 32 bits (NAT64 and IPv4-compatible):
# public by Python's reckoning, but they reach whatever IPv4 address they embed.
IPV4_EMBEDDING_NETWORKS = [
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("::/96"),
]


def address_is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable and unicast, and so is any IPv4 address it embeds (mapped, NAT64,
    IPv4-compatible, 6to4, Teredo)."""
    if not address.is_global or address.is_multicast:
        return False
    if address.version == 4:
        return True
    embedded = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if any(address in network for network in IPV4_EMBEDDING_NETWORKS):
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return all(address_is_public(inner) for inner in embedded if inner is not None)


def host_addresses_check(*, host: str, port: int | None) -> list[str]:
    """Resolve `host` once; refuse it if any address is not public (SSRF protection). Returns
    the addresses, for the caller to connect to one of them rather than look the name up again
    (which a rebinding DNS server could answer with a private address)."""
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise ValidationError(f"The webhook host {host!r} does not resolve.") from exc
    addresses = [info[4][0].split("%")[0] for info in infos]
    if not addresses or not all(address_is_public(ipaddress.ip_address(a)) for a in addresses):
        raise ValidationError(
            f"The webhook host {host!r} is a private or local address; "
            "webhooks must reach a public server."
        )
    return addresses


def webhook_events_parse(*, events) -> list[str]:
    chosen = [event for event in (events or []) if event]
    unknown = sorted(set(chosen) - set(WEBHOOK_EVENTS))
    if unknown:
        raise ValidationError(
            f"Unknown event {', '.join(unknown)}: choose from {', '.join(WEBHOOK_EVENTS)}."
        )
    if not chosen:
        raise ValidationError("Choose at least one event.")
    return [event for event in WEBHOOK_EVENTS if event in chosen]


def webhook_endpoint_create(*, user, url: str, events) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint; returns it with its signing secret (shown to the user once)."""
    url = webhook_url_validate(url=url)
    event_list = webhook_events_parse(events=events)
    if WebhookEndpoint.objects.filter(user=user).count() >= MAX_WEBHOOKS_PER_USER:
        raise PermissionDenied(
            f"You can have at most {MAX_WEBHOOKS_PER_USER} webhook endpoints: delete one first."
        )
    secret = f"whsec_{secrets.token_urlsafe(WEBHOOK_SECRET_BYTES)}"
    endpoint = WebhookEndpoint.objects.create(user=user, url=url, secret=secret, events=event_list)
    return endpoint, secret


def webhook_endpoint_update(
    *, user, endpoint: WebhookEndpoint, is_active: bool | None = None, events=None
) -> WebhookEndpoint:
    if endpoint.user_id != user.pk:
        raise PermissionDenied("You can only change your own webhook endpoints.")
    fields = []
    if is_active is not None:
        endpoint.is_active = is_active
        fields.append("is_active")
    if events is not None:
        endpoint.events = webhook_events_parse(events=events)
        fields.append("events")
    if fields:
        endpoint.save(update_fields=fields)
    return endpoint


def webhook_endpoint_delete(*, user, endpoint: WebhookEndpoint) -> None:
    if endpoint.user_id != user.pk:
        raise PermissionDenied("You can only delete your own webhook endpoints.")
    endpoint.delete()
