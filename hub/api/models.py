"""Personal access tokens and outgoing webhooks.

A token is shown once, when created; only its SHA-256 and a short display prefix are stored.
A webhook secret must be stored in clear text because the server signs every delivery with it.
"""

import uuid

from django.conf import settings
from django.db import models

# Our own prefix, recognisable by secret scanners (GitHub's ghp_ made them report GitHub tokens).
TOKEN_PREFIX = "gradhub_"
LEGACY_TOKEN_PREFIXES = ("ghp_",)  # tokens issued before; looked up by hash like any other
SCOPE_READ = "read"
SCOPE_WRITE = "write"
SCOPE_TRACES = "traces"
SCOPES = {
    SCOPE_READ: "Read questions, answers, notifications, traces and diagnoses",
    SCOPE_WRITE: "Ask, answer, comment, vote, accept, mark notifications read, lesson, webhooks",
    SCOPE_TRACES: "Upload traces and follow their diagnosis",
}

EVENT_DIAGNOSIS_READY = "diagnosis.ready"
EVENT_DIAGNOSIS_REPLAYED = "diagnosis.replayed"
EVENT_PING = "ping"
WEBHOOK_EVENTS = {
    EVENT_DIAGNOSIS_READY: "A diagnosis of one of your traces is ready",
    EVENT_DIAGNOSIS_REPLAYED: "The fixes of a diagnosis were verified by replaying the model",
    EVENT_PING: "A test delivery sent from the settings page",
}


class AccessToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens"
    )
    name = models.CharField(max_length=100)
    # The prefix + the first 8 characters of the secret: enough to recognise a token in a list.
    display_prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)  # sha256 hex of the whole token
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.display_prefix}…)"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class WebhookEndpoint(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=100)
    events = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(max_length=50)
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    # One entry per attempt: {"at", "status_code", "error", "duration_ms"}.
    attempts = models.JSONField(default=list)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint.url} ({self.state})"
