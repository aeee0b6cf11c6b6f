"""Answering, editing an answer, accepting one."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from hub.accounts.selectors import user_is_moderator
from hub.core.ratelimit import RateLimited
from hub.core.web import (
    RATE_IP_POST,
    ip_limit,
    login_then,
    rate_limited_response,
    render_error,
)

from .. import services
from ..forms import AnswerForm
from ..models import Answer
from .common import question_or_404
from .questions import question_page_context


@require_POST
def answer_create(request, question_id: int):
    question = question_or_404(request, question_id)
    if not request.user.is_authenticated:
        return login_then(request, question.get_absolute_url() + "#your-answer")
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            ip_limit(request, scope="post", rule=RATE_IP_POST)
            answer = services.answer_create(
                author=request.user, question=question, body=form.cleaned_data["body"]
            )
        except RateLimited as error:
            return rate_limited_response(request, error)
        except PermissionDenied as error:
            return render_error(request, status=403, message=str(error))
        except ValidationError as error:
            form.add_error("body", error)
        else:
            return redirect(answer.get_absolute_url())
    context = question_page_context(request, question, answer_form=form)
    return render(request, "forum/question_detail.html", context, status=400)


def answer_edit(request, pk: int):
    answer = get_object_or_404(Answer.objects.select_related("question"), pk=pk)
    question = question_or_404(request, answer.question_id)
    if not request.user.is_authenticated:
        return login_then(request, request.get_full_path())
    if not (request.user.pk == answer.author_id or user_is_moderator(user=request.user)):
        return render_error(
            request, status=403, message="Only the author or a moderator can edit this answer."
        )
    status = 200
    if request.method == "POST":
        form = AnswerForm(request.POST)
        if form.is_valid():
            try:
                answer = services.answer_edit(
                    answer=answer, editor=request.user, body=form.cleaned_data["body"]
                )
            except RateLimited as error:
                return rate_limited_response(request, error)
            except PermissionDenied as error:
                return render_error(request, status=403, message=str(error))
            except ValidationError as error:
                form.add_error("body", error)
            else:
                messages.success(request, "Saved. The previous version is in the history.")
                return redirect(answer.get_absolute_url())
        status = 400
    else:
        form = AnswerForm(initial={"body": answer.body})
    return render(
        request,
        "forum/answer_edit.html",
        {"form": form, "answer": answer, "question": question},
        status=status,
    )


@require_POST
def answer_accept(request, pk: int):
    answer = get_object_or_404(Answer.objects.select_related("question", "author"), pk=pk)
    if not request.user.is_authenticated:
        return login_then(request, answer.question.get_absolute_url())
    try:
        if answer.question.accepted_answer_id == answer.pk:
            services.answer_unaccept(user=request.user, answer=answer)
        else:
            services.answer_accept(user=request.user, answer=answer)
    except PermissionDenied as error:
        return render_error(request, status=403, message=str(error))
    return redirect(answer.get_absolute_url())
