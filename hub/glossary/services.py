"""Writes to the glossary. Every change keeps a TermRevision."""

import hashlib

from django.db import transaction
from django.db.models import Max

from .models import Term, TermRevision

REVISION_NOTE_MAX = 200


def term_render(*, term: Term) -> None:
    """Set `definition_html` from the markdown definition (not saved)."""
    from hub.glossary.markdown import markdown_render

    term.definition_html = markdown_render(text=term.definition, exclude=(term.slug,))


def term_revision_record(*, term: Term, editor=None, note: str = "") -> TermRevision:
    """Snapshot the term as it is now (fields and related slugs) as its next revision."""
    with transaction.atomic():
        Term.objects.select_for_update().filter(pk=term.pk).first()  # serialise numbering
        last = term.revisions.aggregate(last=Max("number"))["last"] or 0
        return TermRevision.objects.create(
            term=term,
            number=last + 1,
            editor=editor if editor is not None and editor.is_authenticated else None,
            note=note[:REVISION_NOTE_MAX],
            name=term.name,
            aliases=list(term.aliases),
            definition=term.definition,
            snippet=term.snippet,
            expected_output=term.expected_output,
            related_slugs=sorted(term.related.values_list("slug", flat=True)),
        )


def term_save(*, term: Term) -> Term:
    """Clean the aliases, render the definition and save (the admin's save_model)."""
    term.aliases = term_aliases_clean(aliases=term.aliases, name=term.name)
    term_render(term=term)
    term.save()
    return term


def term_write(*, term: Term, editor=None, note: str = "") -> Term:
    """Save a new or edited term and record the revision, together or not at all (the API's
    writes; the admin saves related terms between the two steps)."""
    with transaction.atomic():
        term = term_save(term=term)
        term_revision_record(term=term, editor=editor, note=note)
    return term


def glossary_fingerprint() -> str:
    """Changes whenever a term's name, aliases or definition change: what auto-linked HTML
    elsewhere depends on (content rendered against an older fingerprint is re-rendered)."""
    rows = Term.objects.order_by("slug").values_list("slug", "name", "aliases", "definition")
    return content_checksum(
        *(f"{slug}|{name}|{aliases}|{text}" for slug, name, aliases, text in rows)
    )


def term_rerender_stale() -> int:
    """Re-render every definition auto-linked against an older glossary. Returns how many."""
    from .autolink import term_table_invalidate

    fingerprint = glossary_fingerprint()
    stale = list(Term.objects.exclude(rendered_with=fingerprint))
    for term in stale:
        term_render(term=term)
    # .update() leaves updated_at alone, so the auto-linker's table stays valid while we go.
    for term in stale:
        Term.objects.filter(pk=term.pk).update(
            definition_html=term.definition_html, rendered_with=fingerprint
        )
    if stale:
        term_table_invalidate()  # tooltips come from definition_html
    return len(stale)


def term_aliases_clean(*, aliases, name: str) -> list[str]:
    """Trimmed, de-duplicated (case-insensitively) aliases, without the name itself."""
    seen = {name.strip().lower()}
    cleaned: list[str] = []
    for alias in aliases or []:
        alias = " ".join(str(alias).split())
        if alias and alias.lower() not in seen:
            seen.add(alias.lower())
            cleaned.append(alias)
    return cleaned


def term_upsert(
    *,
    slug: str,
    name: str,
    aliases: list[str],
    definition: str,
    snippet: str,
    expected_output: str,
    source_checksum: str,
) -> tuple[Term, bool]:
    """Create or update a term from a content file. Returns (term, changed).

    A term whose stored checksum equals the file's is left alone (idempotent, and an admin
    edit is not overwritten until the file itself changes).
    """
    term = Term.objects.filter(slug=slug).first()
    if term is not None and term.source_checksum == source_checksum:
        return term, False
    if term is None:
        term = Term(slug=slug)
    term.name = name
    term.aliases = aliases
    term.definition = definition
    term.snippet = snippet
    term.expected_output = expected_output
    term.source_checksum = source_checksum
    term.aliases = term_aliases_clean(aliases=term.aliases, name=term.name)
    # Rendered afterwards, once every term is in (see load_learning_content): the definition
    # links to other terms, which may not be loaded yet.
    term.rendered_with = ""
    term.save()
    return term, True


def term_related_set(*, term: Term, related_slugs: list[str]) -> None:
    targets = list(Term.objects.filter(slug__in=related_slugs).exclude(pk=term.pk))
    term.related.set(targets)


def content_checksum(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()
