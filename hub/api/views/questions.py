"""Questions: list, search, ask, read and edit; `question_visible` serves the other resources."""

from functools import partial

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.response import Response

from hub.forum.models import Question
from hub.forum.selectors import question_detail, question_page, question_search
from hub.forum.services import question_create, question_edit
from hub.traces.selectors import traces_for_question

from .. import serializers as s
from ..base import ApiView
from ..selectors import question_list_filtered
from .common import (
    CURSOR_PARAMS,
    EXAMPLE_ERROR,
    paginated_response,
    search_page_response,
    validated_input,
    validated_query,
)

EXAMPLE_QUESTION = {
    "title": "Loss stays flat: are my LSTM's gradients vanishing?",
    "body": "After 5 epochs the loss has not moved. The first layer's gradients are ~1e-9.",
    "tags": ["vanishing-gradients", "lstm"],
}


def question_visible(*, request, question_id: int) -> Question:
    """The question if the requester may see it; a 404 otherwise."""
    try:
        return question_detail(question_id=question_id, viewer=request.user)
    except Question.DoesNotExist as exc:
        raise Http404 from exc


def _question_detail_data(request, question_id: int) -> dict:
    question = question_visible(request=request, question_id=question_id)
    page = question_page(question=question, viewer=request.user)
    context = {
        "request": request,
        "answers": page.answers,
        "question_comments": page.question_comments,
        "trace_ids": [trace.pk for trace in traces_for_question(question=question)],
    }
    return s.QuestionDetailSerializer(question, context=context).data


class QuestionListView(ApiView):
    cursor_ordering = ("-created_at", "-id")

    @extend_schema(
        summary="List or search questions",
        operation_id="questions_list",
        parameters=[s.QuestionListQuerySerializer, *CURSOR_PARAMS],
        responses={200: paginated_response(s.QuestionSummarySerializer)},
        tags=["questions"],
    )
    def get(self, request):
        query = validated_query(s.QuestionListQuerySerializer, request)
        if query.get("q"):
            search = partial(question_search, query=query["q"], viewer=request.user)
            return search_page_response(request, search, s.QuestionSummarySerializer)
        questions = question_list_filtered(
            viewer=request.user,
            tag=query.get("tag"),
            finding=query.get("finding"),
            solved=query.get("solved"),
            unanswered=query.get("unanswered"),
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
        data = validated_input(s.QuestionCreateInputSerializer, request)
        question = question_create(
            author=request.user, title=data["title"], body=data["body"], tags=data["tags"]
        )
        return Response(_question_detail_data(request, question.pk), status=201)


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
        question = question_visible(request=request, question_id=question_id)
        data = validated_input(s.QuestionEditInputSerializer, request)
        question_edit(
            question=question,
            editor=request.user,
            title=data.get("title", question.title),
            body=data.get("body", question.body),
            tags=data.get("tags", [tag.name for tag in question.tags.all()]),
        )
        return Response(_question_detail_data(request, question_id))
