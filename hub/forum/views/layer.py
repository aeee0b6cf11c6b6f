"""The member layer: what differs for a member on a shared page (hub.forum.page_cache): their
header, and on a question page their votes, controls, comment and answer forms, follow state
and their own hidden answers. The shared page brings it when all its parts are kept; else
forum.js asks for it here, in one small request after the page.

Each piece is rendered by the include the page itself uses, for the member and for the
page's own path, so the document forum.js makes equals the page rendered for them alone
(tests/browser/test_member_layer.py compares the two per role). What is the same for every
member on a version of the page (the forms, and the controls of the answers they neither
wrote nor voted on) is rendered once per version (page_cache.shared_markup), the pieces of
those answers once for all of them (EACH_ANSWER); the member's own parts are stored for them
(page_cache.member_part_store), so that their next page brings the layer from the cache. No part holds a CSRF token: forum.js gives their
forms the member's, from the CSRF cookie."""

import copy
from types import SimpleNamespace

from django.contrib.auth import HASH_SESSION_KEY
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from hub.accounts.selectors import user_is_moderator
from hub.notifications.selectors import notification_unread_count

from .. import selectors
from ..forms import AnswerForm
from ..models import Question
from ..page_cache import (
    layer_document,
    member_hint,
    member_part_store,
    member_part_versions,
    shared_markup,
    view_count,
)


def _page_request(request, path: str):
    """The request as the page at `path` saw it (templates link back to request.path)."""
    page_request = copy.copy(request)
    page_request.path = page_request.path_info = path
    return page_request


# An answer every member sees in the same state, as the shared part renders it once for all such
# answers: forum.js puts each one's id and score in place of these placeholders.
EACH_ANSWER = SimpleNamespace(
    pk="{id}", score="{score}", my_vote=0, is_own=False, is_accepted=False, is_hidden=False
)


def _answer_states(answers, *, question, votes: dict, viewer_id) -> list:
    for answer in answers:
        answer.my_vote = votes.get(f"a{answer.pk}", 0)
        answer.is_own = answer.author_id == viewer_id
        answer.is_accepted = answer.pk == question.accepted_answer_id
    return answers


def _shared_part(request, question, *, is_asker: bool) -> bytes:
    """The layer's part for any member (`is_asker`: for the asker), once per page version."""

    def render_part() -> str:
        rows = selectors.question_answer_rows(question=question)
        _answer_states(rows, question=question, votes={}, viewer_id=None)
        context = {
            "request": request,
            "user": request.user,  # only asked whether someone is logged in
            "question": question,
            # the accepted answer's pieces as they are; the others' made by forum.js from one
            # rendering (their placeholders) and their ids and scores
            "answers": [answer for answer in rows if answer.is_accepted],
            "each_answer": EACH_ANSWER,
            "each_rows": " ".join(f"{a.pk}:{a.score}" for a in rows if not a.is_accepted),
            "is_asker": is_asker,
            "can_moderate": False,
            "answer_form": AnswerForm(),
        }
        return render_to_string("forum/_layer_shared.html", context)  # no request: no token

    name = "asker" if is_asker else "member"
    return shared_markup(question_id=question.pk, name=name, render_markup=render_part)


def _own_context(request, question) -> dict:
    """The member's own part of a question page: their vote, their own and voted answers'
    controls (or the whole list when one of their answers is hidden), their follow state."""
    user = request.user
    is_asker = user.pk == question.author_id
    # Their own answers and those they voted on: the shared part has the rest.
    mine = selectors.question_answers_of_member(question=question, viewer=user)
    votes = {f"a{answer.pk}": answer.viewer_vote for answer in mine if answer.viewer_vote}
    if question.viewer_vote:
        votes[f"q{question.pk}"] = question.viewer_vote
    context = {
        "request": request,
        "user": user,
        "question": question,
        "answers": _answer_states(mine, question=question, votes=votes, viewer_id=user.pk),
        "question_vote": votes.get(f"q{question.pk}", 0),
        "is_asker": is_asker,
        "can_moderate": False,
        "csrf_token": "",  # none: forum.js fills each form's empty token (the follow button's)
    }
    if any(answer.is_hidden for answer in mine):  # their own hidden answers: the whole list
        answers = selectors.question_page(question=question, viewer=user).answers
        _answer_states(answers, question=question, votes=votes, viewer_id=user.pk)
        context.update(answers=answers, whole_answers=True)
    return context


@require_safe
def member_layer(request, question_id: int | None = None):
    user = request.user
    if not user.is_authenticated:  # a stale hint: the visitor's page is theirs already
        response = HttpResponse("")
        response["Cache-Control"] = "private, no-store"
        return member_hint(request, response)
    if user_is_moderator(user=user):  # a moderator's page is rendered for them (hidden posts)
        response = HttpResponse("<template data-reload></template>")
        response["Cache-Control"] = "private, no-store"
        return member_hint(request, response)
    auth_hash = request.session.get(HASH_SESSION_KEY, "")
    versions = member_part_versions(user_id=user.pk, question_id=None)  # before the reads
    context = {"user": user, "unread_notifications": notification_unread_count(user=user)}
    nav = render_to_string("forum/_layer_nav.html", context).encode()
    member_part_store(
        user_id=user.pk, question_id=None, versions=versions, auth_hash=auth_hash, markup=nav
    )
    parts = [nav]
    if question_id is not None:
        versions = member_part_versions(user_id=user.pk, question_id=question_id)
        try:
            question = selectors.question_of_layer(question_id=question_id, viewer=user)
        except Question.DoesNotExist:
            raise Http404("No such question") from None
        view_count(request, question.pk)
        page_request = _page_request(request, question.get_absolute_url())
        context = _own_context(page_request, question)
        own = render_to_string("forum/_layer_own.html", context).encode()  # no token
        if not context["is_asker"]:  # the asker's trace states change with no bump
            member_part_store(
                user_id=user.pk,
                question_id=question.pk,
                versions=versions,
                auth_hash=auth_hash,
                markup=own,
            )
        parts += [_shared_part(page_request, question, is_asker=context["is_asker"]), own]
    get_token(request)  # forum.js reads it from the CSRF cookie: sets the cookie if missing
    return member_hint(request, layer_document(parts))
