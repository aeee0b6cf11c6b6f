"""Tags."""

from rest_framework import serializers


class TagSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    question_count = serializers.IntegerField()
