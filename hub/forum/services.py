"""Writes for the forum. Every function checks permissions and rate limits and runs atomically.

Errors follow the project convention: ValidationError (bad input), PermissionDenied (not
allowed), hub.core.ratelimit.RateLimited (too many, too fast). Views and the API translate them.
"""

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from django.contrib.postgres.aggregates import StringAgg
from django.contrib.postgres.search import SearchVector
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F, Max, OuterRef, Subquery, TextField, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.text import slugify

from hub.accounts.selectors import user_is_moderator
from hub.accounts.services import profile_get, reputation_change
from hub.core.ratelimit import RateLimited, rate_limit
from hub.glossary.markdown import html_excerpt, render_markdown
from hub.notifications.services import (
    mentions_notify,
    notify,
    notify_question_followers,
    question_follow,
)

from .models import (
    EXCERPT_MAX_LENGTH,
    TAG_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Answer,
    Comment,
    Question,
    Revision,
    Tag,
    Vote,
)
from .page_cache import pages_invalidate

logger = logging.getLogger(__name__)

# Reputation, as on Stack Overflow (https://stackoverflow.com/help/whats-reputation).
REP_QUESTION_UPVOTE = 5
REP_ANSWER_UPVOTE = 10
REP_DOWNVOTE_RECEIVED = -2
REP_ANSWER_ACCEPTED = 15
REP_ACCEPTOR = 2
# Privileges (https://stackoverflow.com/help/privileges): downvoting needs 125.
REP_TO_DOWNVOTE = 125
# New accounts (below this reputation) may ask at most NEW_USER_QUESTIONS_PER_DAY a day;
# Stack Overflow throttles new askers similarly (our numbers, tuned for a small community).
REP_NEW_USER = 10
NEW_USER_QUESTIONS_PER_DAY = 3

# Rate limits per user: (limit, period in seconds). Ours; generous for people, tight for bots.
RATE_QUESTION = (6, 3600)
RATE_ANSWER = (20, 3600)
RATE_COMMENT = (20, 600)
RATE_VOTE = (60, 3600)
RATE_EDIT = (30, 3600)

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


# --- helpers ---------------------------------------------------------------------------------


class NewAccountLimited(RateLimited):
    """The daily question cap of new accounts: a RateLimited (HTTP 429) with its own words."""

    def __init__(self, *, retry_after: int):
        super().__init__(scope="question", retry_after=retry_after)
        hours = max(1, round(retry_after / 3600))
        self.args = (
            f"New accounts can ask {NEW_USER_QUESTIONS_PER_DAY} questions a day until they "
            f"earn {REP_NEW_USER} reputation (answers and upvotes earn it). "
            f"Try again in about {hours} hour{'s' if hours != 1 else ''}.",
        )


# Set only by trusted code that writes many posts at once (manage.py seed_demo).
_limits_bypassed: ContextVar[bool] = ContextVar("forum_limits_bypassed", default=False)


@contextmanager
def limits_bypassed() -> Iterator[None]:
    """Inside this block, rate limits and new-account caps do not apply (seeding data)."""
    token = _limits_bypassed.set(True)
    try:
        yield
    finally:
        _limits_bypassed.reset(token)


def _exempt_from_limits(user) -> bool:
    if _limits_bypassed.get():
        return True
    return profile_get(user=user).is_bot or user_is_moderator(user=user)


def _limit(*, scope: str, user, rule: tuple[int, int]) -> None:
    if _exempt_from_limits(user):
        return
    limit, period = rule
    rate_limit(scope=scope, key=f"user:{user.pk}", limit=limit, period_seconds=period)


def _require_active(user) -> None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        raise PermissionDenied("You need to be logged in.")


def _clean_text(value: str, *, field: str, min_length: int, max_length: int) -> str:
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
                f"Tag '{raw}' is not valid: use lower-case letters, digits and hyphens "
                f"(at most {TAG_MAX_LENGTH} characters)."
            )
        if name not in names:
            names.append(name)
    return names


def _tags_get_or_create(names: list[str]) -> list[Tag]:
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=names)}
    for name in names:
        if name not in existing:
            existing[name], _ = Tag.objects.get_or_create(name=name)
    return [existing[name] for name in names]


# Words that are routes under /questions/<id>/ (see urls.py): never a question's slug.
RESERVED_SLUGS = {"answer", "edit", "revisions", "close", "reopen", "vote", "comment"}


def _slug(title: str) -> str:
    slug = slugify(title)[:SLUG_MAX_LENGTH].strip("-") or "question"
    return f"{slug}-question" if slug in RESERVED_SLUGS else slug


# Answers count in search (weight C) up to this much text per question.
SEARCH_ANSWERS_MAX_CHARS = 100_000


def _question_index(question_id: int) -> None:
    """Refresh the PostgreSQL search vector: title (A) > body (B) > visible answers (C)."""
    if connection.vendor != "postgresql":
        return
    answers = Answer.objects.filter(question_id=question_id, is_hidden=False).order_by("-score")
    answers_text = "\n".join(answers.values_list("body", flat=True))[:SEARCH_ANSWERS_MAX_CHARS]
    Question.objects.filter(pk=question_id).update(
        search_vector=SearchVector("title", weight="A", config="english")
        + SearchVector("body", weight="B", config="english")
        + SearchVector(Value(answers_text), weight="C", config="english")
    )


def questions_search_reindex() -> int:
    """Rebuild every question's search vector in one statement (after bulk loads); PostgreSQL."""
    if connection.vendor != "postgresql":
        return 0
    answers_text = (
        Answer.objects.filter(question=OuterRef("pk"), is_hidden=False)
        .values("question")
        .annotate(text=StringAgg("body", delimiter="\n", order_by=("-score",)))
        .values("text")
    )
    return Question.objects.update(
        search_vector=SearchVector("title", weight="A", config="english")
        + SearchVector("body", weight="B", config="english")
        + SearchVector(
            Coalesce(Subquery(answers_text), Value(""), output_field=TextField()),
            weight="C",
            config="english",
        )
    )


def _revision_add(*, target, editor, title: str = "", body: str, tags: str = "", summary=""):
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


def _can_edit(*, user, author_id: int) -> bool:
    return user.pk == author_id or user_is_moderator(user=user)


def _question_touch(question_id: int) -> None:
    Question.objects.filter(pk=question_id).update(last_activity_at=timezone.now())
    question_render_bump(question_id=question_id)


def question_render_bump(*, question_id: int, **changes) -> None:
    """Invalidate the question's cached markup (its keys hold render_version) and the cached
    anonymous pages that show it (its page and the lists), applying `changes` in the same
    UPDATE. Every write that changes what a page shows goes through here."""
    Question.objects.filter(pk=question_id).update(
        render_version=F("render_version") + 1, **changes
    )
    pages_invalidate(question_id=question_id)


def _new_user_question_cap(author) -> None:
    if profile_get(user=author).reputation >= REP_NEW_USER or _exempt_from_limits(author):
        return
    since = timezone.now() - timedelta(days=1)
    recent = list(
        Question.objects.filter(author=author, created_at__gte=since)
        .order_by("created_at")
        .values_list("created_at", flat=True)[:NEW_USER_QUESTIONS_PER_DAY]
    )
    if len(recent) >= NEW_USER_QUESTIONS_PER_DAY:
        retry_after = int((recent[0] + timedelta(days=1) - timezone.now()).total_seconds()) + 1
        raise NewAccountLimited(retry_after=max(retry_after, 1))


# --- questions -------------------------------------------------------------------------------


def question_create(*, author, title: str, body: str, tags: list[str]) -> Question:
    _require_active(author)
    title = _clean_text(
        title, field="title", min_length=TITLE_MIN_LENGTH, max_length=TITLE_MAX_LENGTH
    )
    body = _clean_text(body, field="body", min_length=BODY_MIN_LENGTH, max_length=BODY_MAX_LENGTH)
    names = tags_normalize(tags)
    if len(names) > MAX_TAGS:
        raise ValidationError(f"Use at most {MAX_TAGS} tags.")
    _new_user_question_cap(author)
    _limit(scope="question", user=author, rule=RATE_QUESTION)
    with transaction.atomic():
        body_html = render_markdown(body)
        question = Question.objects.create(
            author=author,
            title=title,
            slug=_slug(title),
            body=body,
            body_html=body_html,
            excerpt=html_excerpt(body_html, max_length=EXCERPT_MAX_LENGTH),
        )
        question.tags.set(_tags_get_or_create(names))
        _revision_add(target=question, editor=author, title=title, body=body, tags=" ".join(names))
        _question_index(question.pk)
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
    _require_active(editor)
    if not _can_edit(user=editor, author_id=question.author_id):
        raise PermissionDenied("Only the author or a moderator can edit this question.")
    title = _clean_text(
        title, field="title", min_length=TITLE_MIN_LENGTH, max_length=TITLE_MAX_LENGTH
    )
    body = _clean_text(body, field="body", min_length=BODY_MIN_LENGTH, max_length=BODY_MAX_LENGTH)
    names = tags_normalize(tags)
    if len(names) > MAX_TAGS:
        raise ValidationError(f"Use at most {MAX_TAGS} tags.")
    old_names = sorted(question.tags.values_list("name", flat=True))
    if title == question.title and body == question.body and sorted(names) == old_names:
        return question
    _limit(scope="edit", user=editor, rule=RATE_EDIT)
    with transaction.atomic():
        question = Question.objects.select_for_update().get(pk=question.pk)
        question.title = title
        question.slug = _slug(title)
        question.body = body
        question.body_html = render_markdown(body)
        question.excerpt = html_excerpt(question.body_html, max_length=EXCERPT_MAX_LENGTH)
        question.last_activity_at = timezone.now()
        question.save(
            update_fields=[
                "title", "slug", "body", "body_html", "excerpt", "last_activity_at", "updated_at",
            ]
        )  # fmt: skip
        question.tags.set(_tags_get_or_create(names))
        _revision_add(target=question, editor=editor, title=title, body=body, tags=" ".join(names))
        _question_index(question.pk)
        question_render_bump(question_id=question.pk)
    return question


def question_tags_add(*, question: Question, tags: list[str]) -> None:
    """System tags (e.g. from a diagnosis): no permission check, no revision, no limits."""
    names = tags_normalize(tags)
    if names:
        question.tags.add(*_tags_get_or_create(names))
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


# --- answers ---------------------------------------------------------------------------------


def answer_create(*, author, question: Question, body: str, automated: bool = False) -> Answer:
    """A person's answer, or (automated=True) the bot's diagnosis post."""
    _require_active(author)
    body = _clean_text(
        body,
        field="answer",
        min_length=1 if automated else ANSWER_MIN_LENGTH,
        max_length=BODY_MAX_LENGTH * (4 if automated else 1),
    )
    with transaction.atomic():
        # Fresh state under a lock: a question closed a moment ago takes no more answers.
        current = Question.objects.select_for_update().only("is_closed", "is_hidden")
        current = current.get(pk=question.pk)
        if not automated:
            if current.is_hidden and not user_is_moderator(user=author):
                raise PermissionDenied("This question has been hidden by a moderator.")
            if current.is_closed:
                raise PermissionDenied("This question is closed: it no longer accepts answers.")
            _limit(scope="answer", user=author, rule=RATE_ANSWER)
        answer = Answer.objects.create(
            question=question,
            author=author,
            body=body,
            body_html=render_markdown(body),
            is_automated=automated,
        )
        question_render_bump(
            question_id=question.pk,
            answer_count=F("answer_count") + 1,
            last_activity_at=timezone.now(),
        )
        _revision_add(target=answer, editor=author, body=body)
        _question_index(question.pk)
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
    _require_active(editor)
    if not _can_edit(user=editor, author_id=answer.author_id):
        raise PermissionDenied("Only the author or a moderator can edit this answer.")
    body = _clean_text(
        body,
        field="answer",
        min_length=1 if answer.is_automated else ANSWER_MIN_LENGTH,
        max_length=BODY_MAX_LENGTH * (4 if answer.is_automated else 1),
    )
    if body == answer.body:
        return answer
    if not answer.is_automated:
        _limit(scope="edit", user=editor, rule=RATE_EDIT)
    with transaction.atomic():
        answer = Answer.objects.select_for_update().get(pk=answer.pk)
        answer.body = body
        answer.body_html = render_markdown(body)
        answer.save(update_fields=["body", "body_html", "updated_at"])
        _revision_add(target=answer, editor=editor, body=body)
        _question_touch(answer.question_id)
        _question_index(answer.question_id)
    return answer


def answer_accept(*, user, answer: Answer) -> Answer:
    """The asker marks one answer as the solution (replacing any earlier choice)."""
    _require_active(user)
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
    _require_active(user)
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


# --- comments --------------------------------------------------------------------------------


def comment_create(*, author, target, body: str) -> Comment:
    _require_active(author)
    if not isinstance(target, Question | Answer):
        raise ValidationError("Comments go on a question or an answer.")
    body = _clean_text(
        body, field="comment", min_length=COMMENT_MIN_LENGTH, max_length=COMMENT_MAX_LENGTH
    )
    question = target if isinstance(target, Question) else target.question
    if (target.is_hidden or question.is_hidden) and not user_is_moderator(user=author):
        raise PermissionDenied("This post has been hidden by a moderator.")
    _limit(scope="comment", user=author, rule=RATE_COMMENT)
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
    return comment


# --- votes -----------------------------------------------------------------------------------


def _vote_reputation(*, target, value: int) -> int:
    if value > 0:
        return REP_QUESTION_UPVOTE if isinstance(target, Question) else REP_ANSWER_UPVOTE
    if value < 0:
        return REP_DOWNVOTE_RECEIVED
    return 0


def vote_cast(*, user, target, value: int) -> int:
    """Up (1), down (-1) or withdraw (0) the user's vote; returns the target's new score."""
    _require_active(user)
    if value not in (-1, 0, 1):
        raise ValidationError("A vote is 1 (up), -1 (down) or 0 (withdraw).")
    if not isinstance(target, Question | Answer):
        raise ValidationError("Votes go on a question or an answer.")
    if target.author_id == user.pk:
        raise PermissionDenied("You cannot vote on your own post.")
    if target.is_hidden:
        raise PermissionDenied("This post has been hidden by a moderator.")
    if value < 0 and profile_get(user=user).reputation < REP_TO_DOWNVOTE:
        raise PermissionDenied(f"Downvoting needs {REP_TO_DOWNVOTE} reputation.")
    model = type(target)
    field = "question" if model is Question else "answer"
    with transaction.atomic():
        # Lock only the post's row; the author's profile comes along for the reputation change.
        locked = (
            model.objects.select_for_update(of=("self",))
            .select_related("author__profile")
            .get(pk=target.pk)
        )
        vote = Vote.objects.filter(user=user, **{field: locked}).first()
        old = vote.value if vote else 0
        if old == value:
            return locked.score
        _limit(scope="vote", user=user, rule=RATE_VOTE)
        if value == 0:
            vote.delete()
        elif vote is None:
            Vote.objects.create(user=user, value=value, **{field: locked})
        else:
            vote.value = value
            vote.save(update_fields=["value", "updated_at"])
        model.objects.filter(pk=locked.pk).update(score=F("score") + (value - old))
        question_render_bump(question_id=locked.pk if model is Question else locked.question_id)
        delta = _vote_reputation(target=locked, value=value) - _vote_reputation(
            target=locked, value=old
        )
        reputation_change(user=locked.author, delta=delta, reason=f"vote on {field} {locked.pk}")
        locked.refresh_from_db(fields=["score"])
    target.score = locked.score
    return locked.score


# --- moderation ------------------------------------------------------------------------------


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
            # answer_count counts visible answers ("unanswered" must not count hidden ones)
            question_render_bump(
                question_id=locked.question_id,
                answer_count=F("answer_count") + (-1 if hidden else 1),
            )
            _question_index(locked.question_id)
        else:
            question_render_bump(question_id=post_question_id(locked))
    target.is_hidden = hidden


def post_question_id(post) -> int:
    """The question a question, answer or comment belongs to."""
    if isinstance(post, Question):
        return post.pk
    if isinstance(post, Answer):
        return post.question_id
    return post.question_id or Answer.objects.values_list("question_id", flat=True).get(
        pk=post.answer_id
    )


def post_hide(*, moderator, target) -> None:
    _post_set_hidden(moderator=moderator, target=target, hidden=True)


def post_unhide(*, moderator, target) -> None:
    _post_set_hidden(moderator=moderator, target=target, hidden=False)
