"""Answers: a thread's answers, answering, editing and accepting; `answer_visible` serves the
comments and votes."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.response import Response

from hub.accounts.selectors import user_is_moderator
from hub.forum.models import Answer
from hub.forum.selectors import question_page
from hub.forum.services import answer_accept, answer_create, answer_edit, answer_unaccept

from .. import serializers as s
from ..base import ApiView
from .common import validated_input
from .questions import question_visible


def answer_visible(*, request, answer_id: int) -> Answer:
    """The answer if the requester may see it and its question (a hidden answer: only its
    author and moderators); a 404 otherwise."""
    answer = get_object_or_404(Answer.objects.select_related("author__profile"), pk=answer_id)
    answer.question = question_visible(request=request, question_id=answer.question_id)
    if answer.is_hidden and not (
        request.user.pk == answer.author_id or user_is_moderator(user=request.user)
    ):
        raise Http404
    return answer


class AnswerListView(ApiView):
    pagination_class = None  # a thread's answers come whole, accepted first

    @extend_schema(
        summary="A question's answers (accepted first, then by score)",
        responses={200: s.AnswerWithCommentsSerializer(many=True)},
        tags=["answers"],
    )
    def get(self, request, question_id: int):
        question = question_visible(request=request, question_id=question_id)
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
        question = question_visible(request=request, question_id=question_id)
        data = validated_input(s.AnswerInputSerializer, request)
        answer = answer_create(author=request.user, question=question, body=data["body"])
        answer.question = question
        return Response(s.AnswerSerializer(answer, context={"request": request}).data, status=201)


class AnswerDetailView(ApiView):
    @extend_schema(
        summary="One answer", responses={200: s.AnswerWithCommentsSerializer}, tags=["answers"]
    )
    def get(self, request, answer_id: int):
        answer = answer_visible(request=request, answer_id=answer_id)
        return Response(s.AnswerWithCommentsSerializer(answer, context={"request": request}).data)

    @extend_schema(
        summary="Edit an answer (author or moderator)",
        request=s.AnswerEditInputSerializer,
        responses={200: s.AnswerSerializer},
        tags=["answers"],
    )
    def patch(self, request, answer_id: int):
        answer = answer_visible(request=request, answer_id=answer_id)
        data = validated_input(s.AnswerEditInputSerializer, request)
        question = answer.question
        answer = answer_edit(answer=answer, editor=request.user, body=data.get("body", answer.body))
        answer.question = question
        return Response(s.AnswerSerializer(answer, context={"request": request}).data)


class AnswerAcceptView(ApiView):
    def _accepted_or_withdrawn(self, request, answer_id: int, service) -> Response:
        """Run `service` on the answer, then answer with the answer as it is now."""
        service(user=request.user, answer=answer_visible(request=request, answer_id=answer_id))
        answer = answer_visible(request=request, answer_id=answer_id)
        return Response(s.AnswerSerializer(answer, context={"request": request}).data)

    @extend_schema(
        summary="Accept an answer (the asker only)",
        request=None,
        responses={200: s.AnswerSerializer},
        tags=["answers"],
    )
    def post(self, request, answer_id: int):
        return self._accepted_or_withdrawn(request, answer_id, answer_accept)

    @extend_schema(
        summary="Withdraw the acceptance (the asker only)",
        request=None,
        responses={200: s.AnswerSerializer},
        tags=["answers"],
    )
    def delete(self, request, answer_id: int):
        return self._accepted_or_withdrawn(request, answer_id, answer_unaccept)
