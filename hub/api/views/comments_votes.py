"""Comments on questions and answers, and votes on them."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.response import Response

from hub.forum.services import comment_create, vote_cast

from .. import serializers as s
from ..base import ApiView
from .answers import answer_visible
from .common import validated_input
from .questions import question_visible

COMMENT_SCHEMA = {
    "request": s.CommentInputSerializer,
    "responses": {201: s.CommentSerializer},
    "examples": [
        OpenApiExample("A comment", value={"body": "Which optimizer?"}, request_only=True)
    ],
    "tags": ["comments"],
}

VOTE_SCHEMA = {
    "request": s.VoteInputSerializer,
    "responses": {200: s.VoteResultSerializer},
    "examples": [OpenApiExample("Upvote", value={"value": 1}, request_only=True)],
    "tags": ["votes"],
}


def _comment(request, target) -> Response:
    data = validated_input(s.CommentInputSerializer, request)
    comment = comment_create(author=request.user, target=target, body=data["body"])
    return Response(s.CommentSerializer(comment, context={"request": request}).data, status=201)


def _vote(request, target) -> Response:
    data = validated_input(s.VoteInputSerializer, request)
    score = vote_cast(user=request.user, target=target, value=data["value"])
    return Response(s.VoteResultSerializer({"score": score, "value": data["value"]}).data)


class QuestionCommentView(ApiView):
    @extend_schema(summary="Comment on a question", **COMMENT_SCHEMA)
    def post(self, request, question_id: int):
        return _comment(request, question_visible(request=request, question_id=question_id))


class AnswerCommentView(ApiView):
    @extend_schema(summary="Comment on an answer", **COMMENT_SCHEMA)
    def post(self, request, answer_id: int):
        return _comment(request, answer_visible(request=request, answer_id=answer_id))


class QuestionVoteView(ApiView):
    @extend_schema(summary="Vote on a question", **VOTE_SCHEMA)
    def post(self, request, question_id: int):
        return _vote(request, question_visible(request=request, question_id=question_id))


class AnswerVoteView(ApiView):
    @extend_schema(summary="Vote on an answer", **VOTE_SCHEMA)
    def post(self, request, answer_id: int):
        return _vote(request, answer_visible(request=request, answer_id=answer_id))
