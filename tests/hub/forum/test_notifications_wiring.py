"""The forum services call the notifications app (CONTRACTS.md): check the rows they produce."""

from hub.forum import services
from hub.notifications.models import Notification
from hub.notifications.selectors import question_is_followed


def _verbs(user) -> list[str]:
    return sorted(Notification.objects.filter(recipient=user).values_list("verb", flat=True))


def test_askers_follow_their_question_and_hear_about_answers(question, asker, answerer):
    assert question_is_followed(user=asker, question=question)
    answer = services.answer_create(
        author=answerer, question=question, body="Add optimizer.zero_grad() at the top."
    )
    notification = Notification.objects.get(recipient=asker)
    assert notification.verb == "answered" and notification.url == answer.get_absolute_url()
    assert _verbs(answerer) == []  # never about your own action


def test_comments_notify_the_post_author_and_mentions_notify_the_named(
    question, answer, asker, answerer, make_user
):
    someone = make_user(username="carol-x")
    services.comment_create(author=asker, target=answer, body="Thanks, and @carol-x see this.")
    assert _verbs(answerer) == ["commented"]
    assert _verbs(someone) == ["mentioned"]


def test_accepting_notifies_the_answer_author(question, answer, asker, answerer):
    Notification.objects.all().delete()
    services.answer_accept(user=asker, answer=answer)
    assert _verbs(answerer) == ["accepted"]


def test_bot_answers_notify_the_asker(question, asker):
    from hub.accounts.services import bot_user_get

    services.answer_create(
        author=bot_user_get(),
        question=question,
        body="Diagnosis: missing zero_grad.",
        automated=True,
    )
    assert _verbs(asker) == ["answered"]


def test_a_comment_on_the_bots_answer_notifies_the_questions_followers_but_not_the_commenter(
    question, asker, make_user
):
    from hub.accounts.services import bot_user_get
    from hub.notifications.services import question_follow

    bot_answer = services.answer_create(
        author=bot_user_get(),
        question=question,
        body="Diagnosis: missing zero_grad.",
        automated=True,
    )
    follower, commenter = make_user(), make_user()
    question_follow(user=follower, question=question)
    question_follow(user=commenter, question=question)
    Notification.objects.all().delete()
    comment = services.comment_create(author=commenter, target=bot_answer, body="Did that fix it?")
    for person in (asker, follower):
        notification = Notification.objects.get(recipient=person)
        assert notification.verb == "commented" and notification.url == comment.get_absolute_url()
    assert _verbs(commenter) == []


def test_a_followed_post_authors_comment_notification_is_not_doubled(
    question, answer, asker, answerer
):
    from hub.notifications.services import question_follow

    question_follow(user=answerer, question=question)
    Notification.objects.all().delete()
    services.comment_create(author=asker, target=answer, body="Thanks, that was it.")
    assert _verbs(answerer) == ["commented"]
    assert _verbs(asker) == []
