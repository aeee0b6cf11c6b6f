"""Comments on a question or an answer."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from hub.accounts.selectors import user_is_moderator
from hub.glossary.markdown import render_markdown
from hub.notifications.services import mentions_notify, notify, notify_question_followers

from ..models import Answer, Comment, Question
from . import limits
from .common import (
    COMMENT_MAX_LENGTH,
    COMMENT_MIN_LENGTH,
    question_render_bump,
    require_active_user,
    text_clean,
)


def comment_create(*, author, target, body: str) -> Comment:
    require_active_user(author)
    if not isinstance(target, Question | Answer):
        raise ValidationError("Comments go on a question or an answer.")
    body = text_clean(
        body, field="comment", min_length=COMMENT_MIN_LENGTH, max_length=COMMENT_MAX_LENGTH
    )
    question = target if isinstance(target, Question) else target.question
    if (target.is_hidden or question.is_hidden) and not user_is_moderator(user=author):
        raise PermissionDenied("This post has been hidden by a moderator.")
    limits.user_rate_limit(scope="comment", user=author, rule=limits.RATE_COMMENT)
    with transaction.atomic():
        comment = Comment.objects.create(
            author=author,
            question=target if isinstance(target, Question) else None,
            answer=target if isinstance(target, Answer) else None,
            body=body,
            body_html=render_markdown(body),
        )
        question_render_bump(question_id=question.pk)
        url = comment.get_absolute_url()
        notify(
            recipient=target.author,
            verb="commented",
            text=f'{author.username} commented on your post in "{question.title}"',
            url=url,
            actor=author,
            question=question,
        )
        mentions_notify(text=body, actor=author, question=question, url=url)
        # Followers hear about the discussion on every post of the question, the bot's answer
        # included (its author is nobody to tell). Whoever was notified above (author,
        # @mention) is not notified twice: notify() drops a second unread row for the same url.
        notify_question_followers(
            question=question,
            verb="commented",
            text=f'{author.username} commented in "{question.title}"',
            url=url,
            actor=author,
        )
    return comment
