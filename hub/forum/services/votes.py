"""Votes on questions and answers, and the reputation they move."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F

from hub.accounts.services import profile_get, reputation_change

from ..models import Answer, Question, Vote
from . import limits
from .common import question_render_bump, require_active_user

# Reputation, as on Stack Overflow (https://stackoverflow.com/help/whats-reputation).
REP_QUESTION_UPVOTE = 5
REP_ANSWER_UPVOTE = 10
REP_DOWNVOTE_RECEIVED = -2
# Privileges (https://stackoverflow.com/help/privileges): downvoting needs 125.
REP_TO_DOWNVOTE = 125


def _vote_reputation(*, target, value: int) -> int:
    if value > 0:
        return REP_QUESTION_UPVOTE if isinstance(target, Question) else REP_ANSWER_UPVOTE
    if value < 0:
        return REP_DOWNVOTE_RECEIVED
    return 0


def vote_cast(*, user, target, value: int) -> int:
    """Up (1), down (-1) or withdraw (0) the user's vote; returns the target's new score."""
    require_active_user(user)
    if value not in (-1, 0, 1):
        raise ValidationError("A vote is 1 (up), -1 (down) or 0 (withdraw).")
    if not isinstance(target, Question | Answer):
        raise ValidationError("Votes go on a question or an answer.")
    if target.author_id == user.pk:
        raise PermissionDenied("You cannot vote on your own post.")
    if target.is_hidden:
        raise PermissionDenied("This post has been hidden by a moderator.")
    # Fresh from the database: callers hold the answer, not always its question's state.
    if (
        isinstance(target, Answer)
        and Question.objects.filter(pk=target.question_id, is_hidden=True).exists()
    ):
        raise PermissionDenied("This question has been hidden by a moderator.")
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
        limits.user_rate_limit(scope="vote", user=user, rule=limits.RATE_VOTE)
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


def votes_withdraw_all(*, user) -> int:
    """Withdraw every vote of ``user`` as vote_cast(value=0) would: scores and the authors'
    reputation lose what the votes gave. Runs before an account is deleted, whose cascade
    would otherwise drop the vote rows and leave scores and reputation inflated."""
    votes = Vote.objects.filter(user=user).select_related(
        "question__author", "answer__author", "answer__question"
    )
    withdrawn = 0
    with transaction.atomic():
        for vote in votes.select_for_update(of=("self",)):
            target = vote.question or vote.answer
            model = type(target)
            model.objects.filter(pk=target.pk).update(score=F("score") - vote.value)
            question_render_bump(question_id=target.pk if model is Question else target.question_id)
            reputation_change(
                user=target.author,
                delta=-_vote_reputation(target=target, value=vote.value),
                reason=f"vote withdrawn: {user.username}'s account deleted",
            )
            vote.delete()
            withdrawn += 1
    return withdrawn
