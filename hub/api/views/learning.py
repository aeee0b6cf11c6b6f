"""Learning: the glossary and the backpropagation lesson."""

from functools import partial

from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.response import Response

from hub.glossary.models import Term
from hub.glossary.selectors import term_get, term_list, term_search
from hub.glossary.services import term_write
from hub.learn.selectors import (
    lesson_get,
    lesson_steps,
    progress_is_complete,
    progress_open_step,
    step_prompt_html,
)
from hub.learn.services import (
    lesson_answer_submit,
    progress_for_request,
    progress_reset,
    step_check_open,
)

from .. import serializers as s
from ..base import ApiView
from ..permissions import IsAuthenticated, IsStaffOrReadOnly, TokenHasScope
from .common import (
    CURSOR_PARAMS,
    paginated_response,
    search_page_response,
    validated_input,
    validated_query,
)

# --- glossary --------------------------------------------------------------------------------


def _term_or_404(slug: str) -> Term:
    term = term_get(slug=slug)
    if term is None:
        raise Http404
    return term


class TermListView(ApiView):
    permission_classes = [*ApiView.permission_classes, IsStaffOrReadOnly]
    cursor_ordering = "slug"

    @extend_schema(
        summary="Glossary terms",
        operation_id="glossary_list",
        parameters=[s.TextSearchQuerySerializer, *CURSOR_PARAMS],
        responses={200: paginated_response(s.TermSerializer)},
        tags=["glossary"],
    )
    def get(self, request):
        query = validated_query(s.TextSearchQuerySerializer, request).get("q", "")
        if query.strip():
            return search_page_response(
                request, partial(term_search, query=query), s.TermSerializer
            )
        return self.paginated(term_list(), s.TermSerializer)

    @extend_schema(
        summary="Add a term (staff)",
        request=s.TermInputSerializer,
        responses={201: s.TermSerializer},
        tags=["glossary"],
    )
    def post(self, request):
        data = validated_input(s.TermInputSerializer, request)
        if term_get(slug=data["slug"]) is not None:
            raise ValidationError({"slug": ["A term with this slug exists."]})
        term = term_write(term=Term(**data), editor=request.user, note="Added through the API")
        return Response(s.TermSerializer(term, context={"request": request}).data, status=201)


class TermDetailView(ApiView):
    permission_classes = [*ApiView.permission_classes, IsStaffOrReadOnly]

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
        term = _term_or_404(slug)
        data = validated_input(s.TermEditInputSerializer, request)
        for field, value in data.items():
            setattr(term, field, value)
        term = term_write(term=term, editor=request.user, note="Edited through the API")
        return Response(s.TermSerializer(term, context={"request": request}).data)


# --- the lesson ------------------------------------------------------------------------------


def _lesson_or_404():
    lesson = lesson_get()
    if lesson is None:
        raise Http404
    return lesson, lesson_steps(lesson=lesson)


def _lesson_progress(request, *, lesson, steps, progress) -> dict:
    """What LessonProgressSerializer shows: the learner's progress and each step's state."""
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
        "url": request.build_absolute_uri(reverse("learn:lesson_resume")),
    }


def _lesson_step_get(*, steps, number: int):
    if not 1 <= number <= len(steps):
        raise Http404
    return steps[number - 1]


class LessonProgressView(ApiView):
    permission_classes = [TokenHasScope, IsAuthenticated]

    @extend_schema(
        summary="Your progress through the backpropagation lesson",
        responses={200: s.LessonProgressSerializer},
        tags=["lesson"],
    )
    def get(self, request):
        lesson, steps = _lesson_or_404()
        progress = progress_for_request(request=request, lesson=lesson, create=False)
        data = _lesson_progress(request, lesson=lesson, steps=steps, progress=progress)
        return Response(s.LessonProgressSerializer(data).data)

    @extend_schema(
        summary="Start the lesson over (forget your answers)",
        responses={204: None},
        tags=["lesson"],
    )
    def delete(self, request):
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
        lesson, steps = _lesson_or_404()
        progress = progress_for_request(request=request, lesson=lesson, create=False)
        step = _lesson_step_get(steps=steps, number=number)
        step_check_open(steps=steps, step=step, progress=progress)  # StepLocked is a 403
        done = set(progress.completed_steps) if progress else set()
        data = {
            "number": step.number,
            "title": step.title,
            "kind": step.kind,
            "explanation_html": step.explanation_html,
            "prompt_html": step_prompt_html(lesson=lesson, step=step),
            "code": step.code,
            "choices": step.choices or [],
            "done": step.number in done,
            "url": request.build_absolute_uri(
                reverse("learn:lesson_step", kwargs={"step": step.number})
            ),
        }
        return Response(s.LessonStepSerializer(data).data)


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
        lesson, steps = _lesson_or_404()
        data = validated_input(s.LessonAnswerInputSerializer, request)
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
        outcome = {
            "correct": result.correct,
            "message": result.message,
            "expected": result.expected if result.correct else None,
            "unlocked": result.unlocked if result.correct else [],
            "feedback_html": step.feedback_html if result.correct else "",
            "progress": _lesson_progress(request, lesson=lesson, steps=steps, progress=progress),
        }
        return Response(s.LessonAnswerResultSerializer(outcome).data)
