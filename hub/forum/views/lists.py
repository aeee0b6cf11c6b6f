"""The question lists: newest/active/..., tags, a tag's questions, search."""

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_safe

from hub.core.web import text_param

from .. import selectors
from ..models import Tag
from ..page_cache import SharedPage

PAGE_SIZE = 20
SEARCH_PAGES = 10  # deeper pages rank ever more rows to skip them; better words serve better
LIST_PARAMS = ("sort", "page")


def _page(request, queryset):
    paginator = Paginator(queryset, PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))


def _sort(request) -> str:
    sort = request.GET.get("sort", "newest")
    return sort if sort in selectors.SORTS else "newest"


@require_safe
def question_list(request):
    page = SharedPage(request, params=LIST_PARAMS)
    sort = _sort(request)
    questions = selectors.question_list(sort=sort, viewer=page.request.user)
    context = {"sort": sort, "sorts": selectors.SORTS, "heading": "Questions"}
    context["page"] = _page(request, questions)
    context["rows"] = context["page"].object_list
    return page.render("forum/question_list.html", context)


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
    page = SharedPage(request, params=LIST_PARAMS)
    sort = _sort(request)
    questions = selectors.question_list(sort=sort, tag=tag.name, viewer=page.request.user)
    rows = _page(request, questions)
    return page.render(
        "forum/tag_detail.html",
        {
            "tag": tag,
            "page": rows,
            "rows": rows.object_list,
            "sort": sort,
            "sorts": selectors.SORTS,
        },
    )


@require_safe
def search(request):
    query = text_param(request.GET, "q").strip()[:200]
    number = search_page_number(request.GET)
    page = SharedPage(request, params=("q", "page"))
    viewer = page.request.user
    size = selectors.SEARCH_PAGE_SIZE
    results = []
    if query:  # one row more than the page shows says whether a next page exists
        offset = (number - 1) * size
        results = selectors.question_search(
            query=query, viewer=viewer, offset=offset, limit=size + 1
        )
    shown = results[:size]
    context = {
        "query": query,
        "results": shown,
        "first_rank": (number - 1) * size + 1,
        "last_rank": (number - 1) * size + len(shown),
        "previous_page": number - 1 if number > 1 else None,
        "next_page": number + 1 if len(results) > size else None,
    }
    return page.render("forum/search.html", context)


def search_page_number(params) -> int:
    """The search page asked for: 1 unless `page` is a number from 1 to SEARCH_PAGES."""
    value = params.get("page", "1")
    number = int(value) if value.isdigit() else 1
    return number if 1 <= number <= SEARCH_PAGES else 1
