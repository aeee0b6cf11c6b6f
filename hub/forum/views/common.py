"""Helpers the forum's views share (those every app shares are in hub.core.web)."""

from django.core.exceptions import ValidationError
from django.http import Http404

from .. import selectors
from ..models import Question

# Anonymous visitors get the answers and comments of a question page from the cache, keyed on
# Question.render_version (bumped by every write service), so a write shows at once. The
# lifetime bounds the drift of what no write on this question bumps: authors' reputation and
# "n minutes ago". Ours: a minute of drift on those is invisible to a reader.
FRAGMENT_CACHE_SECONDS = 60


def messages_of(error: ValidationError) -> list[str]:
    return list(error.messages)


def question_or_404(request, question_id: int) -> Question:
    try:
        return selectors.question_detail(question_id=question_id, viewer=request.user)
    except Question.DoesNotExist:
        raise Http404("No such question") from None
