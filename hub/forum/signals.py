"""Deletions bypass the write services (the admin, a deleted account's cascade), so the cached
markup and pages that show the deleted post are invalidated here, and a visible answer's
deletion does what hiding it does: one answer fewer, its text out of the search vector."""

from django.contrib.auth import get_user_model
from django.db.models import F
from django.db.models.functions import Greatest
from django.db.models.signals import post_delete, pre_delete
from django.dispatch import receiver

from .models import Answer, Comment, Question
from .page_cache import pages_invalidate
from .services import post_question_id, question_render_bump, votes_withdraw_all
from .services.search import question_index


@receiver(post_delete, sender=Question)
def question_deleted(sender, instance, **kwargs):
    pages_invalidate(question_id=instance.pk)


@receiver(post_delete, sender=Answer)
@receiver(post_delete, sender=Comment)
def post_deleted(sender, instance, **kwargs):
    try:
        question_id = post_question_id(instance)
    except Answer.DoesNotExist:  # its answer went first, and invalidated the question
        return
    changes = {}
    visible_answer = sender is Answer and not instance.is_hidden
    if sender is Answer and instance.counts_as_answer:
        changes["answer_count"] = Greatest(F("answer_count") - 1, 0)
    question_render_bump(question_id=question_id, **changes)
    if visible_answer:
        question_index(question_id)


@receiver(pre_delete, sender=get_user_model())
def account_deleting(sender, instance, **kwargs):
    """Before the cascade drops the account's votes: take back what they gave."""
    votes_withdraw_all(user=instance)
