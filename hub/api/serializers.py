"""Explicit input serializers (what a request may send) and output serializers (what it gets).

Input serializers only check shape and bounds so the schema is precise; the services decide
everything else (permissions, limits, business rules) exactly as for the web pages.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import SCOPES, WEBHOOK_EVENTS

# Bounds mirror hub/forum/services.py and hub/forum/models.py (the services enforce them).
TITLE_MIN_LENGTH = 10
TITLE_MAX_LENGTH = 150
BODY_MIN_LENGTH = 20
BODY_MAX_LENGTH = 30_000
ANSWER_MIN_LENGTH = 10
COMMENT_MIN_LENGTH = 5
COMMENT_MAX_LENGTH = 600
MAX_TAGS = 5
TAG_MAX_LENGTH = 35
TAG_PATTERN = r"^[a-z0-9][a-z0-9.+#-]*$"


# Python's str.strip() also removes \x1c-\x1f and \x85, which JSON Schema's \s does not match.
_SPACE = r"[\s\x1c-\x1f\x85]"
_NONSPACE = r"[^\s\x1c-\x1f\x85]"


def trimmed_length_validator(min_length: int) -> RegexValidator:
    """At least `min_length` characters once surrounding whitespace is stripped, as a pattern
    (so the schema says what the services check after strip())."""
    return RegexValidator(
        rf"^{_SPACE}*{_NONSPACE}[\s\S]{{{min_length - 2},}}{_NONSPACE}{_SPACE}*$",
        message=f"Ensure this field has at least {min_length} characters besides spaces.",
    )


class StrictCharField(serializers.CharField):
    """A JSON string: numbers and booleans are refused rather than turned into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: "1", 1.0 and true are refused."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean: "true", 1 and "yes" are refused."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


def text_field(*, min_length: int, max_length: int, **kwargs) -> StrictCharField:
    return StrictCharField(
        min_length=min_length,
        max_length=max_length,
        validators=[trimmed_length_validator(min_length)],
        **kwargs,
    )


def tag_list_field(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=StrictRegexField(TAG_PATTERN, max_length=TAG_MAX_LENGTH),
        max_length=MAX_TAGS,
        **kwargs,
    )


class StrictRegexField(serializers.RegexField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def absolute(request, path: str) -> str:
    if request is not None:
        return request.build_absolute_uri(path)
    return settings.SITE_URL.rstrip("/") + path


# --- errors ----------------------------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable: validation_error, not_found, ...")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Per-field messages for validation errors; empty otherwise.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


# --- users -----------------------------------------------------------------------------------


class UserSummarySerializer(serializers.Serializer):
    username = serializers.CharField()
    reputation = serializers.SerializerMethodField()
    is_bot = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    def _profile(self, user):
        from hub.accounts.services import profile_get

        return profile_get(user=user)

    def get_reputation(self, user) -> int:
        return self._profile(user).reputation

    def get_is_bot(self, user) -> bool:
        return self._profile(user).is_bot

    def get_url(self, user) -> str:
        return absolute(self.context.get("request"), f"/users/{user.username}/")


class BadgeSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    level = serializers.ChoiceField(choices=["bronze", "silver", "gold"])


class UserProfileSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    reputation = serializers.IntegerField()
    is_bot = serializers.BooleanField(source="user.profile.is_bot")
    bio = serializers.CharField(source="user.profile.bio")
    date_joined = serializers.DateTimeField(source="user.date_joined")
    question_count = serializers.IntegerField()
    answer_count = serializers.IntegerField()
    accepted_count = serializers.IntegerField()
    badges = BadgeSerializer(many=True)
    url = serializers.SerializerMethodField()

    def get_url(self, page) -> str:
        return absolute(self.context.get("request"), f"/users/{page.user.username}/")


class MeSerializer(UserProfileSerializer):
    email = serializers.EmailField(source="user.email")
    is_moderator = serializers.BooleanField()
    token_scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=list(SCOPES)),
        allow_null=True,
        help_text="The scopes of the token used for this request (null for a browser session).",
    )


# --- tags ------------------------------------------------------------------------------------


class TagSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    question_count = serializers.IntegerField()


# --- questions, answers, comments ------------------------------------------------------------


class CommentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    author = UserSummarySerializer()
    body = serializers.CharField()
    body_html = serializers.CharField()
    question_id = serializers.IntegerField(allow_null=True)
    answer_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


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


class QuestionSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.SerializerMethodField()
    author = UserSummarySerializer()
    tags = serializers.SerializerMethodField()
    score = serializers.IntegerField()
    answer_count = serializers.IntegerField()
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


class CursorQuerySerializer(serializers.Serializer):
    """Documents the paging parameters (ApiCursorPagination reads and checks them)."""

    cursor = serializers.CharField(
        required=False, allow_blank=True, help_text="Opaque: take it from `next` or `previous`."
    )
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=100, help_text="Default 20."
    )


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


class CommentInputSerializer(serializers.Serializer):
    body = text_field(min_length=COMMENT_MIN_LENGTH, max_length=COMMENT_MAX_LENGTH)


class VoteInputSerializer(serializers.Serializer):
    value = StrictIntegerField(
        min_value=-1, max_value=1, help_text="1 up, -1 down, 0 withdraws your vote."
    )


class VoteResultSerializer(serializers.Serializer):
    score = serializers.IntegerField()
    value = serializers.IntegerField()


# --- notifications ---------------------------------------------------------------------------


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


# --- glossary --------------------------------------------------------------------------------


class TermSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    aliases = serializers.ListField(child=serializers.CharField())
    definition = serializers.CharField()
    definition_html = serializers.CharField()
    snippet = serializers.CharField()
    url = serializers.SerializerMethodField()

    def get_url(self, term) -> str:
        return absolute(self.context.get("request"), term.get_absolute_url())


class TermInputSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=80)
    name = text_field(min_length=2, max_length=100)
    aliases = serializers.ListField(
        child=StrictCharField(max_length=100), max_length=20, default=list
    )
    definition = text_field(min_length=2, max_length=20_000, help_text="Markdown.")
    snippet = StrictCharField(max_length=20_000, default="", allow_blank=True)
    expected_output = StrictCharField(max_length=20_000, default="", allow_blank=True)


class TermEditInputSerializer(serializers.Serializer):
    name = text_field(min_length=2, max_length=100, required=False)
    aliases = serializers.ListField(
        child=StrictCharField(max_length=100), max_length=20, required=False
    )
    definition = text_field(min_length=2, max_length=20_000, required=False)
    snippet = StrictCharField(max_length=20_000, required=False, allow_blank=True)
    expected_output = StrictCharField(max_length=20_000, required=False, allow_blank=True)


# --- the lesson ------------------------------------------------------------------------------


class LessonStepSummarySerializer(serializers.Serializer):
    number = serializers.IntegerField()
    title = serializers.CharField()
    kind = serializers.ChoiceField(choices=["choice", "numeric"])
    done = serializers.BooleanField()
    open = serializers.BooleanField(help_text="False while an earlier step is unanswered.")


class LessonProgressSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    total_steps = serializers.IntegerField()
    completed_steps = serializers.ListField(child=serializers.IntegerField())
    open_step = serializers.IntegerField(help_text="The first step not yet answered correctly.")
    attempts = serializers.IntegerField()
    is_complete = serializers.BooleanField()
    completed_at = serializers.DateTimeField(allow_null=True)
    steps = LessonStepSummarySerializer(many=True)
    url = serializers.URLField()


class LessonChoiceSerializer(serializers.Serializer):
    key = serializers.CharField()
    text = serializers.CharField()


class LessonStepSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    title = serializers.CharField()
    kind = serializers.ChoiceField(choices=["choice", "numeric"])
    explanation_html = serializers.CharField()
    prompt_html = serializers.CharField()
    code = serializers.CharField(allow_blank=True)
    choices = LessonChoiceSerializer(many=True)
    done = serializers.BooleanField()
    url = serializers.URLField()


class LessonAnswerInputSerializer(serializers.Serializer):
    answer = StrictCharField(
        max_length=100, help_text="An option key (choice steps) or a number such as 0.25."
    )


class LessonAnswerResultSerializer(serializers.Serializer):
    correct = serializers.BooleanField()
    message = serializers.CharField()
    expected = serializers.FloatField(allow_null=True, help_text="Shown after a right answer.")
    unlocked = serializers.ListField(child=serializers.CharField())
    feedback_html = serializers.CharField(allow_blank=True)
    progress = LessonProgressSerializer()


# --- traces and diagnoses --------------------------------------------------------------------


class FindingSerializer(serializers.Serializer):
    code = serializers.CharField()
    severity = serializers.ChoiceField(choices=["error", "warning", "info"])
    title = serializers.CharField()
    summary = serializers.CharField(required=False, allow_blank=True)
    evidence = serializers.JSONField(required=False)
    fix = serializers.CharField(required=False, allow_blank=True)
    glossary = serializers.ListField(child=serializers.CharField(), required=False)
    confidence = serializers.FloatField(required=False)


class PlotLinkSerializer(serializers.Serializer):
    name = serializers.CharField()
    url = serializers.URLField()


class DiagnosisSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    trace_id = serializers.IntegerField()
    question_id = serializers.IntegerField(source="trace.question_id", allow_null=True)
    engine_version = serializers.CharField()
    summary = serializers.CharField()
    healthy = serializers.BooleanField()
    findings = serializers.SerializerMethodField()
    report_markdown = serializers.CharField()
    plots = serializers.SerializerMethodField()
    answer_url = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(FindingSerializer(many=True))
    def get_findings(self, diagnosis):
        return [dict(finding) for finding in diagnosis.findings]

    @extend_schema_field(PlotLinkSerializer(many=True))
    def get_plots(self, diagnosis):
        from django.urls import NoReverseMatch, reverse

        request = self.context.get("request")
        links = []
        for name in sorted(diagnosis.plots or {}):
            try:
                path = reverse("traces:plot", kwargs={"trace_id": diagnosis.trace_id, "name": name})
            except NoReverseMatch:
                continue
            links.append({"name": name, "url": absolute(request, path)})
        return links

    @extend_schema_field(OpenApiTypes.URI)
    def get_answer_url(self, diagnosis) -> str | None:
        if diagnosis.answer_id is None:
            return None
        return absolute(self.context.get("request"), diagnosis.answer.get_absolute_url())


class TraceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.ChoiceField(
        choices=["uploaded", "queued", "replaying", "diagnosed", "failed"]
    )
    failure_reason = serializers.CharField()
    is_private = serializers.BooleanField()
    question_id = serializers.IntegerField(allow_null=True)
    question_url = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    sha256 = serializers.CharField()
    size_bytes = serializers.IntegerField()
    original_name = serializers.CharField()
    created_at = serializers.DateTimeField()
    state_changed_at = serializers.DateTimeField()
    diagnosis_id = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.URI)
    def get_question_url(self, trace) -> str | None:
        if trace.question_id is None:
            return None
        return absolute(self.context.get("request"), trace.question.get_absolute_url())

    def get_url(self, trace) -> str:
        return absolute(self.context.get("request"), trace.get_absolute_url())

    @extend_schema_field(OpenApiTypes.INT)
    def get_diagnosis_id(self, trace) -> int | None:
        from hub.traces.selectors import diagnosis_latest

        diagnosis = diagnosis_latest(trace=trace)
        return diagnosis.pk if diagnosis else None


class TraceUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The .trace file written by python -m traces.capture.")
    question = serializers.IntegerField(
        required=False, min_value=1, help_text="Attach to this question of yours."
    )
    title = text_field(
        min_length=TITLE_MIN_LENGTH,
        max_length=TITLE_MAX_LENGTH,
        required=False,
        help_text="Ask a new question with this title (needs the write scope too).",
    )
    body = text_field(min_length=BODY_MIN_LENGTH, max_length=BODY_MAX_LENGTH, required=False)
    tags = tag_list_field(required=False)
    private = serializers.BooleanField(
        required=False, default=False, help_text="Diagnose privately, attached to no question."
    )

    def validate(self, data):
        if "question" in data and "title" in data:
            raise serializers.ValidationError("Give either a question id or a new title, not both.")
        if "title" in data and "body" not in data:
            raise serializers.ValidationError({"body": "A new question needs a body."})
        if data.get("private") and ("question" in data or "title" in data):
            raise serializers.ValidationError(
                "A private trace is attached to no question: drop private or the question."
            )
        return data


class DiagnosisListQuerySerializer(serializers.Serializer):
    code = serializers.CharField(
        required=False, allow_blank=True, max_length=64, help_text="A finding code."
    )


class TextSearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=100)


# --- webhooks --------------------------------------------------------------------------------


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
