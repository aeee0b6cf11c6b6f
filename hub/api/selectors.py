"""Reads for the API's own data."""

from django.db.models import Q
from django.utils import timezone

from .models import AccessToken, WebhookDelivery, WebhookEndpoint
from .services import token_hash


def token_get_by_raw(*, raw: str) -> AccessToken | None:
    return AccessToken.objects.select_related("user").filter(key_hash=token_hash(raw)).first()


def token_is_usable(*, token: AccessToken) -> bool:
    if token.revoked_at is not None:
        return False
    return token.expires_at is None or token.expires_at > timezone.now()


def token_list_for_user(*, user):
    return AccessToken.objects.filter(user=user).order_by("revoked_at", "-created_at")


def token_list_active_for_user(*, user):
    now = timezone.now()
    return AccessToken.objects.filter(user=user, revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def webhook_endpoint_list_for_user(*, user):
    return WebhookEndpoint.objects.filter(user=user)


def webhook_endpoint_list_for_event(*, user, event: str) -> list[WebhookEndpoint]:
    # JSON "contains" is not portable to SQLite; a user has at most a handful of endpoints.
    return [
        e for e in WebhookEndpoint.objects.filter(user=user, is_active=True) if event in e.events
    ]


def webhook_delivery_list(*, endpoint, limit: int = 20):
    return WebhookDelivery.objects.filter(endpoint=endpoint)[:limit]
