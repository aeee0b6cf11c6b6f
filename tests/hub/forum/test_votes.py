import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from hub.forum import services
from hub.forum.models import Vote


def _rep(user) -> int:
    user.profile.refresh_from_db()
    return user.profile.reputation


def test_vote_on_own_post_is_refused(question, asker):
    with pytest.raises(PermissionDenied):
        services.vote_cast(user=asker, target=question, value=1)
    assert not Vote.objects.exists()


def test_vote_value_outside_minus_one_to_one_is_refused(question, answerer):
    with pytest.raises(ValidationError):
        services.vote_cast(user=answerer, target=question, value=2)


def test_one_vote_per_user_changeable_and_withdrawable(answer, asker, make_user):
    voter = make_user(reputation=200)
    assert services.vote_cast(user=voter, target=answer, value=1) == 1
    assert services.vote_cast(user=voter, target=answer, value=1) == 1  # same vote: no change
    assert services.vote_cast(user=voter, target=answer, value=-1) == -1
    assert Vote.objects.filter(user=voter).count() == 1
    assert services.vote_cast(user=voter, target=answer, value=0) == 0
    assert not Vote.objects.filter(user=voter).exists()
    assert services.vote_cast(user=asker, target=answer, value=1) == 1


def test_downvote_needs_reputation(answer, make_user):
    newcomer = make_user(reputation=124)
    with pytest.raises(PermissionDenied, match="125"):
        services.vote_cast(user=newcomer, target=answer, value=-1)
    assert services.vote_cast(user=newcomer, target=answer, value=1) == 1


def test_reputation_follows_stack_overflow_rules(question, answer, asker, answerer, make_user):
    voter = make_user(reputation=500)
    asker_start, answerer_start = _rep(asker), _rep(answerer)
    services.vote_cast(user=voter, target=question, value=1)
    assert _rep(asker) == asker_start + 5
    services.vote_cast(user=voter, target=answer, value=1)
    assert _rep(answerer) == answerer_start + 10
    services.vote_cast(user=voter, target=answer, value=-1)  # changed: +10 undone, -2 applied
    assert _rep(answerer) == answerer_start - 2
    services.vote_cast(user=voter, target=answer, value=0)
    assert _rep(answerer) == answerer_start
    services.answer_accept(user=asker, answer=answer)
    assert _rep(answerer) == answerer_start + 15
    assert _rep(asker) == asker_start + 5 + 2


def test_reputation_never_falls_below_one(question, make_user):
    voters = [make_user(reputation=500) for _ in range(3)]
    author = question.author
    from hub.accounts.models import Profile

    Profile.objects.filter(user=author).update(reputation=3)
    for voter in voters:
        services.vote_cast(user=voter, target=question, value=-1)
    assert _rep(author) == 1
    question.refresh_from_db()
    assert question.score == -3


def test_vote_on_hidden_post_is_refused(answer, moderator, make_user):
    services.post_hide(moderator=moderator, target=answer)
    with pytest.raises(PermissionDenied):
        services.vote_cast(user=make_user(), target=answer, value=1)


def test_deleting_an_account_takes_back_what_its_votes_gave(
    question, answer, asker, answerer, make_user
):
    voter = make_user(reputation=200)
    asker_before, answerer_before = _rep(asker), _rep(answerer)
    services.vote_cast(user=voter, target=question, value=1)
    services.vote_cast(user=voter, target=answer, value=-1)
    assert (_rep(asker), _rep(answerer)) != (asker_before, answerer_before)

    voter.delete()  # the admin's delete: a cascade that bypasses the services

    question.refresh_from_db()
    answer.refresh_from_db()
    assert (question.score, answer.score) == (0, 0)
    assert (_rep(asker), _rep(answerer)) == (asker_before, answerer_before)
    assert not Vote.objects.exists()


def test_a_vote_on_an_answer_of_a_hidden_question_is_refused(question, answer, moderator):
    services.post_hide(moderator=moderator, target=question)
    for voter in (moderator, question.author):  # even those who still see the question
        with pytest.raises(PermissionDenied):
            services.vote_cast(user=voter, target=answer, value=1)
    assert not Vote.objects.filter(answer=answer).exists()
