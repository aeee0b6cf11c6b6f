from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from hub.forum.selectors import MARK_START, MARK_STOP

register = template.Library()


@register.filter
def marked_snippet(text: str) -> str:
    """Escape a search snippet (plain text: Question.body_text), then turn the match markers
    into <mark> elements."""
    html = escape(text or "")
    return mark_safe(html.replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>"))


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key, 0)


@register.simple_tag
def vote_key(kind: str, pk: int) -> str:
    return f"{kind}{pk}"


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (for sort tabs and pages)."""
    query = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = value
    return "?" + query.urlencode() if query else "?"
