"""Notifications."""

from rest_framework import serializers

from .fields import absolute


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    verb = serializers.CharField()
    text = serializers.CharField()
    url = serializers.SerializerMethodField()
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
    question_id = serializers.IntegerField(allow_null=True)
    is_read = serializers.BooleanField()
    created_at = serializers.DateTimeField()

    def get_url(self, notification) -> str:
        return absolute(self.context.get("request"), notification.url)


class NotificationListQuerySerializer(serializers.Serializer):
    unread = serializers.BooleanField(required=False, allow_null=True, default=None)


class MarkedReadSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many notifications changed to read.")
