import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError

from hub.core.ratelimit import RateLimited
from hub.moderation.models import Flag
from hub.moderation.services import (
    RATE_FLAG,
    flag_close_question,
    flag_create,
    flag_dismiss,
    flag_hide_target,
    flag_resolve,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("target_name", ["question", "answer", "comment"])
def test_a_member_can_flag_each_kind_of_post(make_user, request, target_name):
    target = request.getfixturevalue(target_name)
    flag = flag_create(reporter=make_user(), target=target, reason="spam")
    assert flag.state == "open" and flag.target == target and flag.target_type == target_name


def test_a_second_open_flag_on_the_same_post_by_the_same_person_is_refused(make_user, question):
    reporter = make_user()
    flag_create(reporter=reporter, target=question, reason="spam")
    with pytest.raises(ValidationError, match="already flagged"):
        flag_create(reporter=reporter, target=question, reason="rude")
    assert Flag.objects.count() == 1


def test_after_a_flag_is_handled_the_same_person_may_flag_again(make_user, moderator, question):
    reporter = make_user()
    first = flag_create(reporter=reporter, target=question, reason="spam")
    flag_dismiss(moderator=moderator, flag=first)
    assert flag_create(reporter=reporter, target=question, reason="spam").state == "open"


def test_two_people_may_flag_the_same_post(make_user, question):
    flag_create(reporter=make_user(), target=question, reason="spam")
    flag_create(reporter=make_user(), target=question, reason="spam")
    assert Flag.objects.filter(question=question, state="open").count() == 2


def test_flag_needs_a_known_reason_and_a_note_for_other(make_user, question):
    reporter = make_user()
    with pytest.raises(ValidationError):
        flag_create(reporter=reporter, target=question, reason="boring")
    with pytest.raises(ValidationError, match="note"):
        flag_create(reporter=reporter, target=question, reason="other", note="  ")
    assert flag_create(reporter=reporter, target=question, reason="other", note="plagiarised")


def test_anonymous_people_cannot_flag(question):
    with pytest.raises(PermissionDenied):
        flag_create(reporter=AnonymousUser(), target=question, reason="spam")


def test_flagging_is_rate_limited_per_person(make_user):
    from hub.forum.models import Question

    reporter, author = make_user(), make_user()
    limit, _ = RATE_FLAG
    # Rows made directly: the forum's own posting limits are not what this test is about.
    posts = [
        Question.objects.create(author=author, title=f"Question {i}", body="body text here")
        for i in range(limit + 1)
    ]
    for post in posts[:limit]:
        flag_create(reporter=reporter, target=post, reason="spam")
    with pytest.raises(RateLimited):
        flag_create(reporter=reporter, target=posts[limit], reason="spam")


def test_hide_action_hides_the_post_through_the_forum_and_settles_all_its_flags(
    make_user, moderator, answer
):
    first = flag_create(reporter=make_user(), target=answer, reason="spam")
    flag_create(reporter=make_user(), target=answer, reason="rude")
    assert flag_hide_target(moderator=moderator, flag=first) == 2
    answer.refresh_from_db()
    answer.question.refresh_from_db()
    assert answer.is_hidden
    assert answer.question.answer_count == 0  # the forum's bookkeeping ran
    assert set(Flag.objects.values_list("state", "action", "handled_by")) == {
        ("resolved", "hidden", moderator.pk)
    }


def test_close_action_closes_a_question_as_a_duplicate(make_user, moderator, question):
    from hub.forum.services import question_create

    original = question_create(
        author=make_user(),
        title="Where can I buy watches cheaply?",
        body="Looking for a good shop for watches, any advice?",
        tags=["shopping"],
    )
    flag = flag_create(reporter=make_user(), target=question, reason="duplicate")
    flag_close_question(moderator=moderator, flag=flag, reason="duplicate", duplicate_of=original)
    question.refresh_from_db()
    flag.refresh_from_db()
    assert question.is_closed and question.duplicate_of == original
    assert flag.state == "resolved" and flag.action == "closed:duplicate"


def test_close_as_duplicate_without_the_original_is_refused_and_leaves_the_flag_open(
    make_user, moderator, question
):
    flag = flag_create(reporter=make_user(), target=question, reason="duplicate")
    with pytest.raises(ValidationError):
        flag_close_question(moderator=moderator, flag=flag, reason="duplicate")
    flag.refresh_from_db()
    question.refresh_from_db()
    assert flag.state == "open" and not question.is_closed


def test_close_action_on_an_answer_flag_is_refused(make_user, moderator, answer):
    flag = flag_create(reporter=make_user(), target=answer, reason="off-topic")
    with pytest.raises(ValidationError):
        flag_close_question(moderator=moderator, flag=flag, reason="off-topic")


def test_dismiss_and_resolve_change_the_state_but_not_the_post(make_user, moderator, comment):
    dismissed = flag_create(reporter=make_user(), target=comment, reason="rude")
    flag_dismiss(moderator=moderator, flag=dismissed)
    resolved = flag_create(reporter=make_user(), target=comment, reason="rude")
    flag_resolve(moderator=moderator, flag=resolved)
    dismissed.refresh_from_db()
    resolved.refresh_from_db()
    comment.refresh_from_db()
    assert (dismissed.state, resolved.state) == ("dismissed", "resolved")
    assert dismissed.handled_at is not None and not comment.is_hidden


def test_a_handled_flag_cannot_be_handled_again(make_user, moderator, question):
    flag = flag_create(reporter=make_user(), target=question, reason="spam")
    flag_dismiss(moderator=moderator, flag=flag)
    with pytest.raises(ValidationError, match="already been handled"):
        flag_hide_target(moderator=moderator, flag=flag)
    question.refresh_from_db()
    assert not question.is_hidden


@pytest.mark.parametrize("action", [flag_dismiss, flag_resolve, flag_hide_target])
def test_members_cannot_act_on_flags(make_user, question, action):
    member = make_user()
    flag = flag_create(reporter=make_user(), target=question, reason="spam")
    with pytest.raises(PermissionDenied):
        action(moderator=member, flag=flag)
    flag.refresh_from_db()
    assert flag.state == "open"
