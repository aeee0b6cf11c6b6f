import re
from types import SimpleNamespace

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from hub.forum.selectors import MARK_START, MARK_STOP
from hub.glossary.markdown import math_source_plain

register = template.Library()
FENCE_RE = re.compile(r"`{3,}[\w-]*|~{3,}|\${2}")


@register.filter
def marked_snippet(text: str) -> str:
    """Escape a search snippet, then turn the match markers into <mark> elements."""
    text = FENCE_RE.sub(" ", math_source_plain(text or ""))  # formulas as text, then fences
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


# Stand-ins for the values that differ between answers with the same controls (see
# answer_posts). Upper case: a question page's path (its canonical slug) has none, and neither
# escaping nor urlencode changes them.
_ANSWER_SLOTS = {
    "pk": "ZZGRADHUBPKZZ",
    "score": "ZZGRADHUBSCOREZZ",
    "part0": "ZZGRADHUBPART0ZZ",
    "part1": "ZZGRADHUBPART1ZZ",
    "part2": "ZZGRADHUBPART2ZZ",
}
_ANSWER_SLOT_RE = re.compile("(" + "|".join(_ANSWER_SLOTS.values()) + ")")
_ANSWER_TEMPLATE = "forum/_answer.html"


def _answer_skeleton(context, template, state: tuple) -> list[str]:
    """forum/_answer.html rendered for a stand-in answer in this state, split around the slots:
    literal markup (str) at even indices, slot names at odd ones (1-tuples: no markup equals one)."""
    my_vote, is_own, is_accepted, is_hidden = state
    stand_in = SimpleNamespace(
        pk=_ANSWER_SLOTS["pk"],
        score=_ANSWER_SLOTS["score"],
        parts=[mark_safe(_ANSWER_SLOTS[f"part{i}"]) for i in range(3)],
        my_vote=my_vote,
        is_own=is_own,
        is_accepted=is_accepted,
        is_hidden=is_hidden,
    )
    with context.push(answer=stand_in):
        pieces = _ANSWER_SLOT_RE.split(template.render(context))
    names = {value: (name,) for name, value in _ANSWER_SLOTS.items()}
    return [piece if i % 2 == 0 else names[piece] for i, piece in enumerate(pieces)]


@register.simple_tag(takes_context=True)
def answer_posts(context, answers) -> str:
    """Each answer of a question page, rendered with forum/_answer.html in this context.

    A member's answers come as cached parts (views._answer_parts): the rest of an answer's
    markup depends only on its id, score and the viewer's state for it (vote, own, accepted,
    hidden), so the template is rendered once per state with stand-ins and the values go into
    the slots - the same markup as rendering it for each answer, at a fraction of the cost.
    Answers without parts (moderators, the anonymous page) are rendered one by one.
    """
    template = context.template.engine.get_template(_ANSWER_TEMPLATE)
    skeletons: dict[tuple, list[str]] = {}
    out = []
    for answer in answers:
        parts = getattr(answer, "parts", None)
        if not parts:
            with context.push(answer=answer):
                out.append(template.render(context))
            continue
        state = (answer.my_vote, bool(answer.is_own), answer.is_accepted, bool(answer.is_hidden))
        skeleton = skeletons.get(state)
        if skeleton is None:
            skeleton = skeletons[state] = _answer_skeleton(context, template, state)
        values = {
            ("pk",): str(answer.pk),
            ("score",): str(answer.score),
            ("part0",): parts[0],
            ("part1",): parts[1],
            ("part2",): parts[2],
        }
        out.append("".join([values.get(piece, piece) for piece in skeleton]))
    return mark_safe("".join(out))  # rendered by the template engine (escaped), cached parts
