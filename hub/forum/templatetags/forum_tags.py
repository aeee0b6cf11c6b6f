import re

from django import template
from django.template import TemplateDoesNotExist
from django.utils.html import escape
from django.utils.safestring import mark_safe

from hub.forum.selectors import MARK_START, MARK_STOP

register = template.Library()
FENCE_RE = re.compile(r"`{3,}[\w-]*|~{3,}|\${2}")


@register.filter
def marked_snippet(text: str) -> str:
    """Escape a search snippet, then turn the match markers into <mark> elements."""
    text = FENCE_RE.sub(" ", text or "")  # markdown fences and display-math markers
    html = escape(text)
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


@register.simple_tag(takes_context=True)
def include_optional(context, template_name: str, **extra) -> str:
    """Like {% include %}, but renders nothing when the template does not exist.

    Django's include has no "ignore missing" (that is Jinja2): apps built in parallel provide
    fragments (traces, moderation) that the forum pages show when they are installed.
    """
    try:
        template = context.template.engine.get_template(template_name)
    except TemplateDoesNotExist:
        return ""
    with context.push(**extra):
        return template.render(context)
