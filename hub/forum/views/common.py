"""Helpers the forum's views share (those every app shares are in hub.core.web)."""

from django.core.exceptions import ValidationError
from django.http import Http404

from .. import selectors
from ..models import Question


def messages_of(error: ValidationError) -> list[str]:
    return list(error.messages)


def question_or_404(request, question_id: int) -> Question:
    try:
        return selectors.question_detail(question_id=question_id, viewer=request.user)
    except Question.DoesNotExist:
        raise Http404("No such question") from None
