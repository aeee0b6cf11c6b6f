from datetime import UTC, datetime
from html import escape as html_escape

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

from hub.forum.search_rows import MARK_START, MARK_STOP

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


@register.simple_tag
def question_rows(questions) -> str:
    """The rows of a question list (lists, tag pages, search results, the home page).

    Rendered here rather than by a template included once a row: the template engine spent
    ~1,500 Python calls on a row (an include, ~25 variable lookups, the humanize filters),
    most of an uncached search page's time, for markup that is the same a row at a time.
    Escaped as the template's autoescape did (django.utils.html.escape is html.escape)."""
    zone = timezone.get_current_timezone()
    now = datetime.now(UTC)
    return mark_safe("".join([_question_row(question, zone, now) for question in questions]))


def _plural(count: int) -> str:
    return "" if count == 1 else "s"


class _EnglishUnit:
    """A unit of timesince's output in English ("1 day", "3 days"), in place of its
    translated strings: the site speaks English only (LANGUAGE_CODE, no LocaleMiddleware)."""

    def __init__(self, unit: str):
        self.unit = unit

    def __mod__(self, values: dict) -> str:
        return f"{values['num']} {self.unit}{_plural(values['num'])}"


_PAST_UNITS = {
    unit: _EnglishUnit(unit) for unit in ("year", "month", "week", "day", "hour", "minute")
}
_PAST_WITHIN_A_DAY = (
    (3600, "an hour ago", "hours ago"),
    (60, "a minute ago", "minutes ago"),
    (1, "a second ago", "seconds ago"),
)


def natural_time(value: datetime, now: datetime) -> str:
    """humanize's naturaltime of a past time, as it says it in English, without its ~300
    Python calls of translation lookups; the future (a clock ahead) and "now" are its own."""
    if value >= now:
        return naturaltime(value)
    delta = now - value
    if delta.days:
        return timesince(value, now, time_strings=_PAST_UNITS) + " ago"
    for seconds, one, many in _PAST_WITHIN_A_DAY:
        count = delta.seconds // seconds
        if count:
            return one if count == 1 else f"{count}\xa0{many}"
    return naturaltime(value)


def _question_row(q, zone, now: datetime) -> str:
    score, answers, views = q.score, q.answer_count, q.view_count
    if q.accepted_answer_id:
        state, check = " accepted", "✓ "
    else:
        state, check = (" has-answers" if answers else ""), ""
    diagnosed = (
        '<span class="diagnosed-badge" title="The Gradient Doctor diagnosed its trace; no person'
        ' has answered yet">diagnosed</span>'
        if getattr(q, "diagnosed", False)
        else ""
    )
    pills = ('<span class="state-pill closed">closed</span>' if q.is_closed else "") + (
        '<span class="state-pill hidden">hidden</span>' if q.is_hidden else ""
    )
    snippet = getattr(q, "snippet", None)
    if snippet:
        text = f'<p class="q-excerpt search-snippet">{marked_snippet(snippet)}</p>'
    elif q.excerpt:
        text = f'<p class="q-excerpt">{html_escape(q.excerpt)}</p>'
    else:
        text = ""
    tags = "".join(
        [
            f'<a class="tag" href="/tags/{html_escape(tag.slug)}/">{html_escape(tag.name)}</a>'
            for tag in q.tags.all()
        ]
    )
    author = q.author
    username = html_escape(author.username)
    profile = getattr(author, "profile", None)
    reputation = f"{profile.reputation:,}" if profile is not None else ""
    created = q.created_at
    return (
        '<li class="q-summary">\n'
        f'  <div class="q-stats" aria-label="{score} votes, {answers} answers, {views} views">\n'
        f'    <span class="votes"><strong>{score}</strong> vote{_plural(score)}</span>\n'
        f'    <span class="answers{state}">{check}{answers} answer{_plural(answers)}</span>\n'
        f"    {diagnosed}\n"
        f"    <span>{views:,} view{_plural(views)}</span>\n"
        "  </div>\n"
        "  <div>\n"
        f'    <h3 class="q-title"><a href="/questions/{q.pk}/{html_escape(q.slug)}/">'
        f"{html_escape(q.title)}</a>{pills}</h3>\n"
        f"    {text}\n"
        '    <div class="q-meta">\n'
        f"      <div>{tags}</div>\n"
        f'      <span class="byline"><a href="/users/{username}/">{username}</a> <span class="rep"'
        f' title="reputation">{reputation}</span> · asked <time datetime="'
        f'{created.astimezone(zone).isoformat()}">{natural_time(created, now)}</time></span>\n'
        "    </div>\n"
        "  </div>\n"
        "</li>\n"
    )
