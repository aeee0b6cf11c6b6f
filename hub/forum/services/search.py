"""The PostgreSQL search vector of a question: title (A) > body (B) > visible answers (C)."""

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
    """Refresh the question's search vector (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return
    Question.objects.filter(pk=question_id).update(search_vector=question_search_vector())
