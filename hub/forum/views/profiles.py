"""A person's profile page, and following a question (served here, where questions are)."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from hub.core.web import safe_next_url
from hub.notifications.services import question_follow_toggle

from .. import selectors
from ..models import Question


@login_required
@require_POST
def question_follow_toggle_view(request, question_id: int):
    question = get_object_or_404(Question, pk=question_id, is_hidden=False)
    following = question_follow_toggle(user=request.user, question=question)
    if following:
        messages.success(request, "You follow this question: new answers will notify you.")
    else:
        messages.success(request, "You no longer follow this question.")
    return redirect(safe_next_url(request, question.get_absolute_url()))


@require_safe
def user_profile(request, username: str):
    try:
        person = selectors.user_get_by_username(username=username)
    except get_user_model().DoesNotExist:
        raise Http404("No such user") from None
    page = selectors.user_profile_page(user=person, viewer=request.user)
    return render(
        request,
        "accounts/profile.html",
        {"page": page, "person": person, "is_me": request.user.pk == person.pk},
    )
