"""Traces (upload, state) and their diagnoses."""

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from hub.traces.selectors import diagnosis_latest, diagnosis_list, trace_get_for_user
from hub.traces.services import question_ask_with_trace, trace_upload

from .. import serializers as s
from ..base import ApiView
from ..models import SCOPE_READ, SCOPE_TRACES, SCOPE_WRITE, AccessToken
from ..permissions import IsAuthenticated, TokenHasScope
from ..selectors import trace_list_for_owner
from ..throttling import UPLOAD_THROTTLES
from .common import CURSOR_PARAMS, paginated_response, validated_input, validated_query
from .questions import question_visible

EXAMPLE_TRACE = {
    "id": 42,
    "state": "queued",
    "failure_reason": "",
    "is_private": False,
    "question_id": 7,
    "question_url": "https://gradhub.example/questions/7/loss-stays-flat/",
    "url": "https://gradhub.example/traces/42/",
    "sha256": "0341bb0e2b1e18ba899316dbf8aa52680bc81ed8bfce6dfbffcd1cfa3fc8aaed",
    "size_bytes": 13620,
    "original_name": "run.trace",
    "created_at": "2026-11-29T12:00:00Z",
    "state_changed_at": "2026-11-29T12:00:00Z",
    "diagnosis_id": None,
}
EXAMPLE_FINDING = {
    "code": "missing_zero_grad",
    "severity": "error",
    "title": "Gradients accumulate across optimizer steps",
    "summary": ".grad is never cleared, so every step adds to the previous gradients.",
    "fix": {
        "text": "Call optimizer.zero_grad() before loss.backward().",
        "code": "optimizer.zero_grad()\nloss.backward()\noptimizer.step()",
    },
    "glossary": ["zero-grad"],
    "confidence": 0.95,
}
EXAMPLE_DIAGNOSIS = {
    "id": 9,
    "trace_id": 42,
    "question_id": 7,
    "engine_version": "1.0",
    "summary": "1 error: gradients accumulate across optimizer steps.",
    "healthy": False,
    "findings": [EXAMPLE_FINDING],
    "report_markdown": "**Gradient Doctor · automated diagnosis** ...",
    "plots": [
        {
            "name": "grad-norms",
            "url": "https://gradhub.example/traces/42/plots/grad-norms.svg",
        }
    ],
    "answer_url": "https://gradhub.example/questions/7/loss-stays-flat/#answer-12",
    "created_at": "2026-11-29T12:00:05Z",
}

# Reading traces takes the read or the traces scope; uploading one, the traces scope.
TRACE_SCOPES = {
    "GET": (SCOPE_READ, SCOPE_TRACES),
    "HEAD": (SCOPE_READ, SCOPE_TRACES),
    "OPTIONS": (SCOPE_READ, SCOPE_TRACES),
    "POST": (SCOPE_TRACES,),
}


class TraceListView(ApiView):
    token_scopes = TRACE_SCOPES
    permission_classes = [TokenHasScope, IsAuthenticated]
    throttle_classes = UPLOAD_THROTTLES
    parser_classes = [MultiPartParser, FormParser]
    cursor_ordering = ("-created_at", "-id")

    @extend_schema(
        summary="Your traces, newest first",
        operation_id="traces_list",
        parameters=CURSOR_PARAMS,
        responses={200: paginated_response(s.TraceSerializer)},
        tags=["traces"],
    )
    def get(self, request):
        return self.paginated(trace_list_for_owner(owner=request.user), s.TraceSerializer)

    @extend_schema(
        summary="Upload a trace: to your question, with a new question, or privately",
        description=(
            "multipart/form-data. Give `question` to attach to one of your questions, or "
            "`title` + `body` (+ `tags`) to ask a new question with the trace (needs the "
            "`write` scope as well as `traces`), or `private=true` for a private diagnosis. "
            "The diagnosis runs in the background: poll `GET /traces/{id}/` until `state` is "
            "`diagnosed` or `failed`, or register a `diagnosis.ready` webhook."
        ),
        request={"multipart/form-data": s.TraceUploadInputSerializer},
        responses={201: s.TraceSerializer},
        examples=[
            OpenApiExample("Queued", value=EXAMPLE_TRACE, response_only=True, status_codes=["201"])
        ],
        tags=["traces"],
    )
    def post(self, request):
        data = validated_input(s.TraceUploadInputSerializer, request)
        # The input serializer lets through a new question's title or a question id, not both.
        if "title" in data:
            token = request.auth
            if isinstance(token, AccessToken) and not token.has_scope(SCOPE_WRITE):
                raise PermissionDenied(
                    "Asking a new question needs a token with the write scope too."
                )
            _, trace = question_ask_with_trace(
                author=request.user,
                title=data["title"],
                body=data["body"],
                tags=data.get("tags", []),
                trace_file=data["file"],
                rank_files=data["rank_files"],
            )
        else:
            question = None
            if "question" in data:
                question = question_visible(request=request, question_id=data["question"])
            trace = trace_upload(
                owner=request.user,
                uploaded_file=data["file"],
                question=question,
                private=data["private"],
                rank_files=data["rank_files"],
            )
        trace.refresh_from_db()
        return Response(s.TraceSerializer(trace, context={"request": request}).data, status=201)


class TraceDetailView(ApiView):
    token_scopes = TRACE_SCOPES
    permission_classes = [TokenHasScope, AllowAny]

    @extend_schema(
        summary="A trace's state (poll until diagnosed or failed)",
        responses={200: s.TraceSerializer},
        tags=["traces"],
    )
    def get(self, request, trace_id: int):
        trace = trace_get_for_user(user=request.user, trace_id=trace_id)
        return Response(s.TraceSerializer(trace, context={"request": request}).data)


class TraceDiagnosisView(ApiView):
    token_scopes = TRACE_SCOPES
    permission_classes = [TokenHasScope, AllowAny]

    @extend_schema(
        summary="The latest diagnosis of a trace: findings and plot links",
        responses={200: s.DiagnosisSerializer},
        examples=[
            OpenApiExample(
                "An error finding",
                value=EXAMPLE_DIAGNOSIS,
                response_only=True,
                status_codes=["200"],
            )
        ],
        tags=["traces"],
    )
    def get(self, request, trace_id: int):
        trace = trace_get_for_user(user=request.user, trace_id=trace_id)
        diagnosis = diagnosis_latest(trace=trace)
        if diagnosis is None:
            raise Http404
        return Response(s.DiagnosisSerializer(diagnosis, context={"request": request}).data)


class DiagnosisListView(ApiView):
    token_scopes = TRACE_SCOPES
    cursor_ordering = ("-created_at", "-id")

    @extend_schema(
        summary="Diagnoses of public traces, optionally with a finding code",
        parameters=[s.DiagnosisListQuerySerializer, *CURSOR_PARAMS],
        responses={200: paginated_response(s.DiagnosisSerializer)},
        examples=[],
        tags=["traces"],
    )
    def get(self, request):
        query = validated_query(s.DiagnosisListQuerySerializer, request)
        diagnoses = diagnosis_list(code=query.get("code") or None).select_related("answer")
        return self.paginated(diagnoses, s.DiagnosisSerializer)
