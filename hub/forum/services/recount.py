"""Every denormalised forum value recomputed from the rows it summarises, in batches.

The write services keep these values up to date one change at a time; a raw UPDATE, a bulk
load or a bug can leave them wrong, and this puts them right (manage.py forum_recount). Each
step reads a batch, compares the stored value with the recomputed one and writes only those
that differ, so a second run changes nothing. Counts are written as an expression evaluated
by the UPDATE itself (a vote cast meanwhile is not lost); rendered bodies only if the body is
still the one rendered.

Reputation is not recounted: reputation_change never lets it fall below the starting value,
so the result depends on the order votes came in, and accounts may get reputation that no row
records (seed_demo, staff).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from hub.glossary.markdown import html_excerpt, html_text, render_markdown

from ..models import COUNTED_ANSWERS, EXCERPT_MAX_LENGTH, Answer, Comment, Question, Vote
from .common import question_render_bump
from .search import question_search_vector, search_words_add

BATCH_SIZE = 500


@dataclass
class Recounted:
    """What one step changed: its label and the ids of the rows it rewrote."""

    label: str
    ids: list[int] = field(default_factory=list)
    question_ids: set[int] = field(default_factory=set)  # whose pages show the change


def _batches(rows, *, batch_size: int) -> Iterator[list[tuple]]:
    """values_list rows (pk first) in pk order, a batch at a time (keyset: no OFFSET)."""
    last = 0
    while batch := list(rows.filter(pk__gt=last).order_by("pk")[:batch_size]):
        yield batch
        last = batch[-1][0]


def _column_recount(model, *, column: str, fresh, question_of: str, label: str, batch_size: int):
    """Rewrite `column` where it differs from the `fresh` expression (evaluated per row)."""
    result = Recounted(label)
    rows = model.objects.annotate(fresh=fresh).values_list("pk", column, "fresh", question_of)
    for batch in _batches(rows, batch_size=batch_size):
        stale = [(pk, question_id) for pk, stored, new, question_id in batch if stored != new]
        if stale:  # one UPDATE: atomic on its own
            model.objects.filter(pk__in=[pk for pk, _ in stale]).update(**{column: fresh})
            result.ids += [pk for pk, _ in stale]
            result.question_ids.update(question_id for _, question_id in stale)
    return result


def _votes_total(target: str):
    votes = (
        Vote.objects.filter(**{target: OuterRef("pk")})
        .values(target)
        .annotate(total=Sum("value"))
        .values("total")
    )
    return Coalesce(Subquery(votes, output_field=IntegerField()), Value(0))


def _visible_answers(*, batch_size: int) -> Recounted:
    # As the services keep it (Answer.counts_as_answer): visible answers by people; the bot's
    # diagnosis posts do not make a question answered.
    answers = (
        Answer.objects.filter(question=OuterRef("pk"), **COUNTED_ANSWERS)
        .values("question")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return _column_recount(
        Question,
        column="answer_count",
        fresh=Coalesce(Subquery(answers, output_field=IntegerField()), Value(0)),
        question_of="pk",
        label="question answer counts",
        batch_size=batch_size,
    )


def _scores(*, batch_size: int) -> list[Recounted]:
    posts = ((Question, "question", "pk"), (Answer, "answer", "question_id"))
    return [
        _column_recount(
            model,
            column="score",
            fresh=_votes_total(target),
            question_of=question_of,
            label=f"{target} scores",
            batch_size=batch_size,
        )
        for model, target, question_of in posts
    ]


def _rendered(
    model, *, source: str, target: str, render: Callable, question_of, label: str, batch_size: int
) -> Recounted:
    """Rewrite `target` where it differs from render(`source`), as the write services do."""
    result = Recounted(label)
    rows = model.objects.values_list("pk", source, target, question_of)
    for batch in _batches(rows, batch_size=batch_size):
        fresh = [
            (pk, render(text), text, stored, question_id) for pk, text, stored, question_id in batch
        ]
        with transaction.atomic():
            for pk, new, text, stored, question_id in fresh:
                # Only over the text rendered: an edit meanwhile has rendered its own.
                if new != stored and model.objects.filter(pk=pk, **{source: text}).update(
                    **{target: new}
                ):
                    result.ids.append(pk)
                    result.question_ids.add(question_id)
    return result


def _bodies(*, batch_size: int) -> list[Recounted]:
    posts = (
        (Question, "question", "pk"),
        (Answer, "answer", "question_id"),
        (Comment, "comment", Coalesce("question_id", "answer__question_id")),
    )
    return [
        _rendered(
            model,
            source="body",
            target="body_html",
            render=render_markdown,
            question_of=question_of,
            label=f"{name} bodies",
            batch_size=batch_size,
        )
        for model, name, question_of in posts
    ]


def _excerpts(*, batch_size: int) -> list[Recounted]:
    return [
        _rendered(
            Question,
            source="body_html",
            target="excerpt",
            render=lambda html: html_excerpt(html, max_length=EXCERPT_MAX_LENGTH),
            question_of="pk",
            label="question excerpts",
            batch_size=batch_size,
        ),
        _rendered(
            Question,
            source="body_html",
            target="body_text",
            render=html_text,
            question_of="pk",
            label="question texts",
            batch_size=batch_size,
        ),
    ]


def _search_vectors(*, batch_size: int) -> list[Recounted]:
    if connection.vendor != "postgresql":
        return []
    vectors = _column_recount(
        Question,
        column="search_vector",
        fresh=question_search_vector(),
        question_of="pk",
        label="question search vectors",
        batch_size=batch_size,
    )
    search_words_add()  # every vector's words, the new ones included; those there stay
    return [vectors]


# In this order: excerpts come from the rendered bodies, the search vector orders answers by
# score and leaves hidden ones out.
RECOUNT_STEPS = {
    "scores": _scores,
    "answer_counts": lambda *, batch_size: [_visible_answers(batch_size=batch_size)],
    "bodies": _bodies,
    "excerpts": _excerpts,
    "search": _search_vectors,
}


def forum_recount(*, steps=tuple(RECOUNT_STEPS), batch_size: int = BATCH_SIZE) -> list[Recounted]:
    """Run the named steps (all by default), in RECOUNT_STEPS order; returns what changed.
    Each batch is its own transaction, so a long run holds no lock for long."""
    results: list[Recounted] = []
    for name, step in RECOUNT_STEPS.items():
        if name in steps:
            results += step(batch_size=batch_size)
    touched = set().union(*(result.question_ids for result in results))
    for question_id in sorted(touched):  # their cached markup and pages are stale
        question_render_bump(question_id=question_id)
    return results
