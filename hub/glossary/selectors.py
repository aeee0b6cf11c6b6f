"""Reads of the glossary: the A–Z index, search, a term with its related terms and questions."""

import string
from dataclasses import dataclass
from html import unescape

from django.apps import apps
from django.db.models import QuerySet
from django.utils.html import strip_tags
from django.utils.text import Truncator, slugify

from .markdown import math_html_plain
from .models import SUMMARY_MAX_CHARS, Term

QUESTIONS_PER_TERM = 10  # a term page lists the latest tagged questions, not the whole forum


def term_summary(*, definition_html: str, definition: str = "") -> str:
    """One sentence of plain text for tooltips and listings."""
    html = math_html_plain(definition_html) if definition_html else definition
    text = " ".join(unescape(strip_tags(html)).split())
    end = text.find(". ")
    if 0 < end < SUMMARY_MAX_CHARS:
        return text[: end + 1]
    return Truncator(text).chars(SUMMARY_MAX_CHARS)


def term_link_rows() -> list[tuple[str, str, list[str], str]]:
    """(slug, name, aliases, tooltip) for every term: what the auto-linker needs."""
    rows = Term.objects.order_by("slug").values_list(
        "slug", "name", "aliases", "definition_html", "definition"
    )
    return [
        (slug, name, list(aliases or []), term_summary(definition_html=html, definition=text))
        for slug, name, aliases, html, text in rows
    ]


def term_list() -> QuerySet[Term]:
    return Term.objects.order_by("name")


@dataclass
class IndexLetter:
    letter: str
    terms: list[Term]


def term_index() -> list[IndexLetter]:
    """Every letter A–Z (with '#' first for names that start with a symbol), each with its terms."""
    by_letter: dict[str, list[Term]] = {}
    for term in term_list().only("slug", "name", "definition_html"):
        term.summary = term_summary(definition_html=term.definition_html)
        by_letter.setdefault(term.letter, []).append(term)
    letters = (["#"] if "#" in by_letter else []) + list(string.ascii_uppercase)
    return [IndexLetter(letter=letter, terms=by_letter.get(letter, [])) for letter in letters]


def _search_form(text: str) -> str:
    """Lower case, with '-' and '_' as spaces: "Zero-Grad" and "zero_grad" look alike."""
    return " ".join(text.lower().replace("-", " ").replace("_", " ").split())


def term_search(*, query: str) -> list[Term]:
    """Terms whose name, slug, aliases or definition mention the query; name hits first."""
    needle = _search_form(query)
    if not needle:
        return []
    ranked: list[tuple[int, str, Term]] = []
    for term in term_list():
        names = [_search_form(text) for text in (term.name, term.slug, *term.aliases)]
        if needle in names:
            rank = 0
        elif any(needle in name for name in names):
            rank = 1
        elif needle in _search_form(term.definition):
            rank = 2
        else:
            continue
        ranked.append((rank, term.name.lower(), term))
    ranked.sort(key=lambda row: (row[0], row[1]))
    return [term for _, _, term in ranked]


def term_get(*, slug: str) -> Term | None:
    return Term.objects.filter(slug=slug).first()


def term_resolve_alias(*, slug: str) -> Term | None:
    """The term one of whose aliases slugifies to `slug` (/glossary/vanishing-gradients/)."""
    for term in Term.objects.only("slug", "aliases"):
        if slug in term_tag_names(term=term):
            return term
    return None


def term_tag_names(*, term: Term) -> set[str]:
    """Forum tag names that mean this term: its slug and the slug of each alias."""
    names = {term.slug}
    names.update(slugify(alias) for alias in term.aliases)
    names.discard("")
    return names


def term_related(*, term: Term) -> list[Term]:
    return list(term.related.order_by("name"))


def term_questions(*, term: Term, limit: int = QUESTIONS_PER_TERM) -> list:
    """Visible forum questions tagged with the term's slug or an alias slug (newest first)."""
    try:
        question_model = apps.get_model("forum", "Question")
    except LookupError:  # the forum app is not installed
        return []
    return list(
        question_model.objects.filter(tags__name__in=term_tag_names(term=term), is_hidden=False)
        .distinct()
        .order_by("-last_activity_at")[:limit]
    )
