"""Answers."""

from rest_framework import serializers

from .comments_votes import CommentSerializer
from .fields import ANSWER_MIN_LENGTH, BODY_MAX_LENGTH, absolute, text_field
from .users import UserSummarySerializer


class AnswerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    question_id = serializers.IntegerField()
    author = UserSummarySerializer()
    body = serializers.CharField()
    body_html = serializers.CharField()
    score = serializers.IntegerField()
    is_accepted = serializers.SerializerMethodField()
    is_automated = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField()

    def get_is_accepted(self, answer) -> bool:
        return answer.question.accepted_answer_id == answer.pk

    def get_url(self, answer) -> str:
        return absolute(self.context.get("request"), answer.get_absolute_url())


class AnswerWithCommentsSerializer(AnswerSerializer):
    comments = CommentSerializer(many=True, source="comments.all")


class AnswerInputSerializer(serializers.Serializer):
    body = text_field(
        min_length=ANSWER_MIN_LENGTH, max_length=BODY_MAX_LENGTH, help_text="Markdown."
    )


class AnswerEditInputSerializer(serializers.Serializer):
    body = text_field(
        min_length=ANSWER_MIN_LENGTH,
        max_length=BODY_MAX_LENGTH,
        required=False,
        help_text="Markdown; omitted, the answer stays as it is.",
    )
