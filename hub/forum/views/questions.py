"""The question page (one render, shared through hub.forum.page_cache) and its edit."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from hub.accounts.selectors import user_is_moderator
from hub.core.ratelimit import RateLimited
from hub.core.web import login_then, rate_limited_response, render_error

from .. import selectors, services
from ..forms import AnswerForm, CloseForm, QuestionForm
from ..models import Question
from ..page_cache import SharedPage, view_count
from .common import question_or_404


def question_page_context(request, question: Question, **extra) -> dict:
    """What forum/_question_main.html needs, for request.user (an anonymous stand-in when
    the page is shared)."""
    page = selectors.question_page(question=question, viewer=request.user)
    can_moderate = user_is_moderator(user=request.user)
    viewer_id = request.user.pk
    for answer in page.answers:
        answer.my_vote = page.votes.get(f"a{answer.pk}", 0)
        answer.is_own = answer.author_id == viewer_id
        answer.is_accepted = answer.pk == question.accepted_answer_id
    return {
        "question": question,
        "answers": page.answers,
        "question_comments": page.question_comments,
        "votes": page.votes,
        "question_vote": page.votes.get(f"q{question.pk}", 0),
        "is_asker": request.user.is_authenticated and request.user.pk == question.author_id,
        "can_moderate": can_moderate,
        "answer_form": extra.pop("answer_form", None) or AnswerForm(),
        "close_form": CloseForm() if can_moderate else None,
        **extra,
    }


@require_safe
def question_detail(request, question_id: int, slug: str = ""):
    question = question_or_404(request, question_id)
    if slug != question.slug:
        return redirect(question.get_absolute_url(), permanent=True)
    view_count(request, question.pk)
    # A hidden question only its author and moderators see: never shared.
    page = SharedPage(request, question_id=question.pk, shareable=not question.is_hidden)
    context = question_page_context(page.request, question)
    return page.render("forum/question_detail.html", context)


def question_edit(request, question_id: int):
    question = question_or_404(request, question_id)
    if not request.user.is_authenticated:
        return login_then(request, request.get_full_path())
    if not (request.user.pk == question.author_id or user_is_moderator(user=request.user)):
        return render_error(
            request, status=403, message="Only the author or a moderator can edit this question."
        )
    status = 200
    if request.method == "POST":
        form = QuestionForm(request.POST)
        if form.is_valid():
            try:
                question = services.question_edit(
                    question=question, editor=request.user, **form.cleaned_data
                )
            except RateLimited as error:
                return rate_limited_response(request, error)
            except PermissionDenied as error:
                return render_error(request, status=403, message=str(error))
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, "Saved. The previous version is in the history.")
                return redirect(question.get_absolute_url())
        status = 400
    else:
        form = QuestionForm(
            initial={
                "title": question.title,
                "body": question.body,
                "tags": " ".join(t.name for t in question.tags.all()),
            }
        )
    return render(
        request, "forum/question_edit.html", {"form": form, "question": question}, status=status
    )
