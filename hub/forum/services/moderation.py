"""Moderators hide and restore posts (hidden answers do not count in answer_count)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F

from hub.accounts.selectors import user_is_moderator

from ..models import Answer, Comment, Question
from .common import post_question_id, question_render_bump
from .search import question_index


def _post_set_hidden(*, moderator, target, hidden: bool) -> None:
    if not user_is_moderator(user=moderator):
        raise PermissionDenied("Only moderators can hide or restore posts.")
    if not isinstance(target, Question | Answer | Comment):
        raise ValidationError("Only questions, answers and comments can be hidden.")
    model = type(target)
    with transaction.atomic():
        locked = model.objects.select_for_update().get(pk=target.pk)
        if locked.is_hidden == hidden:
            return
        model.objects.filter(pk=locked.pk).update(is_hidden=hidden)
        if model is Answer:
            # answer_count counts visible answers by people ("unanswered" must not count
            # hidden ones); the bot's diagnosis is never counted, hidden or not.
            changes = {}
            if not locked.is_automated:
                changes["answer_count"] = F("answer_count") + (-1 if hidden else 1)
            question_render_bump(question_id=locked.question_id, **changes)
            question_index(locked.question_id)
        else:
            question_render_bump(question_id=post_question_id(locked))
    target.is_hidden = hidden


def post_hide(*, moderator, target) -> None:
    _post_set_hidden(moderator=moderator, target=target, hidden=True)


def post_unhide(*, moderator, target) -> None:
    _post_set_hidden(moderator=moderator, target=target, hidden=False)
