"""Writes for moderation: people flag posts, moderators handle the flags.

Moderators act through the forum's own services (post_hide, question_close), so the forum's
rules and permission checks apply here too. An action on a flag settles every open flag on the
same post: moderators decide about posts, not about individual reports.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from hub.accounts.selectors import user_is_moderator
from hub.core.ratelimit import rate_limit
from hub.forum import services as forum_services
from hub.forum.models import Answer, Comment, Question

from .models import NOTE_MAX_LENGTH, Flag

# Per person: (limit, period in seconds). Ours: more than ten reports an hour is more likely
# abuse of flags than that much abuse found; moderators are not limited.
RATE_FLAG = (10, 3600)


def moderator_require(*, user) -> None:
    if not user_is_moderator(user=user):
        raise PermissionDenied("Only moderators can do that.")


def _target_field(target) -> str:
    if isinstance(target, Question):
        return "question"
    if isinstance(target, Answer):
        return "answer"
    if isinstance(target, Comment):
        return "comment"
    raise ValidationError("Only questions, answers and comments can be flagged.")


def flag_create(*, reporter, target, reason: str, note: str = "") -> Flag:
    """Report a post to the moderators; one open flag per person per post."""
    if not getattr(reporter, "is_authenticated", False) or not reporter.is_active:
        raise PermissionDenied("You need to be logged in to flag a post.")
    field = _target_field(target)
    if reason not in Flag.Reason.values:
        raise ValidationError(f"Choose a reason: {', '.join(Flag.Reason.values)}.")
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError(f"The note must be at most {NOTE_MAX_LENGTH} characters.")
    if reason == Flag.Reason.OTHER and not note:
        raise ValidationError("Tell the moderators what is wrong in the note.")
    open_flags = Flag.objects.filter(reporter=reporter, state=Flag.State.OPEN, **{field: target})
    if open_flags.exists():
        raise ValidationError("You have already flagged this post; a moderator will look at it.")
    if not user_is_moderator(user=reporter):
        limit, period = RATE_FLAG
        rate_limit(scope="flag", key=f"user:{reporter.pk}", limit=limit, period_seconds=period)
    try:
        with transaction.atomic():
            return Flag.objects.create(
                reporter=reporter, reason=reason, note=note, **{field: target}
            )
    except IntegrityError as exc:  # a double submit raced the check above
        raise ValidationError(
            "You have already flagged this post; a moderator will look at it."
        ) from exc


def _flags_settle(*, flag: Flag, moderator, state: str, action: str) -> int:
    """Set every open flag on flag's post to `state`; returns how many changed."""
    field = flag.target_type
    return Flag.objects.filter(
        state=Flag.State.OPEN, **{f"{field}_id": getattr(flag, f"{field}_id")}
    ).update(state=state, action=action, handled_by=moderator, handled_at=timezone.now())


def _open_flag_lock(*, flag: Flag) -> Flag:
    locked = Flag.objects.select_for_update().get(pk=flag.pk)
    if locked.state != Flag.State.OPEN:
        raise ValidationError("This flag has already been handled.")
    return locked


def flag_dismiss(*, moderator, flag: Flag) -> int:
    """The reports were not warranted: close them without touching the post."""
    moderator_require(user=moderator)
    with transaction.atomic():
        locked = _open_flag_lock(flag=flag)
        return _flags_settle(
            flag=locked, moderator=moderator, state=Flag.State.DISMISSED, action="dismissed"
        )


def flag_resolve(*, moderator, flag: Flag) -> int:
    """The moderator dealt with it some other way (edited, talked to the author...)."""
    moderator_require(user=moderator)
    with transaction.atomic():
        locked = _open_flag_lock(flag=flag)
        return _flags_settle(
            flag=locked, moderator=moderator, state=Flag.State.RESOLVED, action="resolved"
        )


def flag_hide_target(*, moderator, flag: Flag) -> int:
    """Hide the flagged post (forum.post_hide) and resolve its open flags."""
    moderator_require(user=moderator)
    with transaction.atomic():
        locked = _open_flag_lock(flag=flag)
        forum_services.post_hide(moderator=moderator, target=locked.target)
        return _flags_settle(
            flag=locked, moderator=moderator, state=Flag.State.RESOLVED, action="hidden"
        )


def flag_close_question(
    *, moderator, flag: Flag, reason: str, duplicate_of: Question | None = None
) -> int:
    """Close the flagged question (forum.question_close) and resolve its open flags."""
    moderator_require(user=moderator)
    if flag.question_id is None:
        raise ValidationError("Only a flagged question can be closed.")
    with transaction.atomic():
        locked = _open_flag_lock(flag=flag)
        forum_services.question_close(
            moderator=moderator, question=locked.question, reason=reason, duplicate_of=duplicate_of
        )
        return _flags_settle(
            flag=locked, moderator=moderator, state=Flag.State.RESOLVED, action=f"closed:{reason}"
        )
