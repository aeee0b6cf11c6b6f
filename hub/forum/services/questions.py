"""Asking, editing, tagging, closing and reopening questions."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from hub.accounts.selectors import user_is_moderator
from hub.accounts.services import bot_user_get
from hub.glossary.markdown import html_excerpt, html_text, render_markdown
from hub.notifications.services import mentions_notify, question_follow

from ..models import EXCERPT_MAX_LENGTH, TITLE_MAX_LENGTH, Question
from ..page_cache import pages_invalidate
from . import limits
from .common import (
    BODY_MAX_LENGTH,
    BODY_MIN_LENGTH,
    MAX_TAGS,
    TITLE_MIN_LENGTH,
    can_edit,
    question_render_bump,
    require_active_user,
    revision_add,
    slug_from_title,
    tags_get_or_create,
    tags_normalize,
    text_clean,
)
from .search import question_index


def question_content_clean(*, title: str, body: str, tags) -> tuple[str, str, list[str]]:
    """The title, body and tag names a question may have (stripped); ValidationError if not.
    The admin's form checks with it too, so its errors show on the form."""
    title = text_clean(
        title, field="title", min_length=TITLE_MIN_LENGTH, max_length=TITLE_MAX_LENGTH
    )
    body = text_clean(body, field="body", min_length=BODY_MIN_LENGTH, max_length=BODY_MAX_LENGTH)
    names = tags_normalize(tags)
    if len(names) > MAX_TAGS:
        raise ValidationError(f"Use at most {MAX_TAGS} tags.")
    return title, body, names


def question_create(*, author, title: str, body: str, tags: list[str]) -> Question:
    require_active_user(author)
    title, body, names = question_content_clean(title=title, body=body, tags=tags)
    limits.new_user_question_cap(author)
    limits.user_rate_limit(scope="question", user=author, rule=limits.RATE_QUESTION)
    with transaction.atomic():
        body_html = render_markdown(body)
        question = Question.objects.create(
            author=author,
            title=title,
            slug=slug_from_title(title),
            body=body,
            body_html=body_html,
            excerpt=html_excerpt(body_html, max_length=EXCERPT_MAX_LENGTH),
            body_text=html_text(body_html),
        )
        question.tags.set(tags_get_or_create(names))
        revision_add(target=question, editor=author, title=title, body=body, tags=" ".join(names))
        question_index(question.pk)
        pages_invalidate()  # the lists show it
        question_follow(user=author, question=question)
        mentions_notify(
            text=body,
            actor=author,
            question=question,
            url=question.get_absolute_url(),
        )
    return question


def question_edit(*, question: Question, editor, title: str, body: str, tags: list[str]):
    require_active_user(editor)
    if not can_edit(user=editor, author_id=question.author_id):
        raise PermissionDenied("Only the author or a moderator can edit this question.")
    title, body, names = question_content_clean(title=title, body=body, tags=tags)
    old_names = sorted(question.tags.values_list("name", flat=True))
    if title == question.title and body == question.body and sorted(names) == old_names:
        return question
    limits.user_rate_limit(scope="edit", user=editor, rule=limits.RATE_EDIT)
    with transaction.atomic():
        question = Question.objects.select_for_update().get(pk=question.pk)
        question.title = title
        question.slug = slug_from_title(title)
        question.body = body
        question.body_html = render_markdown(body)
        question.excerpt = html_excerpt(question.body_html, max_length=EXCERPT_MAX_LENGTH)
        question.body_text = html_text(question.body_html)
        question.last_activity_at = timezone.now()
        question.save(
            update_fields=[
                "title", "slug", "body", "body_html", "excerpt", "body_text", "last_activity_at",
                "updated_at",
            ]
        )  # fmt: skip
        question.tags.set(tags_get_or_create(names))
        revision_add(target=question, editor=editor, title=title, body=body, tags=" ".join(names))
        question_index(question.pk)
        question_render_bump(question_id=question.pk)
    return question


def question_tags_add(*, question: Question, tags: list[str]) -> None:
    """System tags (from a diagnosis): no permission check, no limits. The change is the bot's
    revision, so the history does not show it as part of the asker's next edit."""
    current = set(question.tags.values_list("name", flat=True))
    names = [name for name in tags_normalize(tags) if name not in current]
    if not names:
        return
    with transaction.atomic():
        question.tags.add(*tags_get_or_create(names))
        revision_add(
            target=question,
            editor=bot_user_get(),
            title=question.title,
            body=question.body,
            # in the edit form's order, so an edit keeping them shows no tag change
            tags=" ".join(tag.name for tag in question.tags.all()),
            summary="Tags from the trace diagnosis",
        )
        question_render_bump(question_id=question.pk)


def question_view_count(*, question_id: int) -> None:
    Question.objects.filter(pk=question_id).update(view_count=F("view_count") + 1)


def question_close(*, moderator, question: Question, reason: str, duplicate_of=None) -> Question:
    if not user_is_moderator(user=moderator):
        raise PermissionDenied("Only moderators can close questions.")
    if reason not in Question.CloseReason.values:
        raise ValidationError(f"Choose a close reason: {', '.join(Question.CloseReason.values)}.")
    if reason == Question.CloseReason.DUPLICATE:
        if duplicate_of is None:
            raise ValidationError("Say which question this one duplicates.")
        if duplicate_of.pk == question.pk:
            raise ValidationError("A question cannot duplicate itself.")
    else:
        duplicate_of = None
    with transaction.atomic():
        question = Question.objects.select_for_update().get(pk=question.pk)
        question.is_closed = True
        question.close_reason = reason
        question.duplicate_of = duplicate_of
        question.closed_by = moderator
        question.closed_at = timezone.now()
        question.save(
            update_fields=[
                "is_closed", "close_reason", "duplicate_of", "closed_by", "closed_at",
                "updated_at",
            ]
        )  # fmt: skip
        question_render_bump(question_id=question.pk)
    return question


def question_reopen(*, moderator, question: Question) -> Question:
    if not user_is_moderator(user=moderator):
        raise PermissionDenied("Only moderators can reopen questions.")
    with transaction.atomic():
        question = Question.objects.select_for_update().get(pk=question.pk)
        question.is_closed = False
        question.close_reason = ""
        question.duplicate_of = None
        question.closed_by = None
        question.closed_at = None
        question.save(
            update_fields=[
                "is_closed", "close_reason", "duplicate_of", "closed_by", "closed_at",
                "updated_at",
            ]
        )  # fmt: skip
        question_render_bump(question_id=question.pk)
    return question
