"""Reads for the API's own data, and the API's lists of questions and traces."""

from django.db.models import Q
from django.utils import timezone

from hub.forum.selectors import UNANSWERED, question_list
from hub.traces.models import Trace

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


def question_list_filtered(*, viewer, tag=None, finding=None, solved=None, unanswered=None):
    """The newest questions `viewer` may see, narrowed by the API's list filters (None or an
    empty string: no filter); `finding` keeps questions whose traces had that finding."""
    questions = question_list(sort="newest", tag=tag, viewer=viewer)
    if finding:
        questions = questions.filter(traces__diagnoses__finding_rows__code=finding).distinct()
    if solved is not None:
        questions = questions.filter(accepted_answer__isnull=not solved)
    if unanswered is not None:
        questions = questions.filter(UNANSWERED) if unanswered else questions.exclude(UNANSWERED)
    return questions


def trace_list_for_owner(*, owner):
    return Trace.objects.filter(owner=owner).select_related("question")
