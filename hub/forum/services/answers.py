"""Answering, editing an answer, accepting one (and the reputation accepting moves)."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from hub.accounts.selectors import user_is_moderator
from hub.accounts.services import reputation_change
from hub.glossary.markdown import render_markdown
from hub.notifications.services import mentions_notify, notify, notify_question_followers

from ..models import Answer, Question
from . import limits
from .common import (
    ANSWER_MIN_LENGTH,
    BODY_MAX_LENGTH,
    can_edit,
    question_render_bump,
    question_touch,
    require_active_user,
    revision_add,
    text_clean,
)
from .search import question_index

# Reputation, as on Stack Overflow (https://stackoverflow.com/help/whats-reputation).
REP_ANSWER_ACCEPTED = 15
REP_ACCEPTOR = 2


def answer_body_clean(*, body: str, automated: bool) -> str:
    """An answer's body as stored (stripped); ValidationError if too short or long. The bot's
    diagnosis posts may be short or up to four times longer. The admin's form checks with it."""
    return text_clean(
        body,
        field="answer",
        min_length=1 if automated else ANSWER_MIN_LENGTH,
        max_length=BODY_MAX_LENGTH * (4 if automated else 1),
    )


def answer_create(*, author, question: Question, body: str, automated: bool = False) -> Answer:
    """A person's answer, or (automated=True) the bot's diagnosis post."""
    require_active_user(author)
    body = answer_body_clean(body=body, automated=automated)
    with transaction.atomic():
        # Fresh state under a lock: a question closed a moment ago takes no more answers.
        current = Question.objects.select_for_update().only("is_closed", "is_hidden")
        current = current.get(pk=question.pk)
        if not automated:
            if current.is_hidden and not user_is_moderator(user=author):
                raise PermissionDenied("This question has been hidden by a moderator.")
            if current.is_closed:
                raise PermissionDenied("This question is closed: it no longer accepts answers.")
            limits.user_rate_limit(scope="answer", user=author, rule=limits.RATE_ANSWER)
        answer = Answer.objects.create(
            question=question,
            author=author,
            body=body,
            body_html=render_markdown(body),
            is_automated=automated,
        )
        changes = {"last_activity_at": timezone.now()}
        if not automated:  # the bot's diagnosis does not make a question answered
            changes["answer_count"] = F("answer_count") + 1
        question_render_bump(question_id=question.pk, **changes)
        revision_add(target=answer, editor=author, body=body)
        question_index(question.pk)
        url = answer.get_absolute_url()
        notify_question_followers(
            question=question,
            verb="answered",
            text=f'{author.username} answered "{question.title}"',
            url=url,
            actor=author,
        )
        if not automated:
            mentions_notify(text=body, actor=author, question=question, url=url)
    return answer


def answer_edit(*, answer: Answer, editor, body: str) -> Answer:
    require_active_user(editor)
    if not can_edit(user=editor, author_id=answer.author_id):
        raise PermissionDenied("Only the author or a moderator can edit this answer.")
    body = answer_body_clean(body=body, automated=answer.is_automated)
    if body == answer.body:
        return answer
    if not answer.is_automated:
        limits.user_rate_limit(scope="edit", user=editor, rule=limits.RATE_EDIT)
    with transaction.atomic():
        answer = Answer.objects.select_for_update().get(pk=answer.pk)
        answer.body = body
        answer.body_html = render_markdown(body)
        answer.save(update_fields=["body", "body_html", "updated_at"])
        revision_add(target=answer, editor=editor, body=body)
        question_touch(answer.question_id)
        question_index(answer.question_id)
    return answer


def answer_accept(*, user, answer: Answer) -> Answer:
    """The asker marks one answer as the solution (replacing any earlier choice)."""
    require_active_user(user)
    with transaction.atomic():
        question = Question.objects.select_for_update().get(pk=answer.question_id)
        if question.author_id != user.pk:
            raise PermissionDenied("Only the person who asked can accept an answer.")
        if answer.is_hidden:
            raise PermissionDenied("A hidden answer cannot be accepted.")
        if question.accepted_answer_id == answer.pk:
            return answer
        if question.accepted_answer_id is not None:
            _accept_reputation(question=question, answer=question.accepted_answer, sign=-1)
        question.accepted_answer = answer
        now = timezone.now()
        question_render_bump(
            question_id=question.pk, accepted_answer=answer, last_activity_at=now, updated_at=now
        )
        _accept_reputation(question=question, answer=answer, sign=1)
        notify(
            recipient=answer.author,
            verb="accepted",
            text=f'{user.username} accepted your answer to "{question.title}"',
            url=answer.get_absolute_url(),
            actor=user,
            question=question,
        )
    return answer


def answer_unaccept(*, user, answer: Answer) -> Answer:
    require_active_user(user)
    with transaction.atomic():
        question = Question.objects.select_for_update().get(pk=answer.question_id)
        if question.author_id != user.pk:
            raise PermissionDenied("Only the person who asked can change the accepted answer.")
        if question.accepted_answer_id != answer.pk:
            return answer
        question.accepted_answer = None
        question_render_bump(
            question_id=question.pk, accepted_answer=None, updated_at=timezone.now()
        )
        _accept_reputation(question=question, answer=answer, sign=-1)
    return answer


def _accept_reputation(*, question: Question, answer: Answer, sign: int) -> None:
    # Accepting your own answer earns nothing (as on Stack Overflow).
    if answer.author_id == question.author_id:
        return
    reason = "answer accepted" if sign > 0 else "answer unaccepted"
    reputation_change(user=answer.author, delta=sign * REP_ANSWER_ACCEPTED, reason=reason)
    reputation_change(user=question.author, delta=sign * REP_ACCEPTOR, reason=reason)
