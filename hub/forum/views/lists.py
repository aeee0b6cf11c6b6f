"""The question lists: newest/active/..., tags, a tag's questions, search."""

from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from hub.accounts.selectors import user_is_moderator
from hub.core.web import text_param

from .. import selectors
from ..models import Tag
from ..page_cache import CachedPage, CachedPart
from ..templatetags.forum_tags import marked_snippet
from .common import FRAGMENT_CACHE_SECONDS

PAGE_SIZE = 20


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
    query = text_param(request.GET, "q").strip()[:50]
    sort = "name" if request.GET.get("sort") == "name" else "popular"
    page = _page(request, selectors.tag_list(query=query, sort=sort))
    return render(request, "forum/tag_list.html", {"page": page, "query": query, "sort": sort})


@require_safe
def tag_detail(request, slug: str):
    try:
        tag = selectors.tag_get(slug=slug)
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


@require_safe
def search(request):
    query = text_param(request.GET, "q").strip()[:200]
    hits = selectors.question_search_hits(query=query, viewer=request.user) if query else []
    results = _search_rows(request, hits)
    return render(request, "forum/search.html", {"query": query, "results": results})
