"""Forum pages. Thin: parse input, call one service or selector, render or redirect."""

import difflib
import logging
from types import SimpleNamespace

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST, require_safe

from hub.accounts.selectors import user_is_moderator
from hub.core.ratelimit import RateLimited, rate_limit
from hub.core.web import (
    RATE_IP_POST,
    client_ip,
    ip_limit,
    login_then,
    rate_limited_response,
    render_error,
    safe_next_url,
)
from hub.glossary.markdown import render_markdown
from hub.notifications.services import question_follow_toggle

from . import selectors, services
from .forms import AnswerForm, CloseForm, CommentForm, QuestionForm
from .models import Answer, Comment, Question, Revision, Tag
from .page_cache import CachedPage, CachedPart
from .templatetags.forum_tags import marked_snippet

logger = logging.getLogger(__name__)

PAGE_SIZE = 20
# Per-IP limits on writes from the web (a second fence behind the per-user limits in the
# services: many throwaway accounts behind one address). Ours.
RATE_IP_VOTE = (300, 3600)
RATE_LOOKUP_IP = (600, 300)  # similar-question and tag look-ups while typing (debounced)
RATE_PREVIEW = (120, 600)  # previews per user: one every few seconds of typing
PREVIEW_MAX_LENGTH = 30_000
VIEW_DEDUP_SECONDS = 3600  # a person re-reading a question within an hour counts once
# Anonymous visitors get the answers and comments of a question page from the cache, keyed on
# Question.render_version (bumped by every write service), so a write shows at once. The
# lifetime bounds the drift of what no write on this question bumps: authors' reputation and
# "n minutes ago". Ours: a minute of drift on those is invisible to a reader.
FRAGMENT_CACHE_SECONDS = 60


def _messages_of(error: ValidationError) -> list[str]:
    return list(error.messages)


def _back(request, fallback: str):
    """Where a POST action returns: its `next` if it is a local path, else the fallback."""
    target = request.POST.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(fallback)


# --- lists -----------------------------------------------------------------------------------


def _page(request, queryset):
    paginator = Paginator(queryset, PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))


def _question_row_keys(request, queryset) -> tuple:
    """A page of the list and the cache keys of its rows: (id, render_version) each.

    The page query reads ids and versions only; _question_rows loads questions (with authors
    and tags) for the rows not in the cache.
    """
    versions = queryset.prefetch_related(None).values_list("pk", "render_version")
    page = _page(request, versions)
    keys = {pk: f"forum:qrow:{pk}:{version}" for pk, version in page.object_list}
    return page, (queryset, keys)


def _rows_markup(queryset, keys: dict[int, str], **context) -> dict[str, str]:
    """Markup of the rows `keys` names (question id → cache key), from the cache or rendered
    from `queryset`. A row holds nothing personal. What no write on the question bumps (views,
    the author's reputation, "n minutes ago") may lag by FRAGMENT_CACHE_SECONDS."""
    rows = cache.get_many(keys.values())
    missing = [pk for pk, key in keys.items() if key not in rows]
    if missing:
        fresh = {
            keys[q.pk]: render_to_string("forum/_question_summary.html", {"q": q, **context})
            for q in queryset.filter(pk__in=missing).order_by()
        }
        cache.set_many(fresh, FRAGMENT_CACHE_SECONDS)
        rows.update(fresh)
    return rows


def _question_rows(row_keys) -> list[str]:
    queryset, keys = row_keys
    rows = _rows_markup(queryset, keys)
    # A question hidden or deleted between the two queries drops out of this page.
    return [mark_safe(rows[key]) for key in keys.values() if key in rows]  # our escaped markup


# Where a search result's snippet goes in its cached row (an HTML comment, as TRACES_SLOT).
SNIPPET_SLOT = "<!--gradhub:snippet-->"


def _snippet_html(hit: dict) -> str:
    if hit["snippet"]:
        snippet = marked_snippet(hit["snippet"])
        return format_html('<p class="q-excerpt search-snippet">{}</p>', snippet)
    if hit["excerpt"]:
        return format_html('<p class="q-excerpt">{}</p>', hit["excerpt"])
    return ""


def _search_rows(request, hits: list[dict]) -> list[str]:
    """Each hit's list row (cached like the lists' rows) with its own snippet in the slot."""
    keys = {hit["pk"]: f"forum:srow:{hit['pk']}:{hit['render_version']}" for hit in hits}
    queryset = selectors.question_list(viewer=request.user)
    rows = _rows_markup(queryset, keys, snippet_slot=mark_safe(SNIPPET_SLOT))
    results = []
    for hit in hits:
        if (row := rows.get(keys[hit["pk"]])) is not None:
            before, after = row.split(SNIPPET_SLOT, 1)
            results.append(mark_safe(before + _snippet_html(hit) + after))  # escaped above
    return results


@require_safe
def question_list(request):
    sort = request.GET.get("sort", "newest")
    if sort not in selectors.SORTS:
        sort = "newest"
    cached = CachedPage(request)
    if cached.response is not None:
        return cached.response
    part = None
    if request.user.is_authenticated and not user_is_moderator(user=request.user):
        part = CachedPart(request, name="question-list")  # moderators also see hidden ones
    context = {"sort": sort, "sorts": selectors.SORTS, "heading": "Questions"}
    markup = part.markup if part is not None else None
    if markup is None:
        page, row_keys = _question_row_keys(
            request, selectors.question_list(sort=sort, viewer=request.user)
        )
        context.update(page=page, rows=_question_rows(row_keys))
        if part is not None:
            markup = render_to_string("forum/_question_list_main.html", context, request=request)
            part.store(markup)
    if markup is not None:
        context["main_html"] = mark_safe(markup)  # our own rendered, escaped markup
    response = render(request, "forum/question_list.html", context)
    return cached.store(response)


@require_safe
def tag_list(request):
    query = request.GET.get("q", "").strip()[:50]
    sort = "name" if request.GET.get("sort") == "name" else "popular"
    page = _page(request, selectors.tag_list(query=query, sort=sort))
    return render(request, "forum/tag_list.html", {"page": page, "query": query, "sort": sort})


@require_safe
def tag_detail(request, name: str):
    try:
        tag = selectors.tag_get(name=name)
    except Tag.DoesNotExist:
        raise Http404("No such tag") from None
    sort = request.GET.get("sort", "newest")
    if sort not in selectors.SORTS:
        sort = "newest"
    questions = selectors.question_list(sort=sort, tag=tag.name, viewer=request.user)
    page, row_keys = _question_row_keys(request, questions)
    rows = _question_rows(row_keys)
    return render(
        request,
        "forum/tag_detail.html",
        {
            "tag": tag,
            "page": page,
            "rows": rows,
            "sort": sort,
            "sorts": selectors.SORTS,
        },
    )


def _lookup_limited(request) -> JsonResponse | None:
    try:
        ip_limit(request, scope="lookup", rule=RATE_LOOKUP_IP)
    except RateLimited as error:
        return JsonResponse(
            {"results": [], "error": str(error)},
            status=429,
            headers={"Retry-After": str(error.retry_after)},
        )
    return None


@require_safe
def tag_autocomplete(request):
    if limited := _lookup_limited(request):
        return limited
    rows = selectors.tag_autocomplete(prefix=request.GET.get("q", "")[:50])
    return JsonResponse({"results": rows})


@require_safe
def search(request):
    query = request.GET.get("q", "").strip()[:200]
    hits = selectors.question_search_hits(query=query, viewer=request.user) if query else []
    results = _search_rows(request, hits)
    return render(request, "forum/search.html", {"query": query, "results": results})


@require_safe
def question_similar(request):
    if limited := _lookup_limited(request):
        return limited
    results = selectors.question_similar(title=request.GET.get("title", "")[:200])
    return JsonResponse(
        {
            "results": [
                {
                    "id": q.pk,
                    "title": q.title,
                    "url": q.get_absolute_url(),
                    "score": q.score,
                    "answer_count": q.answer_count,
                    "answered": q.accepted_answer_id is not None,
                }
                for q in results
            ]
        }
    )


@require_POST
def markdown_preview(request):
    """The editor's live preview: the posted `body` rendered exactly as it will be stored."""
    if not request.user.is_authenticated:
        return HttpResponse("Log in to preview.", status=403, content_type="text/plain")
    limit, period = RATE_PREVIEW
    try:
        rate_limit(
            scope="preview", key=f"user:{request.user.pk}", limit=limit, period_seconds=period
        )
    except RateLimited as error:
        return HttpResponse(str(error), status=429, headers={"Retry-After": error.retry_after})
    body = (request.POST.get("body") or "")[:PREVIEW_MAX_LENGTH]
    if not body.strip():
        return HttpResponse('<p class="muted">Nothing to preview yet.</p>')
    return HttpResponse(render_markdown(body))


# --- the question page -----------------------------------------------------------------------


def _question_or_404(request, question_id: int) -> Question:
    try:
        return selectors.question_detail(question_id=question_id, viewer=request.user)
    except Question.DoesNotExist:
        raise Http404("No such question") from None


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


def _detail_context(request, question: Question, **extra) -> dict:
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
        context = _detail_context(request, question, traces_slot=mark_safe(TRACES_SLOT))
        html = render_to_string("forum/_question_main.html", context, request=request)
        parts = html.split(TRACES_SLOT, 1)
        cache.set(key, parts, FRAGMENT_CACHE_SECONDS)
    before, after = parts
    # our own rendered, escaped markup
    return {"question": question, "main_before": mark_safe(before), "main_after": mark_safe(after)}


@require_safe
def question_detail(request, question_id: int, slug: str = ""):
    if request.user.is_authenticated:
        question = _question_or_404(request, question_id)
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
            context = _detail_context(request, question)
        else:
            context = _member_context(request, question)
        return render(request, "forum/question_detail.html", context)
    response = render(request, "forum/question_detail.html", _anonymous_context(request, question))
    return cached.store(response)


@require_POST
def answer_create(request, question_id: int):
    question = _question_or_404(request, question_id)
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
    context = _detail_context(request, question, answer_form=form)
    return render(request, "forum/question_detail.html", context, status=400)


def _target(kind: str, pk: int):
    model = {"questions": Question, "answers": Answer}[kind]
    target = get_object_or_404(model.objects.select_related("author"), pk=pk)
    question = target if model is Question else target.question
    return target, question


@require_POST
def comment_create(request, kind: str, pk: int):
    target, question = _target(kind, pk)
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
        messages.error(request, " ".join(_messages_of(error)))
        return redirect(question.get_absolute_url())
    return redirect(comment.get_absolute_url())


@require_POST
def vote(request, kind: str, pk: int):
    target, question = _target(kind, pk)
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
        return render_error(request, status=400, message=" ".join(_messages_of(error)))
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


# --- editing and history ---------------------------------------------------------------------


def question_edit(request, question_id: int):
    question = _question_or_404(request, question_id)
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


def answer_edit(request, pk: int):
    answer = get_object_or_404(Answer.objects.select_related("question"), pk=pk)
    question = _question_or_404(request, answer.question_id)
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
    question = _question_or_404(request, question_id)
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
    question = _question_or_404(request, answer.question_id)
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


# --- moderation actions on the question page -------------------------------------------------


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
        messages.error(request, " ".join(_messages_of(error)))
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
