"""The question page (cached parts for members, a cached page for visitors) and its edit."""

from types import SimpleNamespace

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from hub.accounts.selectors import user_is_moderator
from hub.core.ratelimit import RateLimited
from hub.core.web import client_ip, login_then, rate_limited_response, render_error

from .. import selectors, services
from ..forms import AnswerForm, CloseForm, QuestionForm
from ..models import Question
from ..page_cache import CachedPage
from .common import FRAGMENT_CACHE_SECONDS, question_or_404

VIEW_DEDUP_SECONDS = 3600  # a person re-reading a question within an hour counts once


def _view_key(request, question_id: int) -> str:
    who = request.user.pk if request.user.is_authenticated else client_ip(request)
    return f"qview:{question_id}:{who}"


def _count_view(request, question_id: int, *, seen: bool = False) -> None:
    if not seen and cache.add(_view_key(request, question_id), 1, timeout=VIEW_DEDUP_SECONDS):
        services.question_view_count(question_id=question_id)


# Between the cached parts of an answer (see forum/_answer_static.html).
ANSWER_SPLIT = "<!--gradhub:split-->"


def _answer_parts(question: Question, pks: list[int]) -> dict[int, list]:
    """Body, author card and comment list of each answer, cached on (answer, render_version):
    the same for every member, so per-user bits (votes, forms, links) stay out of them."""
    keys = {pk: f"forum:answer:{pk}:{question.render_version}" for pk in pks}
    parts = cache.get_many(keys.values())
    missing = [pk for pk, key in keys.items() if key not in parts]
    if missing:
        fresh = {
            keys[answer.pk]: render_to_string("forum/_answer_static.html", {"answer": answer})
            for answer in selectors.answers_with_comments(answer_ids=missing)
        }
        cache.set_many(fresh, FRAGMENT_CACHE_SECONDS)
        parts.update(fresh)
    # our own rendered, escaped markup
    return {
        pk: [mark_safe(part) for part in parts[key].split(ANSWER_SPLIT)]
        for pk, key in keys.items()
        if key in parts
    }


def _question_comments_markup(question: Question) -> str:
    """The question's comment list as a member who is not a moderator sees it, cached on
    (question, render_version) like the answers' parts: every comment write bumps it."""
    key = f"forum:qcomments:{question.pk}:{question.render_version}"
    markup = cache.get(key)
    if markup is None:
        comments = selectors.question_comments(question=question)
        markup = render_to_string(
            "forum/_comment_list.html", {"comments": comments, "can_moderate": False}
        )
        cache.set(key, markup, FRAGMENT_CACHE_SECONDS)
    return mark_safe(markup)  # our own rendered, escaped markup


def _member_context(request, question: Question) -> dict:
    """The question page for a member who is not a moderator: answers from cached parts."""
    viewer = request.user
    rows = selectors.question_answer_rows(question=question, viewer=viewer)
    parts = _answer_parts(question, [row["pk"] for row in rows])
    votes = selectors.question_votes(question=question, viewer=viewer, answer_ids=list(parts))
    answers = [
        SimpleNamespace(
            **row,
            parts=parts[row["pk"]],
            my_vote=votes.get(f"a{row['pk']}", 0),
            is_own=row["author_id"] == viewer.pk,
            is_accepted=row["pk"] == question.accepted_answer_id,
        )
        for row in rows
        if row["pk"] in parts
    ]
    return {
        "question": question,
        "answers": answers,
        "question_comments_html": _question_comments_markup(question),
        "question_vote": votes.get(f"q{question.pk}", 0),
        "is_asker": viewer.pk == question.author_id,
        "can_moderate": False,
        "answer_form": AnswerForm(),
        "close_form": None,
    }


def question_page_context(request, question: Question, **extra) -> dict:
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


# Where the live traces fragment goes in the cached main content. An HTML comment: user markdown
# cannot produce one (nh3 strips comments) and titles are escaped.
TRACES_SLOT = "<!--gradhub:traces-->"


def _anonymous_context(request, question: Question) -> dict:
    """The question page for a visitor who is not logged in: the main content from the cache
    when this version of the question was rendered before (nothing personal in it: no vote
    state, no forms, no CSRF token), rendered and stored otherwise. The traces fragment (live
    trace states) is rendered on every request."""
    key = f"forum:qpage:{question.pk}:{question.render_version}"
    parts = cache.get(key)
    if parts is None:
        question = selectors.question_detail(question_id=question.pk, viewer=request.user)
        context = question_page_context(request, question, traces_slot=mark_safe(TRACES_SLOT))
        html = render_to_string("forum/_question_main.html", context, request=request)
        parts = html.split(TRACES_SLOT, 1)
        cache.set(key, parts, FRAGMENT_CACHE_SECONDS)
    before, after = parts
    # our own rendered, escaped markup
    return {"question": question, "main_before": mark_safe(before), "main_after": mark_safe(after)}


@require_safe
def question_detail(request, question_id: int, slug: str = ""):
    if request.user.is_authenticated:
        question = question_or_404(request, question_id)
    else:
        view_key = _view_key(request, question_id)
        cached = CachedPage(request, question_id=question_id, also=[view_key])
        if cached.response is not None:  # only the canonical path of a visible question
            # The visitor's view mark came with the page: one who returns costs no round trip.
            _count_view(request, question_id, seen=view_key in cached.found)
            return cached.response
        try:  # the columns the cache key, the redirect and the page head need
            question = selectors.question_head(question_id=question_id)
        except Question.DoesNotExist:
            raise Http404("No such question") from None
    if slug != question.slug:
        return redirect(question.get_absolute_url(), permanent=True)
    _count_view(request, question.pk)
    if request.user.is_authenticated:
        if user_is_moderator(user=request.user):  # hide/restore controls everywhere
            context = question_page_context(request, question)
        else:
            context = _member_context(request, question)
        return render(request, "forum/question_detail.html", context)
    response = render(request, "forum/question_detail.html", _anonymous_context(request, question))
    return cached.store(response)


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
