import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from hub.forum.services import answer_accept, answer_create, comment_create
from hub.notifications.models import Notification, QuestionFollow
from hub.notifications.selectors import notification_unread_count, question_is_followed
from hub.notifications.services import (
    mentions_notify,
    mentions_parse,
    notification_mark_read,
    notification_settings_update,
    notifications_mark_all_read,
    notify,
    notify_question_followers,
    question_follow,
    question_follow_toggle,
    question_followers,
    question_unfollow,
)

pytestmark = pytest.mark.django_db

ANSWER = "Use a residual connection or switch sigmoid for ReLU and check the init."


def test_notify_creates_an_unread_notification_for_the_recipient(make_user):
    alice, bob = make_user(), make_user()
    n = notify(recipient=alice, verb="answered", text="bob answered", url="/q/1/#a", actor=bob)
    assert n is not None and n.recipient == alice and n.actor == bob and not n.is_read
    assert notification_unread_count(user=alice) == 1
    assert notification_unread_count(user=bob) == 0


def test_notify_never_tells_the_actor_about_their_own_action(make_user):
    alice = make_user()
    assert notify(recipient=alice, verb="answered", text="x", url="/q/1/", actor=alice) is None
    assert Notification.objects.count() == 0


def test_notify_refuses_an_unknown_verb(make_user):
    with pytest.raises(ValidationError):
        notify(recipient=make_user(), verb="liked", text="x", url="/")


def test_notify_skips_inactive_recipients(make_user):
    gone = make_user(is_active=False)
    assert notify(recipient=gone, verb="diagnosed", text="x", url="/q/1/") is None


def test_notify_cuts_overlong_text_to_the_column(make_user):
    n = notify(recipient=make_user(), verb="diagnosed", text="x" * 1000, url="/q/1/")
    assert len(n.text) == 300 and n.text.endswith("…")


def test_the_same_event_reaching_a_person_twice_notifies_once(make_user):
    alice = make_user()
    first = notify(recipient=alice, verb="answered", text="a", url="/q/1/#answer-5")
    second = notify(recipient=alice, verb="mentioned", text="b", url="/q/1/#answer-5")
    assert first is not None and second is None
    assert notification_unread_count(user=alice) == 1


def test_a_read_notification_does_not_suppress_a_new_one_for_the_same_url(make_user):
    alice = make_user()
    first = notify(recipient=alice, verb="diagnosed", text="a", url="/q/1/#answer-5")
    notification_mark_read(user=alice, notification_id=first.pk)
    assert notify(recipient=alice, verb="diagnosed", text="b", url="/q/1/#answer-5") is not None


def test_askers_follow_their_question_and_follow_unfollow_are_idempotent(make_user, make_question):
    asker, reader = make_user(), make_user()
    question = make_question(author=asker)
    assert list(question_followers(question=question)) == [asker]
    question_follow(user=reader, question=question)
    question_follow(user=reader, question=question)
    assert QuestionFollow.objects.filter(question=question).count() == 2
    question_unfollow(user=reader, question=question)
    question_unfollow(user=reader, question=question)
    assert list(question_followers(question=question)) == [asker]


def test_follow_toggle_flips_the_state(make_user, make_question):
    reader, question = make_user(), make_question()
    assert question_follow_toggle(user=reader, question=question) is True
    assert question_is_followed(user=reader, question=question)
    assert question_follow_toggle(user=reader, question=question) is False
    assert not question_is_followed(user=reader, question=question)


def test_followers_hear_about_an_answer_but_not_its_author(make_user, make_question):
    asker, follower, answerer = make_user(), make_user(), make_user()
    question = make_question(author=asker)
    question_follow(user=follower, question=question)
    question_follow(user=answerer, question=question)
    answer = answer_create(author=answerer, question=question, body=ANSWER)
    for person in (asker, follower):
        n = Notification.objects.get(recipient=person)
        assert n.verb == "answered" and n.url == answer.get_absolute_url()
        assert n.actor == answerer and n.question == question
    assert not Notification.objects.filter(recipient=answerer).exists()


def test_an_unfollowed_asker_is_not_notified_of_answers(make_user, make_question):
    asker, answerer = make_user(), make_user()
    question = make_question(author=asker)
    question_unfollow(user=asker, question=question)
    answer_create(author=answerer, question=question, body=ANSWER)
    assert notification_unread_count(user=asker) == 0


def test_a_follower_who_is_also_mentioned_gets_one_notification(make_user, make_question):
    asker, answerer = make_user(), make_user()
    question = make_question(author=asker)
    answer_create(author=answerer, question=question, body=f"@{asker.username} {ANSWER}")
    assert Notification.objects.filter(recipient=asker).count() == 1


def test_notify_question_followers_returns_what_it_made(make_user, make_question):
    asker, other = make_user(), make_user()
    question = make_question(author=asker)
    made = notify_question_followers(
        question=question, verb="diagnosed", text="t", url="/x/", actor=other
    )
    assert [n.recipient for n in made] == [asker]


def test_mentions_are_parsed_outside_code_only():
    text = (
        "Thanks @alice and @Bob-2! Ping me@example.com or see https://x.org/@carol\n\n"
        "`@dave` in a span\n\n```python\n# @erin in a fence\n```\n\n    @frank indented\n\n"
        "*@grace* and @alice again, and @ab (too short)"
    )
    assert mentions_parse(text=text) == ["alice", "Bob-2", "grace"]


def test_mentions_notify_ignores_unknown_names_and_self_mentions(make_user, make_question):
    actor, alice = make_user(), make_user()
    question = make_question(author=actor)
    made = mentions_notify(
        text=f"@{actor.username} @nobody-here @{alice.username.upper()}",
        actor=actor,
        question=question,
        url="/q/1/#comment-1",
    )
    assert [n.recipient for n in made] == [alice]
    assert made[0].verb == "mentioned" and actor.username in made[0].text


def test_a_comment_notifies_the_post_author_once_even_when_mentioned(make_user, make_question):
    asker, commenter = make_user(), make_user()
    question = make_question(author=asker)
    comment_create(author=commenter, target=question, body=f"@{asker.username} which torch?")
    notes = list(Notification.objects.filter(recipient=asker))
    assert [n.verb for n in notes] == ["commented"]


def test_accepting_notifies_the_answer_author(make_user, make_question):
    asker, answerer = make_user(), make_user()
    question = make_question(author=asker)
    answer = answer_create(author=answerer, question=question, body=ANSWER)
    answer_accept(user=asker, answer=answer)
    n = Notification.objects.get(recipient=answerer)
    assert n.verb == "accepted" and n.actor == asker


def test_mark_read_only_touches_the_owners_notification(make_user):
    alice, mallory = make_user(), make_user()
    n = notify(recipient=alice, verb="diagnosed", text="t", url="/q/1/")
    assert notification_mark_read(user=mallory, notification_id=n.pk) is None
    assert notification_unread_count(user=alice) == 1
    assert notification_mark_read(user=alice, notification_id=n.pk).is_read
    assert notification_unread_count(user=alice) == 0


def test_mark_all_read_clears_the_unread_count(make_user):
    alice = make_user()
    for i in range(3):
        notify(recipient=alice, verb="diagnosed", text="t", url=f"/q/{i}/")
    assert notifications_mark_all_read(user=alice) == 3
    assert notification_unread_count(user=alice) == 0


def test_email_is_sent_after_commit_only_when_switched_on(
    make_user, django_capture_on_commit_callbacks
):
    alice, bob = make_user(), make_user()
    notification_settings_update(user=alice, email_notifications=True)
    with django_capture_on_commit_callbacks(execute=True):
        notify(recipient=alice, verb="diagnosed", text="Your trace is diagnosed", url="/q/7/")
        notify(recipient=bob, verb="diagnosed", text="Your trace is diagnosed", url="/q/7/")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [alice.email]
    assert "Your trace is diagnosed" in mail.outbox[0].subject
    assert "/q/7/" in mail.outbox[0].body


def test_a_diagnosis_replaces_the_bots_answered_notification_for_the_asker(
    make_user, make_question
):
    from hub.accounts.services import bot_user_get

    asker, follower = make_user(), make_user()
    question = make_question(author=asker)
    question_follow(user=follower, question=question)
    answer_create(author=bot_user_get(), question=question, body="## Diagnosis", automated=True)
    notify(
        recipient=asker,
        verb="diagnosed",
        text="Gradient Doctor diagnosed your trace: vanishing gradients",
        url="/traces/1/",
        question=question,
    )
    mine = list(Notification.objects.filter(recipient=asker))
    assert [(n.verb, n.url) for n in mine] == [("diagnosed", "/traces/1/")]
    assert Notification.objects.get(recipient=follower).verb == "answered"
