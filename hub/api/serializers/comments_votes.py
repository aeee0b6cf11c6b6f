"""Comments on questions and answers, and votes on them."""

from rest_framework import serializers

from .fields import COMMENT_MAX_LENGTH, COMMENT_MIN_LENGTH, StrictIntegerField, text_field
from .users import UserSummarySerializer


class CommentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = UserSummarySerializer()
    body = serializers.CharField()
    body_html = serializers.CharField()
    question_id = serializers.IntegerField(allow_null=True)
    answer_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class CommentInputSerializer(serializers.Serializer):
    body = text_field(min_length=COMMENT_MIN_LENGTH, max_length=COMMENT_MAX_LENGTH)


class VoteInputSerializer(serializers.Serializer):
    value = StrictIntegerField(
        min_value=-1, max_value=1, help_text="1 up, -1 down, 0 withdraws your vote."
    )


class VoteResultSerializer(serializers.Serializer):
    score = serializers.IntegerField()
    value = serializers.IntegerField()
