"""Reads for moderation."""

from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Subquery

from hub.forum.models import Answer, Comment, Question

from .models import Flag

TARGET_MODELS = {"question": Question, "answer": Answer, "comment": Comment}


def flag_target_get(*, target_type: str, target_id) -> Question | Answer | Comment:
    """The post a flag form names; ValidationError for an unknown type or a missing post."""
    model = TARGET_MODELS.get(target_type or "")
    if model is None:
        raise ValidationError("Only questions, answers and comments can be flagged.")
    try:
        return model.objects.get(pk=int(target_id))
    except (TypeError, ValueError, model.DoesNotExist) as exc:
        raise ValidationError(f"That {target_type} does not exist.") from exc


def flag_queue():
    """Open flags, oldest first, with their posts and the number of open flags on each post."""

    def open_count(field: str):
        return Subquery(
            Flag.objects.filter(state=Flag.State.OPEN, **{field: OuterRef(field)})
            .values(field)
            .annotate(n=Count("pk"))
            .values("n")[:1]
        )

    return (
        Flag.objects.filter(state=Flag.State.OPEN)
        .select_related(
            "reporter",
            "question__author",
            "answer__author",
            "answer__question",
            "comment__author",
            "comment__question",
            "comment__answer__question",
        )
        .annotate(
            question_flags=open_count("question"),
            answer_flags=open_count("answer"),
            comment_flags=open_count("comment"),
        )
        .order_by("created_at", "id")
    )


def flag_open_count() -> int:
    return Flag.objects.filter(state=Flag.State.OPEN).count()
