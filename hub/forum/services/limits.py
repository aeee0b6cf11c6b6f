"""Rate limits per user, the new-account question cap, and the bypass for seeding data."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from django.utils import timezone

from hub.accounts.selectors import user_is_moderator
from hub.accounts.services import profile_get
from hub.core.ratelimit import RateLimited, rate_limit

from ..models import Question

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


def user_rate_limit(*, scope: str, user, rule: tuple[int, int]) -> None:
    if _exempt_from_limits(user):
        return
    limit, period = rule
    rate_limit(scope=scope, key=f"user:{user.pk}", limit=limit, period_seconds=period)


def _capped_questions_today(author) -> list | None:
    """Creation times of the author's questions counted by the daily cap, oldest first (at most
    the cap); None when the cap does not apply to them."""
    if profile_get(user=author).reputation >= REP_NEW_USER or _exempt_from_limits(author):
        return None
    since = timezone.now() - timedelta(days=1)
    return list(
        Question.objects.filter(author=author, created_at__gte=since)
        .order_by("created_at")
        .values_list("created_at", flat=True)[:NEW_USER_QUESTIONS_PER_DAY]
    )


def new_user_questions_left(author) -> int | None:
    """How many more questions a new account may ask now (the ask form says so before they
    write); None when the cap does not apply."""
    recent = _capped_questions_today(author)
    return None if recent is None else NEW_USER_QUESTIONS_PER_DAY - len(recent)


def new_user_question_cap(author) -> None:
    recent = _capped_questions_today(author)
    if recent is not None and len(recent) >= NEW_USER_QUESTIONS_PER_DAY:
        retry_after = int((recent[0] + timedelta(days=1) - timezone.now()).total_seconds()) + 1
        raise NewAccountLimited(retry_after=max(retry_after, 1))
