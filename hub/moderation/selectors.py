"""Reads for moderation."""

from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Subquery

from hub.accounts.selectors import user_is_moderator
from hub.forum.models import Answer, Comment, Question

from .models import Flag

TARGET_MODELS = {"question": Question, "answer": Answer, "comment": Comment}


def _hidden(target) -> bool:
    """Hidden itself or inside a hidden question/answer (moderators still see those)."""
    if target.is_hidden:
        return True
    if isinstance(target, Answer):
        return target.question.is_hidden
    if isinstance(target, Comment):
        parent = target.question or target.answer
        return parent.is_hidden or (isinstance(parent, Answer) and parent.question.is_hidden)
    return False


def flag_target_get(*, target_type: str, target_id, viewer) -> Question | Answer | Comment:
    """The post a flag form names, as `viewer` may see it.

    ValidationError for an unknown type or a missing post; a hidden post counts as missing for
    everyone but moderators, so the flag page never shows what a moderator took down.
    """
    model = TARGET_MODELS.get(target_type or "")
    if model is None:
        raise ValidationError("Only questions, answers and comments can be flagged.")
    try:
        target = model.objects.get(pk=int(target_id))
    except (TypeError, ValueError, model.DoesNotExist) as exc:
        raise ValidationError(f"That {target_type} does not exist.") from exc
    if _hidden(target) and not user_is_moderator(user=viewer):
        raise ValidationError(f"That {target_type} does not exist.")
    return target


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
