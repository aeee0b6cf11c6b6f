"""The member layer: what differs for a member on a shared page (hub.forum.page_cache), in
one small request forum.js makes after the page: their header, and on a question page their
votes, controls, comment and answer forms, follow state and their own hidden answers.

Each piece is rendered by the include the page itself uses, for the member and for the
page's own path, so the document forum.js makes equals the page rendered for them alone
(tests/browser/test_member_layer.py compares the two per role). What is the same for every
member on a version of the page (the forms, and the controls of the answers they neither
wrote nor voted on) is rendered once per version (page_cache.shared_markup), without a CSRF
token: forum.js gives those forms the member's."""

import copy

from django.http import Http404
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from hub.accounts.selectors import user_is_moderator

from .. import selectors
from ..forms import AnswerForm
from ..models import Question
from ..page_cache import member_hint, shared_markup, view_count


def _page_request(request, path: str):
    """The request as the page at `path` saw it (templates link back to request.path)."""
    page_request = copy.copy(request)
    page_request.path = page_request.path_info = path
    return page_request


def _answer_states(answers, *, question, votes: dict, viewer_id) -> list:
    for answer in answers:
        answer.my_vote = votes.get(f"a{answer.pk}", 0)
        answer.is_own = answer.author_id == viewer_id
        answer.is_accepted = answer.pk == question.accepted_answer_id
    return answers


def _shared_part(request, question, *, is_asker: bool) -> str:
    """The layer's part for any member (`is_asker`: for the asker), once per page version."""

    def render_part() -> str:
        rows = selectors.question_answer_rows(question=question)
        context = {
            "request": request,
            "user": request.user,  # only asked whether someone is logged in
            "question": question,
            "answers": _answer_states(rows, question=question, votes={}, viewer_id=None),
            "is_asker": is_asker,
            "can_moderate": False,
            "answer_form": AnswerForm(),
        }
        return render_to_string("forum/_layer_shared.html", context)  # no request: no token

    name = "asker" if is_asker else "member"
    # our own rendered, escaped markup
    return mark_safe(shared_markup(question_id=question.pk, name=name, render_markup=render_part))


def _question_context(request, question) -> dict:
    user = request.user
    is_asker = user.pk == question.author_id
    # Their own answers and those they voted on: the shared part has the rest.
    mine = selectors.question_answers_of_member(question=question, viewer=user)
    votes = {f"a{answer.pk}": answer.viewer_vote for answer in mine if answer.viewer_vote}
    if question.viewer_vote:
        votes[f"q{question.pk}"] = question.viewer_vote
    context = {
        "question": question,
        "shared_part": _shared_part(request, question, is_asker=is_asker),
        "answers": _answer_states(mine, question=question, votes=votes, viewer_id=user.pk),
        "question_vote": votes.get(f"q{question.pk}", 0),
        "is_asker": is_asker,
        "can_moderate": False,
    }
    if any(answer.is_hidden for answer in mine):  # their own hidden answers: the whole list
        answers = selectors.question_page(question=question, viewer=user).answers
        _answer_states(answers, question=question, votes=votes, viewer_id=user.pk)
        context.update(answers=answers, whole_answers=True)
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
        try:
            question = selectors.question_of_layer(question_id=question_id, viewer=user)
        except Question.DoesNotExist:
            raise Http404("No such question") from None
        view_count(request, question.pk)
        request = _page_request(request, question.get_absolute_url())
        context = _question_context(request, question)
    response = render(request, "forum/_layer.html", context)
    response["Cache-Control"] = "private, no-store"
    return member_hint(request, response)
