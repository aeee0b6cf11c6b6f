"""The member layer: what differs for a member on a shared page (hub.forum.page_cache), in
one small request forum.js makes after the page: their header, and on a question page their
votes, controls, comment and answer forms, follow state and their own hidden answers.

Each piece is rendered by the include the page itself uses, for the member and for the
page's own path, so the document forum.js makes equals the page rendered for them alone
(tests/browser/test_member_layer.py compares the two per role)."""

import copy

from django.shortcuts import render
from django.views.decorators.http import require_safe

from hub.accounts.selectors import user_is_moderator

from .. import selectors
from ..forms import AnswerForm
from ..page_cache import member_hint, view_count
from .common import question_or_404


def _page_request(request, path: str):
    """The request as the page at `path` saw it (templates link back to request.path)."""
    page_request = copy.copy(request)
    page_request.path = page_request.path_info = path
    return page_request


def _question_context(request, question) -> dict:
    user = request.user
    is_asker = user.pk == question.author_id
    rows = selectors.question_answer_rows(question=question, viewer=user)
    votes = selectors.question_votes(
        question=question, viewer=user, answer_ids=[row.pk for row in rows]
    )
    for row in rows:
        row.my_vote = votes.get(f"a{row.pk}", 0)
        row.is_own = row.author_id == user.pk
        row.is_accepted = row.pk == question.accepted_answer_id
    context = {
        "question": question,
        "answers": rows,
        "question_vote": votes.get(f"q{question.pk}", 0),
        "is_asker": is_asker,
        "can_moderate": False,
        "answer_form": AnswerForm(),
        "traces_own": is_asker or question.traces.filter(owner=user).exists(),
    }
    if any(row.is_hidden for row in rows):  # their own hidden answers: the whole list
        context["answers"] = selectors.question_page(question=question, viewer=user).answers
        for answer in context["answers"]:
            answer.my_vote = votes.get(f"a{answer.pk}", 0)
            answer.is_own = answer.author_id == user.pk
            answer.is_accepted = answer.pk == question.accepted_answer_id
        context["whole_answers"] = True
    return context


@require_safe
def member_layer(request, question_id: int | None = None):
    user = request.user
    context = {}
    if not user.is_authenticated:
        context["nothing"] = True  # a stale hint: the visitor's page is theirs already
    elif user_is_moderator(user=user):
        context["reload"] = True  # a moderator's page is rendered for them (hidden posts)
    elif question_id is not None:
        question = question_or_404(request, question_id)
        view_count(request, question.pk)
        request = _page_request(request, question.get_absolute_url())
        context = _question_context(request, question)
    response = render(request, "forum/_layer.html", context)
    response["Cache-Control"] = "private, no-store"
    return member_hint(request, response)
