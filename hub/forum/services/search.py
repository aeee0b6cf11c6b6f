"""The PostgreSQL search vector of a question: title (A) > body (B) > visible answers (C), and
the words of the vectors, which typo-tolerant search looks up by trigram similarity."""

from django.contrib.postgres.aggregates import StringAgg
from django.contrib.postgres.search import SearchVector
from django.db import connection
from django.db.models import OuterRef, Subquery, TextField, Value
from django.db.models.functions import Coalesce, Left

from ..models import Answer, Question

# Answers count in search (weight C) up to this much text per question.
SEARCH_ANSWERS_MAX_CHARS = 100_000


def question_search_vector():
    """The vector a question row should hold, as an expression on that row: every writer
    (the services and the recount) uses this one, so they agree to the byte."""
    answers_text = (
        Answer.objects.filter(question=OuterRef("pk"), is_hidden=False)
        .values("question")
        # pk breaks score ties: the same text in the same order on every run
        .annotate(text=StringAgg("body", delimiter="\n", order_by=("-score", "pk")))
        .values("text")
    )
    text = Coalesce(Subquery(answers_text), Value(""), output_field=TextField())
    return (
        SearchVector("title", weight="A", config="english")
        + SearchVector("body", weight="B", config="english")
        + SearchVector(Left(text, SEARCH_ANSWERS_MAX_CHARS), weight="C", config="english")
    )


def question_index(question_id: int) -> None:
    """Refresh the question's search vector and add its new words (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return
    Question.objects.filter(pk=question_id).update(search_vector=question_search_vector())
    search_words_add(question_ids=[question_id])


# Longer "words" are hashes, URLs or base64 that nobody misspells: not worth a row.
SEARCH_WORD_MAX_LENGTH = 40


def search_words_add(*, question_ids: list[int] | None = None) -> None:
    """Add the words of these questions' vectors (all questions: None) to SearchWord."""
    if connection.vendor != "postgresql":
        return
    only = "" if question_ids is None else "AND q.id = ANY(%(ids)s)"
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO forum_searchword (word) SELECT DISTINCT w.word"
            " FROM forum_question q, unnest(tsvector_to_array(q.search_vector)) AS w(word)"
            f" WHERE length(w.word) BETWEEN 3 AND %(longest)s {only} ON CONFLICT DO NOTHING",
            {"ids": question_ids, "longest": SEARCH_WORD_MAX_LENGTH},
        )
