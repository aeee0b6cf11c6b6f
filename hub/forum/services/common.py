"""What the forum's write services share: input rules, tags, slugs, revisions, cache bumps."""

import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from hub.accounts.selectors import user_is_moderator

from ..models import TAG_MAX_LENGTH, Answer, Question, Revision, Tag
from ..page_cache import pages_invalidate

# Lengths (Stack Overflow uses 15/30; we are a little more lenient on titles).
TITLE_MIN_LENGTH = 10
BODY_MIN_LENGTH = 20
BODY_MAX_LENGTH = 30_000
ANSWER_MIN_LENGTH = 10
COMMENT_MIN_LENGTH = 5
COMMENT_MAX_LENGTH = 600
MAX_TAGS = 5
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9.+#-]*$")
SLUG_MAX_LENGTH = 80


def require_active_user(user) -> None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        raise PermissionDenied("You need to be logged in.")


def text_clean(value: str, *, field: str, min_length: int, max_length: int) -> str:
    value = (value or "").strip()
    if len(value) < min_length:
        raise ValidationError(f"The {field} must be at least {min_length} characters.")
    if len(value) > max_length:
        raise ValidationError(f"The {field} must be at most {max_length} characters.")
    return value


def tags_normalize(tags: list[str] | str) -> list[str]:
    """Lower-case, hyphenated, deduplicated tag names; ValidationError on a bad one."""
    if isinstance(tags, str):
        tags = re.split(r"[\s,]+", tags)
    names: list[str] = []
    for raw in tags:
        name = re.sub(r"[\s_]+", "-", (raw or "").strip().lower()).strip("-")
        if not name:
            continue
        if len(name) > TAG_MAX_LENGTH or not TAG_RE.match(name):
            raise ValidationError(
                f"Tag '{raw}' is not valid: use lower-case letters, digits, hyphens, dots, + and # "
                f"(at most {TAG_MAX_LENGTH} characters)."
            )
        if name not in names:
            names.append(name)
    return names


def tags_get_or_create(names: list[str]) -> list[Tag]:
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    for name in names:
        if name not in existing:
            existing[name] = _tag_get_or_create(name)
    return [existing[name] for name in names]


def _tag_get_or_create(name: str, *, attempts: int = 3) -> Tag:
    try:
        return Tag.objects.get_or_create(name=name)[0]
    except IntegrityError:
        # Another request took this name's slug for another name (c-plus-plus, then c++)
        # between Tag.save()'s check and its insert: again, for the next free number.
        if attempts <= 1:
            raise
        return _tag_get_or_create(name, attempts=attempts - 1)


# Words that are routes under /questions/<id>/ (see urls.py): never a question's slug.
RESERVED_SLUGS = {"answer", "edit", "revisions", "close", "reopen", "vote", "comment"}


def slug_from_title(title: str) -> str:
    slug = slugify(title)[:SLUG_MAX_LENGTH].strip("-") or "question"
    return f"{slug}-question" if slug in RESERVED_SLUGS else slug


def revision_add(*, target, editor, title: str = "", body: str, tags: str = "", summary=""):
    field = "question" if isinstance(target, Question) else "answer"
    last = Revision.objects.filter(**{field: target}).aggregate(n=Max("number"))["n"] or 0
    return Revision.objects.create(
        **{field: target},
        editor=editor,
        number=last + 1,
        title=title,
        body=body,
        tags=tags,
        summary=summary,
    )


def can_edit(*, user, author_id: int) -> bool:
    return user.pk == author_id or user_is_moderator(user=user)


def question_touch(question_id: int) -> None:
    Question.objects.filter(pk=question_id).update(last_activity_at=timezone.now())
    question_render_bump(question_id=question_id)


def question_render_bump(*, question_id: int, **changes) -> None:
    """Make the cached pages that show the question (its page, the lists) stale, applying
    `changes` to its row first. Every write that changes what a page shows goes through here."""
    if changes:
        Question.objects.filter(pk=question_id).update(**changes)
    pages_invalidate(question_id=question_id)


def post_question_id(post) -> int:
    """The question a question, answer or comment belongs to."""
    if isinstance(post, Question):
        return post.pk
    if isinstance(post, Answer):
        return post.question_id
    return post.question_id or Answer.objects.values_list("question_id", flat=True).get(
        pk=post.answer_id
    )
