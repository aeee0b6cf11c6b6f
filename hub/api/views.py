"""API views: validate input, call one service or selector, serialize the result.

Permissions, limits and business rules live in the services, shared with the web pages.
"""

import threading

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView, _get_sidecar_url
from rest_framework import serializers as drf_serializers
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse

from hub.traces.services import question_ask_with_trace, trace_upload

from . import serializers as s
from . import services, webhooks
from .base import ApiView
from .models import EVENT_PING, SCOPE_READ, SCOPE_TRACES, SCOPE_WRITE, AccessToken, WebhookEndpoint
from .permissions import IsAuthenticated, TokenHasScope
from .selectors import webhook_delivery_list, webhook_endpoint_list_for_user
from .throttling import UPLOAD_THROTTLES

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
    "fix": "Call optimizer.zero_grad() before loss.backward().",
    "glossary": ["zero-grad"],
    "confidence": 0.95,
}
EXAMPLE_ERROR = {
    "error": {
        "code": "validation_error",
        "message": "title: Ensure this field has at least 10 characters.",
        "fields": {"title": ["Ensure this field has at least 10 characters."]},
    }
}
EXAMPLE_QUESTION = {
    "title": "Loss stays flat: are my LSTM's gradients vanishing?",
    "body": "After 5 epochs the loss has not moved. The first layer's gradients are ~1e-9.",
    "tags": ["vanishing-gradients", "lstm"],
}


def _paginated_response(item_serializer, description: str):
    """The cursor page envelope around `item_serializer`, for @extend_schema."""
    return inline_serializer(
        name=f"Paginated{item_serializer.__name__.removesuffix('Serializer')}List",
        fields={
            "next": drf_serializers.URLField(allow_null=True, help_text="The next page, or null."),
            "previous": drf_serializers.URLField(allow_null=True),
            "results": item_serializer(many=True),
        },
    )


CURSOR_PARAMS = [s.CursorQuerySerializer]


def _query(serializer_class, request):
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _input(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- root, schema, docs ----------------------------------------------------------------------


class RootView(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="List the API's resources",
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="name -> URL")},
        tags=["meta"],
    )
    def get(self, request):
        names = {
            "questions": "api:question-list",
            "tags": "api:tag-list",
            "me": "api:user-me",
            "notifications": "api:notification-list",
            "glossary": "api:term-list",
            "lesson": "api:lesson-progress",
            "traces": "api:trace-list",
            "diagnoses": "api:diagnosis-list",
            "webhooks": "api:webhook-list",
            "schema": "api:schema",
            "docs": "api:docs",
        }
        return Response({name: reverse(url, request=request) for name, url in names.items()})


# drf-spectacular loads its extension classes lazily, and two threads doing that at once can
# crash (one sets target_class to None while the other reads it). Schema requests are rare:
# one at a time.
_SCHEMA_LOCK = threading.Lock()


class SchemaView(SpectacularAPIView):
    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        with _SCHEMA_LOCK:
            return super().get(request, *args, **kwargs)


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from the vendored sidecar assets; its init script is a separate file, so it
    runs under our Content-Security-Policy (script-src 'self', no inline scripts)."""

    url_name = "api:schema"
    title = "GradHub API"

    @staticmethod
    def _swagger_ui_resource(filename):
        return _get_sidecar_url(f"swagger-ui-dist/{filename}")

    @staticmethod
    def _swagger_ui_favicon():
        return _get_sidecar_url("swagger-ui-dist/favicon-32x32.png")


# --- questions -------------------------------------------------------------------------------


def _question_visible(*, request, question_id: int):
    from hub.forum.models import Question
    from hub.forum.selectors import question_detail

    try:
        return question_detail(question_id=question_id, viewer=request.user)
    except Question.DoesNotExist as exc:
        raise Http404 from exc


def _answer_visible(*, request, answer_id: int):
    from hub.accounts.selectors import user_is_moderator
    from hub.forum.models import Answer

    answer = get_object_or_404(Answer.objects.select_related("author__profile"), pk=answer_id)
    answer.question = _question_visible(request=request, question_id=answer.question_id)
    if answer.is_hidden and not (
        request.user.pk == answer.author_id or user_is_moderator(user=request.user)
    ):
        raise Http404
    return answer


class QuestionListView(ApiView):
    cursor_ordering = ("-created_at", "-id")

    @extend_schema(
        summary="List or search questions",
        operation_id="questions_list",
        parameters=[s.QuestionListQuerySerializer, *CURSOR_PARAMS],
        responses={200: _paginated_response(s.QuestionSummarySerializer, "questions")},
        tags=["questions"],
    )
    def get(self, request):
        from hub.forum.selectors import question_list, question_search

        query = _query(s.QuestionListQuerySerializer, request)
        if query.get("q"):
            # Search results are ranked, not chronological: one page of the best matches.
            _query(s.CursorQuerySerializer, request)  # the same checks as a paged list
            results = question_search(query=query["q"], viewer=request.user)
            data = s.QuestionSummarySerializer(results, many=True, context={"request": request})
            return Response({"next": None, "previous": None, "results": data.data})
        questions = question_list(sort="newest", tag=query.get("tag"), viewer=request.user)
        if query.get("finding"):
            questions = questions.filter(
                traces__diagnoses__finding_rows__code=query["finding"]
            ).distinct()
        if query.get("solved") is not None:
            questions = questions.filter(accepted_answer__isnull=not query["solved"])
        if query.get("unanswered") is not None:
            questions = (
                questions.filter(answer_count=0)
                if query["unanswered"]
                else questions.exclude(answer_count=0)
            )
        return self.paginated(questions, s.QuestionSummarySerializer)

    @extend_schema(
        summary="Ask a question",
        request=s.QuestionCreateInputSerializer,
        responses={201: s.QuestionDetailSerializer},
        examples=[
            OpenApiExample("A question", value=EXAMPLE_QUESTION, request_only=True),
            OpenApiExample(
                "Too short", value=EXAMPLE_ERROR, response_only=True, status_codes=["400"]
            ),
        ],
        tags=["questions"],
    )
    def post(self, request):
        from hub.forum.services import question_create

        data = _input(s.QuestionCreateInputSerializer, request)
        question = question_create(
            author=request.user, title=data["title"], body=data["body"], tags=data["tags"]
        )
        return Response(_question_detail_data(request, question.pk), status=201)


def _question_detail_data(request, question_id: int) -> dict:
    from hub.forum.selectors import question_page
    from hub.traces.selectors import traces_for_question

    question = _question_visible(request=request, question_id=question_id)
    page = question_page(question=question, viewer=request.user)
    context = {
        "request": request,
        "answers": page.answers,
        "question_comments": page.question_comments,
        "trace_ids": [trace.pk for trace in traces_for_question(question=question)],
    }
    return s.QuestionDetailSerializer(question, context=context).data


class QuestionDetailView(ApiView):
    @extend_schema(
        summary="A question with its answers and comments",
        responses={200: s.QuestionDetailSerializer},
        tags=["questions"],
    )
    def get(self, request, question_id: int):
        return Response(_question_detail_data(request, question_id))

    @extend_schema(
        summary="Edit a question (author or moderator); omitted fields stay as they are",
        request=s.QuestionEditInputSerializer,
        responses={200: s.QuestionDetailSerializer},
        examples=[
            OpenApiExample("Retag", value={"tags": ["exploding-gradients"]}, request_only=True)
        ],
        tags=["questions"],
    )
    def patch(self, request, question_id: int):
        from hub.forum.services import question_edit

        question = _question_visible(request=request, question_id=question_id)
        data = _input(s.QuestionEditInputSerializer, request)
        question_edit(
            question=question,
            editor=request.user,
            title=data.get("title", question.title),
            body=data.get("body", question.body),
            tags=data.get("tags", [tag.name for tag in question.tags.all()]),
        )
        return Response(_question_detail_data(request, question_id))


class AnswerListView(ApiView):
    pagination_class = None  # a thread's answers come whole, accepted first

    @extend_schema(
        summary="A question's answers (accepted first, then by score)",
        responses={200: s.AnswerWithCommentsSerializer(many=True)},
        tags=["answers"],
    )
    def get(self, request, question_id: int):
        from hub.forum.selectors import question_page

        question = _question_visible(request=request, question_id=question_id)
        answers = question_page(question=question, viewer=request.user).answers
        for answer in answers:
            answer.question = question
        data = s.AnswerWithCommentsSerializer(answers, many=True, context={"request": request})
        return Response(data.data)

    @extend_schema(
        summary="Answer a question",
        request=s.AnswerInputSerializer,
        responses={201: s.AnswerSerializer},
        examples=[
            OpenApiExample(
                "An answer",
                value={"body": "Call `optimizer.zero_grad()` before `loss.backward()`."},
                request_only=True,
            )
        ],
        tags=["answers"],
    )
    def post(self, request, question_id: int):
        from hub.forum.services import answer_create

        question = _question_visible(request=request, question_id=question_id)
        data = _input(s.AnswerInputSerializer, request)
        answer = answer_create(author=request.user, question=question, body=data["body"])
        answer.question = question
        return Response(s.AnswerSerializer(answer, context={"request": request}).data, status=201)


class AnswerDetailView(ApiView):
    @extend_schema(
        summary="One answer", responses={200: s.AnswerWithCommentsSerializer}, tags=["answers"]
    )
    def get(self, request, answer_id: int):
        answer = _answer_visible(request=request, answer_id=answer_id)
        return Response(s.AnswerWithCommentsSerializer(answer, context={"request": request}).data)

    @extend_schema(
        summary="Edit an answer (author or moderator)",
        request=s.AnswerEditInputSerializer,
        responses={200: s.AnswerSerializer},
        tags=["answers"],
    )
    def patch(self, request, answer_id: int):
        from hub.forum.services import answer_edit

        answer = _answer_visible(request=request, answer_id=answer_id)
        data = _input(s.AnswerEditInputSerializer, request)
        question = answer.question
        answer = answer_edit(answer=answer, editor=request.user, body=data.get("body", answer.body))
        answer.question = question
        return Response(s.AnswerSerializer(answer, context={"request": request}).data)


class AnswerAcceptView(ApiView):
    @extend_schema(
        summary="Accept an answer (the asker only)",
        request=None,
        responses={200: s.AnswerSerializer},
        tags=["answers"],
    )
    def post(self, request, answer_id: int):
        from hub.forum.services import answer_accept

        answer = _answer_visible(request=request, answer_id=answer_id)
        answer_accept(user=request.user, answer=answer)
        answer = _answer_visible(request=request, answer_id=answer_id)
        return Response(s.AnswerSerializer(answer, context={"request": request}).data)

    @extend_schema(
        summary="Withdraw the acceptance (the asker only)",
        request=None,
        responses={200: s.AnswerSerializer},
        tags=["answers"],
    )
    def delete(self, request, answer_id: int):
        from hub.forum.services import answer_unaccept

        answer = _answer_visible(request=request, answer_id=answer_id)
        answer_unaccept(user=request.user, answer=answer)
        answer = _answer_visible(request=request, answer_id=answer_id)
        return Response(s.AnswerSerializer(answer, context={"request": request}).data)


class _CommentCreateView(ApiView):
    def _target(self, request, pk: int):
        raise NotImplementedError

    def post(self, request, pk: int):
        from hub.forum.services import comment_create

        target = self._target(request, pk)
        data = _input(s.CommentInputSerializer, request)
        comment = comment_create(author=request.user, target=target, body=data["body"])
        return Response(s.CommentSerializer(comment, context={"request": request}).data, status=201)


COMMENT_SCHEMA = {
    "request": s.CommentInputSerializer,
    "responses": {201: s.CommentSerializer},
    "examples": [
        OpenApiExample("A comment", value={"body": "Which optimizer?"}, request_only=True)
    ],
    "tags": ["comments"],
}


class QuestionCommentView(_CommentCreateView):
    def _target(self, request, pk):
        return _question_visible(request=request, question_id=pk)

    @extend_schema(summary="Comment on a question", **COMMENT_SCHEMA)
    def post(self, request, question_id: int):
        return super().post(request, question_id)


class AnswerCommentView(_CommentCreateView):
    def _target(self, request, pk):
        return _answer_visible(request=request, answer_id=pk)

    @extend_schema(summary="Comment on an answer", **COMMENT_SCHEMA)
    def post(self, request, answer_id: int):
        return super().post(request, answer_id)


class _VoteView(ApiView):
    def _vote(self, request, target):
        from hub.forum.services import vote_cast

        data = _input(s.VoteInputSerializer, request)
        score = vote_cast(user=request.user, target=target, value=data["value"])
        return Response({"score": score, "value": data["value"]})


VOTE_SCHEMA = {
    "request": s.VoteInputSerializer,
    "responses": {200: s.VoteResultSerializer},
    "examples": [OpenApiExample("Upvote", value={"value": 1}, request_only=True)],
    "tags": ["votes"],
}


class QuestionVoteView(_VoteView):
    @extend_schema(summary="Vote on a question", **VOTE_SCHEMA)
    def post(self, request, question_id: int):
        return self._vote(request, _question_visible(request=request, question_id=question_id))


class AnswerVoteView(_VoteView):
    @extend_schema(summary="Vote on an answer", **VOTE_SCHEMA)
    def post(self, request, answer_id: int):
        return self._vote(request, _answer_visible(request=request, answer_id=answer_id))


# --- tags and users --------------------------------------------------------------------------


class TagListView(ApiView):
    cursor_ordering = "name"

    @extend_schema(
        summary="Tags, by name, with their question counts",
        operation_id="tags_list",
        parameters=[s.TextSearchQuerySerializer, *CURSOR_PARAMS],
        responses={200: _paginated_response(s.TagSerializer, "tags")},
        tags=["tags"],
    )
    def get(self, request):
        from hub.forum.selectors import tag_list

        query = _query(s.TextSearchQuerySerializer, request).get("q", "")
        return self.paginated(tag_list(query=query, sort="name"), s.TagSerializer)


class TagDetailView(ApiView):
    @extend_schema(summary="One tag", responses={200: s.TagSerializer}, tags=["tags"])
    def get(self, request, name: str):
        from hub.forum.models import Tag
        from hub.forum.selectors import tag_get

        try:
            tag = tag_get(name=name)
        except Tag.DoesNotExist as exc:
            raise Http404 from exc
        return Response(s.TagSerializer(tag).data)


class UserDetailView(ApiView):
    @extend_schema(
        summary="A public profile", responses={200: s.UserProfileSerializer}, tags=["users"]
    )
    def get(self, request, username: str):
        from django.contrib.auth import get_user_model

        from hub.forum.selectors import user_get_by_username, user_profile_page

        try:
            user = user_get_by_username(username=username)
        except get_user_model().DoesNotExist as exc:
            raise Http404 from exc
        page = user_profile_page(user=user, viewer=request.user, limit=0)
        return Response(s.UserProfileSerializer(page, context={"request": request}).data)


class MeView(ApiView):
    permission_classes = [TokenHasScope, IsAuthenticated]

    @extend_schema(
        summary="The authenticated user", responses={200: s.MeSerializer}, tags=["users"]
    )
    def get(self, request):
        from hub.accounts.selectors import user_is_moderator
        from hub.forum.selectors import user_profile_page

        page = user_profile_page(user=request.user, viewer=request.user, limit=0)
        page.is_moderator = user_is_moderator(user=request.user)
        page.token_scopes = request.auth.scopes if isinstance(request.auth, AccessToken) else None
        return Response(s.MeSerializer(page, context={"request": request}).data)


# --- notifications ---------------------------------------------------------------------------


class NotificationListView(ApiView):
    permission_classes = [TokenHasScope, IsAuthenticated]
    cursor_ordering = ("-created_at", "-id")

    @extend_schema(
        summary="Your notifications, newest first",
        parameters=[s.NotificationListQuerySerializer, *CURSOR_PARAMS],
        responses={200: _paginated_response(s.NotificationSerializer, "notifications")},
        tags=["notifications"],
    )
    def get(self, request):
        from hub.notifications.selectors import notification_list

        query = _query(s.NotificationListQuerySerializer, request)
        notifications = notification_list(user=request.user)
        if query.get("unread") is not None:
            notifications = notifications.filter(is_read=not query["unread"])
        return self.paginated(notifications, s.NotificationSerializer)


class NotificationReadView(ApiView):
    permission_classes = [TokenHasScope, IsAuthenticated]

    @extend_schema(
        summary="Mark one notification read",
        request=None,
        responses={200: s.NotificationSerializer},
        tags=["notifications"],
    )
    def post(self, request, notification_id: int):
        from hub.notifications.services import notification_mark_read

        notification = notification_mark_read(user=request.user, notification_id=notification_id)
        if notification is None:
            raise Http404
        return Response(s.NotificationSerializer(notification, context={"request": request}).data)


class NotificationReadAllView(ApiView):
    permission_classes = [TokenHasScope, IsAuthenticated]

    @extend_schema(
        summary="Mark all your notifications read",
        request=None,
        responses={200: s.MarkedReadSerializer},
        tags=["notifications"],
    )
    def post(self, request):
        from hub.notifications.services import notifications_mark_all_read

        return Response({"marked": notifications_mark_all_read(user=request.user)})


# --- glossary --------------------------------------------------------------------------------


def _term_or_404(slug: str):
    from hub.glossary.selectors import term_get

    term = term_get(slug=slug)
    if term is None:
        raise Http404
    return term


class TermListView(ApiView):
    cursor_ordering = "slug"

    def get_permissions(self):
        from .permissions import IsStaffOrReadOnly

        return [*super().get_permissions(), IsStaffOrReadOnly()]

    @extend_schema(
        summary="Glossary terms",
        operation_id="glossary_list",
        parameters=[s.TextSearchQuerySerializer, *CURSOR_PARAMS],
        responses={200: _paginated_response(s.TermSerializer, "terms")},
        tags=["glossary"],
    )
    def get(self, request):
        from hub.glossary.selectors import term_list, term_search

        query = _query(s.TextSearchQuerySerializer, request).get("q", "")
        if query.strip():
            _query(s.CursorQuerySerializer, request)  # the same checks as a paged list
            data = s.TermSerializer(
                term_search(query=query), many=True, context={"request": request}
            )
            return Response({"next": None, "previous": None, "results": data.data})
        return self.paginated(term_list(), s.TermSerializer)

    @extend_schema(
        summary="Add a term (staff)",
        request=s.TermInputSerializer,
        responses={201: s.TermSerializer},
        tags=["glossary"],
    )
    def post(self, request):
        from django.core.exceptions import ValidationError

        from hub.glossary.models import Term
        from hub.glossary.selectors import term_get
        from hub.glossary.services import term_write

        data = _input(s.TermInputSerializer, request)
        if term_get(slug=data["slug"]) is not None:
            raise ValidationError({"slug": ["A term with this slug exists."]})
        term = term_write(term=Term(**data), editor=request.user, note="Added through the API")
        return Response(s.TermSerializer(term, context={"request": request}).data, status=201)


class TermDetailView(ApiView):
    def get_permissions(self):
        from .permissions import IsStaffOrReadOnly

        return [*super().get_permissions(), IsStaffOrReadOnly()]

    @extend_schema(summary="One term", responses={200: s.TermSerializer}, tags=["glossary"])
    def get(self, request, slug: str):
        return Response(s.TermSerializer(_term_or_404(slug), context={"request": request}).data)

    @extend_schema(
        summary="Edit a term (staff)",
        request=s.TermEditInputSerializer,
        responses={200: s.TermSerializer},
        tags=["glossary"],
    )
    def patch(self, request, slug: str):
        from hub.glossary.services import term_write

        term = _term_or_404(slug)
        data = _input(s.TermEditInputSerializer, request)
        for field, value in data.items():
            setattr(term, field, value)
        term = term_write(term=term, editor=request.user, note="Edited through the API")
        return Response(s.TermSerializer(term, context={"request": request}).data)


# --- the lesson ------------------------------------------------------------------------------


def _lesson_or_404():
    from hub.learn.selectors import lesson_get, lesson_steps

    lesson = lesson_get()
    if lesson is None:
        raise Http404
    return lesson, lesson_steps(lesson=lesson)


def _lesson_progress_data(request, *, lesson, steps, progress) -> dict:
    from django.urls import reverse as url_reverse

    from hub.learn.selectors import progress_is_complete, progress_open_step

    total = len(steps)
    done = set(progress.completed_steps) if progress else set()
    open_step = progress_open_step(progress=progress, total=total)
    return {
        "slug": lesson.slug,
        "title": lesson.title,
        "total_steps": total,
        "completed_steps": sorted(done),
        "open_step": open_step,
        "attempts": progress.attempts if progress else 0,
        "is_complete": progress_is_complete(progress=progress, total=total),
        "completed_at": progress.completed_at if progress else None,
        "steps": [
            {
                "number": step.number,
                "title": step.title,
                "kind": step.kind,
                "done": step.number in done,
                "open": step.number <= open_step,
            }
            for step in steps
        ],
        "url": request.build_absolute_uri(url_reverse("learn:lesson_resume")),
    }


def _lesson_step_get(*, steps, number: int):
    if not 1 <= number <= len(steps):
        raise Http404
    return steps[number - 1]


def _lesson_step_open(*, steps, number: int, progress):
    """The step if it exists and is open to this learner (StepLocked is a 403)."""
    from hub.learn.services import step_check_open

    step = _lesson_step_get(steps=steps, number=number)
    step_check_open(steps=steps, step=step, progress=progress)
    return step


class LessonProgressView(ApiView):
    permission_classes = [TokenHasScope, IsAuthenticated]

    @extend_schema(
        summary="Your progress through the backpropagation lesson",
        responses={200: s.LessonProgressSerializer},
        tags=["lesson"],
    )
    def get(self, request):
        from hub.learn.services import progress_for_request

        lesson, steps = _lesson_or_404()
        progress = progress_for_request(request=request, lesson=lesson, create=False)
        data = _lesson_progress_data(request, lesson=lesson, steps=steps, progress=progress)
        return Response(data)

    @extend_schema(
        summary="Start the lesson over (forget your answers)",
        responses={204: None},
        tags=["lesson"],
    )
    def delete(self, request):
        from hub.learn.services import progress_for_request, progress_reset

        lesson, _ = _lesson_or_404()
        progress_reset(progress=progress_for_request(request=request, lesson=lesson, create=False))
        return Response(status=204)


class LessonStepView(ApiView):
    permission_classes = [TokenHasScope, IsAuthenticated]

    @extend_schema(
        summary="One lesson step (403 while an earlier step is unanswered)",
        responses={200: s.LessonStepSerializer},
        tags=["lesson"],
    )
    def get(self, request, number: int):
        from django.urls import reverse as url_reverse

        from hub.learn.selectors import step_prompt_html
        from hub.learn.services import progress_for_request

        lesson, steps = _lesson_or_404()
        progress = progress_for_request(request=request, lesson=lesson, create=False)
        step = _lesson_step_open(steps=steps, number=number, progress=progress)
        done = set(progress.completed_steps) if progress else set()
        return Response(
            {
                "number": step.number,
                "title": step.title,
                "kind": step.kind,
                "explanation_html": step.explanation_html,
                "prompt_html": step_prompt_html(lesson=lesson, step=step),
                "code": step.code,
                "choices": [{"key": c["key"], "text": c["text"]} for c in step.choices or []],
                "done": step.number in done,
                "url": request.build_absolute_uri(
                    url_reverse("learn:lesson_step", kwargs={"step": step.number})
                ),
            }
        )


class LessonAnswerView(ApiView):
    permission_classes = [TokenHasScope, IsAuthenticated]

    @extend_schema(
        summary="Answer a lesson step; a right answer completes it",
        request=s.LessonAnswerInputSerializer,
        responses={200: s.LessonAnswerResultSerializer},
        examples=[OpenApiExample("A numeric answer", value={"answer": "0.25"}, request_only=True)],
        tags=["lesson"],
    )
    def post(self, request, number: int):
        from django.core.exceptions import ValidationError

        from hub.learn.services import lesson_answer_submit, progress_for_request

        lesson, steps = _lesson_or_404()
        data = _input(s.LessonAnswerInputSerializer, request)
        progress = progress_for_request(request=request, lesson=lesson, create=True)
        step = _lesson_step_get(steps=steps, number=number)
        result, progress = lesson_answer_submit(
            lesson=lesson,
            steps=steps,
            step=step,
            progress=progress,
            raw=data["answer"],
            learner_key=str(request.user.pk),
        )
        if result.malformed:
            raise ValidationError({"answer": [result.message]})
        return Response(
            {
                "correct": result.correct,
                "message": result.message,
                "expected": result.expected if result.correct else None,
                "unlocked": result.unlocked if result.correct else [],
                "feedback_html": step.feedback_html if result.correct else "",
                "progress": _lesson_progress_data(
                    request, lesson=lesson, steps=steps, progress=progress
                ),
            }
        )


# --- traces and diagnoses --------------------------------------------------------------------

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
        responses={200: _paginated_response(s.TraceSerializer, "traces")},
        tags=["traces"],
    )
    def get(self, request):
        from hub.traces.models import Trace

        traces = Trace.objects.filter(owner=request.user).select_related("question")
        return self.paginated(traces, s.TraceSerializer)

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
        data = _input(s.TraceUploadInputSerializer, request)
        question = None
        if "question" in data:
            question = _question_visible(request=request, question_id=data["question"])
        if "title" in data:
            token = request.auth
            if isinstance(token, AccessToken) and not token.has_scope(SCOPE_WRITE):
                raise ApiPermissionDenied(
                    "Asking a new question needs a token with the write scope too."
                )
        if "title" in data:
            _, trace = question_ask_with_trace(
                author=request.user,
                title=data["title"],
                body=data["body"],
                tags=data.get("tags", []),
                trace_file=data["file"],
            )
        else:
            trace = trace_upload(
                owner=request.user,
                uploaded_file=data["file"],
                question=question,
                private=data["private"],
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
        from hub.traces.selectors import trace_get_for_user

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
                value={
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
                },
                response_only=True,
                status_codes=["200"],
            )
        ],
        tags=["traces"],
    )
    def get(self, request, trace_id: int):
        from hub.traces.selectors import diagnosis_latest, trace_get_for_user

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
        responses={200: _paginated_response(s.DiagnosisSerializer, "diagnoses")},
        examples=[],
        tags=["traces"],
    )
    def get(self, request):
        from hub.traces.selectors import diagnosis_list

        query = _query(s.DiagnosisListQuerySerializer, request)
        diagnoses = diagnosis_list(code=query.get("code") or None).select_related("answer")
        return self.paginated(diagnoses, s.DiagnosisSerializer)


# --- webhooks --------------------------------------------------------------------------------


def _endpoint_or_404(request, endpoint_id: int) -> WebhookEndpoint:
    endpoint = webhook_endpoint_list_for_user(user=request.user).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise Http404
    return endpoint


class WebhookListView(ApiView):
    permission_classes = [TokenHasScope, IsAuthenticated]
    cursor_ordering = ("-created_at", "-id")

    @extend_schema(
        summary="Your webhook endpoints",
        operation_id="webhooks_list",
        parameters=CURSOR_PARAMS,
        responses={200: _paginated_response(s.WebhookEndpointSerializer, "webhooks")},
        tags=["webhooks"],
    )
    def get(self, request):
        return self.paginated(
            webhook_endpoint_list_for_user(user=request.user), s.WebhookEndpointSerializer
        )

    @extend_schema(
        summary="Add a webhook endpoint (the signing secret is in this response only)",
        request=s.WebhookEndpointInputSerializer,
        responses={201: s.WebhookEndpointCreatedSerializer},
        examples=[
            OpenApiExample(
                "CI hook",
                value={"url": "https://ci.example.com/gradhub", "events": ["diagnosis.ready"]},
                request_only=True,
            )
        ],
        tags=["webhooks"],
    )
    def post(self, request):
        data = _input(s.WebhookEndpointInputSerializer, request)
        endpoint, secret = services.webhook_endpoint_create(
            user=request.user, url=data["url"], events=data["events"]
        )
        endpoint.secret = secret
        return Response(s.WebhookEndpointCreatedSerializer(endpoint).data, status=201)


class WebhookDetailView(ApiView):
    permission_classes = [TokenHasScope, IsAuthenticated]

    @extend_schema(
        summary="One webhook endpoint",
        responses={200: s.WebhookEndpointSerializer},
        tags=["webhooks"],
    )
    def get(self, request, endpoint_id: int):
        return Response(s.WebhookEndpointSerializer(_endpoint_or_404(request, endpoint_id)).data)

    @extend_schema(
        summary="Pause, resume or change the events of an endpoint",
        request=s.WebhookEndpointEditInputSerializer,
        responses={200: s.WebhookEndpointSerializer},
        tags=["webhooks"],
    )
    def patch(self, request, endpoint_id: int):
        endpoint = _endpoint_or_404(request, endpoint_id)
        data = _input(s.WebhookEndpointEditInputSerializer, request)
        endpoint = services.webhook_endpoint_update(
            user=request.user,
            endpoint=endpoint,
            is_active=data.get("is_active"),
            events=data.get("events"),
        )
        return Response(s.WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        summary="Delete an endpoint and its delivery log",
        responses={204: OpenApiResponse(description="Deleted.")},
        tags=["webhooks"],
    )
    def delete(self, request, endpoint_id: int):
        services.webhook_endpoint_delete(
            user=request.user, endpoint=_endpoint_or_404(request, endpoint_id)
        )
        return Response(status=204)


class WebhookDeliveryListView(ApiView):
    pagination_class = None  # the latest deliveries only
    permission_classes = [TokenHasScope, IsAuthenticated]

    @extend_schema(
        summary="The latest deliveries to an endpoint, with every attempt",
        responses={200: s.WebhookDeliverySerializer(many=True)},
        tags=["webhooks"],
    )
    def get(self, request, endpoint_id: int):
        deliveries = webhook_delivery_list(endpoint=_endpoint_or_404(request, endpoint_id))
        return Response(s.WebhookDeliverySerializer(deliveries, many=True).data)


class WebhookPingView(ApiView):
    permission_classes = [TokenHasScope, IsAuthenticated]

    @extend_schema(
        summary="Send a test `ping` delivery to an endpoint",
        request=None,
        responses={202: s.WebhookDeliverySerializer},
        tags=["webhooks"],
    )
    def post(self, request, endpoint_id: int):
        endpoint = _endpoint_or_404(request, endpoint_id)
        delivery = webhooks.webhook_delivery_enqueue(
            endpoint=endpoint, event=EVENT_PING, payload={"endpoint_id": endpoint.pk}
        )
        return Response(s.WebhookDeliverySerializer(delivery).data, status=202)
