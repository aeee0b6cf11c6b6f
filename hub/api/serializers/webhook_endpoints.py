"""Webhook endpoints and their deliveries."""

from django.core.validators import RegexValidator
from rest_framework import serializers

from ..models import WEBHOOK_EVENTS
from .fields import StrictBooleanField, StrictCharField


class WebhookEndpointSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=list(WEBHOOK_EVENTS)))
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="The signing secret: shown only in this response.")


# What the delivery needs: http(s), a host name or IPv4 address, an optional valid port.
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
WEBHOOK_URL_PATTERN = (
    rf"^https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:{_PORT})?([/?#][^\s]*)?$"
)


class WebhookEndpointInputSerializer(serializers.Serializer):
    url = StrictCharField(
        max_length=500,
        validators=[
            RegexValidator(WEBHOOK_URL_PATTERN, message="Enter an http:// or https:// URL.")
        ],
        help_text="http(s) only; in production not a private or loopback address.",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=list(WEBHOOK_EVENTS)),
        min_length=1,
        default=lambda: ["diagnosis.ready"],
    )


class WebhookEndpointEditInputSerializer(serializers.Serializer):
    is_active = StrictBooleanField(required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=list(WEBHOOK_EVENTS)), min_length=1, required=False
    )


class WebhookAttemptSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    duration_ms = serializers.IntegerField()


class WebhookDeliverySerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    event = serializers.CharField()
    state = serializers.ChoiceField(choices=["pending", "succeeded", "failed"])
    response_status = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    attempts = WebhookAttemptSerializer(many=True)
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
