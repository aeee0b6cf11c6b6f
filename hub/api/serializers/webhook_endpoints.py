"""Webhook endpoints and their deliveries."""

from rest_framework import serializers

from ..models import WEBHOOK_EVENTS
from ..services import WEBHOOK_URL_MAX_LENGTH, webhook_url_syntax_check
from .fields import StrictBooleanField, StrictCharField


class WebhookEndpointSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=list(WEBHOOK_EVENTS)))
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="The signing secret: shown only in this response.")


class WebhookEndpointInputSerializer(serializers.Serializer):
    url = StrictCharField(
        max_length=WEBHOOK_URL_MAX_LENGTH,
        validators=[webhook_url_syntax_check],  # the settings form uses the same one
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
