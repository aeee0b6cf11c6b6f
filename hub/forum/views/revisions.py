"""The history of a question or an answer: every revision with a diff against the one before."""

import difflib

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from hub.accounts.selectors import user_is_moderator

from ..models import Answer, Revision
from .common import question_or_404


def _diff_lines(old: str, new: str) -> list[tuple[str, str]]:
    """(kind, line) pairs of a unified diff: kind is add, del, ctx or hunk."""
    rows = []
    diff = difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=2)
    for line in list(diff)[2:]:  # skip the ---/+++ header
        if line.startswith("@@"):
            rows.append(("hunk", line))
        elif line.startswith("+"):
            rows.append(("add", line[1:]))
        elif line.startswith("-"):
            rows.append(("del", line[1:]))
        else:
            rows.append(("ctx", line[1:]))
    return rows


def _revisions_page(request, *, revisions, question, subject: str, post_url: str):
    entries = []
    previous = None
    for revision in revisions:
        entry = {"revision": revision, "title_changed": False, "tags_changed": False}
        if previous is not None:
            entry["diff"] = _diff_lines(previous.body, revision.body)
            entry["title_changed"] = previous.title != revision.title
            entry["tags_changed"] = previous.tags != revision.tags
            entry["old_title"], entry["old_tags"] = previous.title, previous.tags
        entries.append(entry)
        previous = revision
    entries.reverse()  # newest first
    return render(
        request,
        "forum/revisions.html",
        {"entries": entries, "question": question, "subject": subject, "post_url": post_url},
    )


@require_safe
def question_revisions(request, question_id: int):
    question = question_or_404(request, question_id)
    revisions = Revision.objects.filter(question=question).select_related("editor")
    return _revisions_page(
        request,
        revisions=revisions,
        question=question,
        subject="question",
        post_url=question.get_absolute_url(),
    )


@require_safe
def answer_revisions(request, pk: int):
    answer = get_object_or_404(Answer, pk=pk)
    question = question_or_404(request, answer.question_id)
    if answer.is_hidden and not user_is_moderator(user=request.user):
        raise Http404("No such answer")
    revisions = Revision.objects.filter(answer=answer).select_related("editor")
    return _revisions_page(
        request,
        revisions=revisions,
        question=question,
        subject="answer",
        post_url=answer.get_absolute_url(),
    )
