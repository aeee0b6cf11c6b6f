"""Traces and their diagnoses."""

from django.urls import NoReverseMatch, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from hub.traces.selectors import diagnosis_latest

from .fields import (
    BODY_MAX_LENGTH,
    BODY_MIN_LENGTH,
    TITLE_MAX_LENGTH,
    TITLE_MIN_LENGTH,
    absolute,
    tag_list_field,
    text_field,
)


class FixSerializer(serializers.Serializer):
    text = serializers.CharField()
    code = serializers.CharField(
        required=False, allow_blank=True, help_text="A Python snippet showing the change."
    )


class FindingSerializer(serializers.Serializer):
    code = serializers.CharField()
    severity = serializers.ChoiceField(choices=["error", "warning", "info"])
    title = serializers.CharField()
    summary = serializers.CharField(required=False, allow_blank=True)
    evidence = serializers.JSONField(required=False)
    fix = FixSerializer(required=False)
    glossary = serializers.ListField(child=serializers.CharField(), required=False)
    confidence = serializers.FloatField(required=False)


class PlotLinkSerializer(serializers.Serializer):
    name = serializers.CharField()
    url = serializers.URLField()


# The verified fixes (analysis.replay.verify) as the API shows them: "pending" until the replay
# task has run, then its result.
REPLAY_SCHEMA = {
    "type": "object",
    "properties": {
        "state": {"type": "string", "enum": ["pending", "done"]},
        "reproduced": {"type": "boolean", "nullable": True},
        "why": {"type": "string"},
        "steps": {"type": "integer", "nullable": True},
        "fixes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "finding": {"type": "string"},
                    "fix": {"type": "string"},
                    "title": {"type": "string"},
                    "verdict": {
                        "type": "string",
                        "enum": ["resolves", "partial", "no_effect", "worse"],
                    },
                    "before": {"type": "object", "additionalProperties": True},
                    "after": {"type": "object", "additionalProperties": True},
                    "diff": {"type": "string"},
                },
                "required": ["finding", "fix", "title", "verdict", "before", "after", "diff"],
            },
        },
    },
    "required": ["state", "reproduced", "why", "steps", "fixes"],
}


def replay_data(diagnosis) -> dict:
    """The diagnosis's verified fixes for the API and webhooks."""
    if not diagnosis.replay_done:
        return {"state": "pending", "reproduced": None, "why": "", "steps": None, "fixes": []}
    replay = (diagnosis.replay or {}).get("replay") or {}
    return {
        "state": "done",
        "reproduced": bool(replay.get("reproduced")),
        "why": str(replay.get("why", "")),
        "steps": replay.get("steps"),
        "fixes": list(replay.get("fixes") or []),
    }


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
    replay = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    @extend_schema_field(REPLAY_SCHEMA)
    def get_replay(self, diagnosis) -> dict:
        return replay_data(diagnosis)

    @extend_schema_field(FindingSerializer(many=True))
    def get_findings(self, diagnosis):
        return [dict(finding) for finding in diagnosis.findings]

    @extend_schema_field(PlotLinkSerializer(many=True))
    def get_plots(self, diagnosis):
        request = self.context.get("request")
        links = []
        for name in sorted(diagnosis.plots or {}):
            try:
                path = reverse("traces:plot", kwargs={"trace_id": diagnosis.trace_id, "name": name})
            except NoReverseMatch:
                continue
            links.append({"name": name, "url": absolute(request, path)})
        return links

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
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

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_question_url(self, trace) -> str | None:
        if trace.question_id is None:
            return None
        return absolute(self.context.get("request"), trace.question.get_absolute_url())

    def get_url(self, trace) -> str:
        return absolute(self.context.get("request"), trace.get_absolute_url())

    @extend_schema_field(OpenApiTypes.INT)
    def get_diagnosis_id(self, trace) -> int | None:
        diagnosis = diagnosis_latest(trace=trace)
        return diagnosis.pk if diagnosis else None


class TraceUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The .trace file written by python -m traces.capture.")
    rank_files = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        default=list,
        help_text="A distributed run's other ranks (run.rank1.trace, run.rank2.trace, … in "
        "rank order; `file` is rank 0): stored with it, compared by its diagnosis.",
    )
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
