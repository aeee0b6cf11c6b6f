"""Votes and comments on a question or an answer."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from hub.core.ratelimit import RateLimited
from hub.core.web import (
    RATE_IP_POST,
    ip_limit,
    login_then,
    rate_limited_response,
    render_error,
)

from .. import selectors, services
from ..forms import CommentForm
from ..models import Answer
from .common import messages_of, question_or_404

# Per-IP limits on writes from the web (a second fence behind the per-user limits in the
# services: many throwaway accounts behind one address). Ours.
RATE_IP_VOTE = (300, 3600)


def _target(request, kind: str, pk: int):
    """The post and its question, if the viewer sees them on the question page; a 404 if not,
    as that page answers (the services refuse hidden posts to those who still see them)."""
    if kind == "questions":
        question = question_or_404(request, pk)
        return question, question
    try:
        answer = selectors.answer_detail(answer_id=pk, viewer=request.user)
    except Answer.DoesNotExist:
        raise Http404("No such answer") from None
    return answer, answer.question


@require_POST
def comment_create(request, kind: str, pk: int):
    target, question = _target(request, kind, pk)
    if not request.user.is_authenticated:
        return login_then(request, question.get_absolute_url())
    form = CommentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A comment needs some text (at most 600 characters).")
        return redirect(question.get_absolute_url())
    try:
        ip_limit(request, scope="post", rule=RATE_IP_POST)
        comment = services.comment_create(
            author=request.user, target=target, body=form.cleaned_data["body"]
        )
    except RateLimited as error:
        return rate_limited_response(request, error)
    except PermissionDenied as error:
        return render_error(request, status=403, message=str(error))
    except ValidationError as error:
        messages.error(request, " ".join(messages_of(error)))
        return redirect(question.get_absolute_url())
    return redirect(comment.get_absolute_url())


@require_POST
def vote(request, kind: str, pk: int):
    target, question = _target(request, kind, pk)
    if not request.user.is_authenticated:
        return login_then(request, question.get_absolute_url())
    try:
        value = int(request.POST.get("value", ""))
    except ValueError:
        return render_error(request, status=400, message="A vote is 1, -1 or 0.")
    # Pressing the arrow you already chose withdraws the vote.
    current = request.POST.get("current")
    if current is not None and current == str(value):
        value = 0
    try:
        ip_limit(request, scope="vote", rule=RATE_IP_VOTE)
        score = services.vote_cast(user=request.user, target=target, value=value)
    except RateLimited as error:
        return rate_limited_response(request, error)
    except PermissionDenied as error:
        return render_error(request, status=403, message=str(error))
    except ValidationError as error:
        return render_error(request, status=400, message=" ".join(messages_of(error)))
    if request.headers.get("HX-Request"):
        return render(
            request,
            "forum/_vote.html",
            {
                "kind": kind,
                "post": target,
                "score": score,
                "my_vote": value,
                "own": False,
            },
        )
    anchor = "" if kind == "questions" else f"#answer-{target.pk}"
    return redirect(question.get_absolute_url() + anchor)
