"""The editors' helpers while typing: markdown preview, similar questions, tag suggestions."""

from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_POST, require_safe

from hub.core.ratelimit import RateLimited, rate_limit
from hub.core.web import ip_limit, text_param
from hub.glossary.markdown import render_markdown

from .. import selectors

RATE_LOOKUP_IP = (600, 300)  # similar-question and tag look-ups while typing (debounced)
RATE_PREVIEW = (120, 600)  # previews per user: one every few seconds of typing
PREVIEW_MAX_LENGTH = 30_000


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
    rows = selectors.tag_autocomplete(prefix=text_param(request.GET, "q")[:50])
    return JsonResponse({"results": rows})


@require_safe
def question_similar(request):
    if limited := _lookup_limited(request):
        return limited
    results = selectors.question_similar(title=text_param(request.GET, "title")[:200])
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
    body = text_param(request.POST, "body")[:PREVIEW_MAX_LENGTH]
    if not body.strip():
        return HttpResponse('<p class="muted">Nothing to preview yet.</p>')
    return HttpResponse(render_markdown(body))
