"""Questions: the list row, the whole thread, and what asking or editing one sends."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .answers import AnswerWithCommentsSerializer
from .comments_votes import CommentSerializer
from .fields import (
    BODY_MAX_LENGTH,
    BODY_MIN_LENGTH,
    TAG_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    TITLE_MIN_LENGTH,
    absolute,
    tag_list_field,
    text_field,
)
from .users import UserSummarySerializer


class QuestionSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.SerializerMethodField()
    author = UserSummarySerializer()
    tags = serializers.SerializerMethodField()
    score = serializers.IntegerField()
    answer_count = serializers.IntegerField(
        help_text="Visible answers by people; the Gradient Doctor's diagnosis is not counted."
    )
    view_count = serializers.IntegerField()
    is_solved = serializers.SerializerMethodField()
    is_closed = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    last_activity_at = serializers.DateTimeField()

    def get_url(self, question) -> str:
        return absolute(self.context.get("request"), question.get_absolute_url())

    def get_tags(self, question) -> list[str]:
        return [tag.name for tag in question.tags.all()]

    def get_is_solved(self, question) -> bool:
        return question.accepted_answer_id is not None


class QuestionDetailSerializer(QuestionSummarySerializer):
    body = serializers.CharField()
    body_html = serializers.CharField()
    accepted_answer_id = serializers.IntegerField(allow_null=True)
    close_reason = serializers.CharField()
    duplicate_of_id = serializers.IntegerField(allow_null=True)
    updated_at = serializers.DateTimeField()
    comments = serializers.SerializerMethodField()
    answers = serializers.SerializerMethodField()
    trace_ids = serializers.SerializerMethodField()

    @extend_schema_field(CommentSerializer(many=True))
    def get_comments(self, question):
        comments = self.context.get("question_comments", [])
        return CommentSerializer(comments, many=True, context=self.context).data

    @extend_schema_field(AnswerWithCommentsSerializer(many=True))
    def get_answers(self, question):
        answers = self.context.get("answers", [])
        for answer in answers:
            answer.question = question
        return AnswerWithCommentsSerializer(answers, many=True, context=self.context).data

    def get_trace_ids(self, question) -> list[int]:
        return list(self.context.get("trace_ids", []))


class QuestionCreateInputSerializer(serializers.Serializer):
    title = text_field(min_length=TITLE_MIN_LENGTH, max_length=TITLE_MAX_LENGTH)
    body = text_field(min_length=BODY_MIN_LENGTH, max_length=BODY_MAX_LENGTH, help_text="Markdown.")
    tags = tag_list_field(
        default=list, help_text="Lower-case tag names, e.g. ['vanishing-gradients', 'lstm']."
    )


class QuestionEditInputSerializer(serializers.Serializer):
    title = text_field(min_length=TITLE_MIN_LENGTH, max_length=TITLE_MAX_LENGTH, required=False)
    body = text_field(min_length=BODY_MIN_LENGTH, max_length=BODY_MAX_LENGTH, required=False)
    tags = tag_list_field(required=False)


class QuestionListQuerySerializer(serializers.Serializer):
    tag = serializers.CharField(required=False, allow_blank=True, max_length=TAG_MAX_LENGTH)
    finding = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="Only questions whose traces had this finding.",
    )
    solved = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: accepted answer."
    )
    unanswered = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: no answers yet."
    )
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Full-text search (best matches first).",
    )
