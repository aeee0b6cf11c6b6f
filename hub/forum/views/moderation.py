"""Moderators' actions on the question page: close, reopen, hide and restore posts."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from hub.core.web import login_then, render_error

from .. import services
from ..forms import CloseForm
from ..models import Answer, Comment, Question
from .common import messages_of


def _back(request, fallback: str):
    """Where a POST action returns: its `next` if it is a local path, else the fallback."""
    target = request.POST.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(fallback)


@require_POST
def question_close(request, question_id: int):
    question = get_object_or_404(Question, pk=question_id)
    if not request.user.is_authenticated:
        return login_then(request, question.get_absolute_url())
    form = CloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect(question.get_absolute_url())
    try:
        services.question_close(
            moderator=request.user,
            question=question,
            reason=form.cleaned_data["reason"],
            duplicate_of=form.cleaned_data.get("duplicate_question"),
        )
    except PermissionDenied as error:
        return render_error(request, status=403, message=str(error))
    except ValidationError as error:
        messages.error(request, " ".join(messages_of(error)))
    return redirect(question.get_absolute_url())


@require_POST
def question_reopen(request, question_id: int):
    question = get_object_or_404(Question, pk=question_id)
    if not request.user.is_authenticated:
        return login_then(request, question.get_absolute_url())
    try:
        services.question_reopen(moderator=request.user, question=question)
    except PermissionDenied as error:
        return render_error(request, status=403, message=str(error))
    return redirect(question.get_absolute_url())


@require_POST
def post_visibility(request, kind: str, pk: int, action: str):
    model = {"questions": Question, "answers": Answer, "comments": Comment}[kind]
    target = get_object_or_404(model, pk=pk)
    if not request.user.is_authenticated:
        return login_then(request, "/questions/")
    service = services.post_hide if action == "hide" else services.post_unhide
    try:
        service(moderator=request.user, target=target)
    except PermissionDenied as error:
        return render_error(request, status=403, message=str(error))
    fallback = target.get_absolute_url() if model is not Question else reverse("forum:questions")
    if model is Question and action == "unhide":
        fallback = target.get_absolute_url()
    return _back(request, fallback)
