import pytest
from django.contrib.auth.models import Group

from hub.accounts.selectors import MODERATORS_GROUP
from hub.moderation.models import Flag
from hub.moderation.services import flag_create

pytestmark = pytest.mark.django_db


def test_the_queue_is_refused_to_members_and_sends_anonymous_people_to_log_in(client, make_user):
    assert client.get("/moderation/").status_code == 302
    client.force_login(make_user())
    assert client.get("/moderation/").status_code == 403


def test_the_queue_lists_open_flags_with_the_post_excerpt_for_staff(
    client, make_user, moderator, question
):
    flag_create(reporter=make_user(), target=question, reason="spam", note="link farm")
    client.force_login(moderator)
    response = client.get("/moderation/")
    assert response.status_code == 200
    html = response.content.decode()
    assert question.title in html and "link farm" in html and "Hide post" in html


def test_members_of_the_moderators_group_see_the_queue(client, make_user):
    person = make_user()
    person.groups.add(Group.objects.get_or_create(name=MODERATORS_GROUP)[0])
    client.force_login(person)
    assert client.get("/moderation/").status_code == 200


def test_flag_post_creates_a_flag_and_goes_back(client, make_user, question):
    reporter = make_user()
    client.force_login(reporter)
    response = client.post(
        "/moderation/flag/",
        {"target_type": "question", "target_id": question.pk, "reason": "spam", "next": "/x/"},
    )
    assert response.status_code == 302 and response["Location"] == "/x/"
    assert Flag.objects.filter(reporter=reporter, question=question, state="open").exists()


def test_flag_post_with_bad_input_is_a_400_with_the_reason(client, make_user, question):
    client.force_login(make_user())
    response = client.post(
        "/moderation/flag/", {"target_type": "question", "target_id": question.pk, "reason": "x"}
    )
    assert response.status_code == 400 and b"Choose a reason" in response.content
    response = client.post("/moderation/flag/", {"target_type": "user", "target_id": 1})
    assert response.status_code == 400
    response = client.post("/moderation/flag/", {"target_type": "answer", "target_id": "abc"})
    assert response.status_code == 400


def test_flag_post_refuses_a_foreign_next_url(client, make_user, question):
    client.force_login(make_user())
    response = client.post(
        "/moderation/flag/",
        {
            "target_type": "question",
            "target_id": question.pk,
            "reason": "spam",
            "next": "https://evil.example/",
        },
    )
    assert response.status_code == 302 and "evil" not in response["Location"]


def test_the_flag_form_page_renders_for_a_post(client, make_user, answer):
    client.force_login(make_user())
    response = client.get(f"/moderation/flag/?target_type=answer&target_id={answer.pk}")
    assert response.status_code == 200 and b"Send flag" in response.content


def test_a_member_cannot_post_a_moderator_action(client, make_user, question):
    flag = flag_create(reporter=make_user(), target=question, reason="spam")
    client.force_login(make_user())
    response = client.post(f"/moderation/flags/{flag.pk}/action/", {"action": "hide"})
    assert response.status_code == 403
    question.refresh_from_db()
    assert not question.is_hidden


@pytest.mark.parametrize(
    ("data", "state", "hidden", "closed"),
    [
        ({"action": "hide"}, "resolved", True, False),
        ({"action": "close", "close_reason": "off-topic"}, "resolved", False, True),
        ({"action": "dismiss"}, "dismissed", False, False),
        ({"action": "resolve"}, "resolved", False, False),
    ],
)
def test_queue_actions_change_the_flag_and_the_post(
    client, make_user, moderator, question, data, state, hidden, closed
):
    flag = flag_create(reporter=make_user(), target=question, reason="off-topic")
    client.force_login(moderator)
    response = client.post(f"/moderation/flags/{flag.pk}/action/", data)
    assert response.status_code == 302
    flag.refresh_from_db()
    question.refresh_from_db()
    assert (flag.state, question.is_hidden, question.is_closed) == (state, hidden, closed)
    assert flag.handled_by == moderator


def test_closing_as_duplicate_accepts_a_pasted_question_url(client, make_user, moderator, question):
    from hub.forum.models import Question

    original = Question.objects.create(
        author=make_user(), title="The original one", body="original body", slug="orig"
    )
    flag = flag_create(reporter=make_user(), target=question, reason="duplicate")
    client.force_login(moderator)
    client.post(
        f"/moderation/flags/{flag.pk}/action/",
        {
            "action": "close",
            "close_reason": "duplicate",
            "duplicate_of": f"http://testserver/questions/{original.pk}/orig/",
        },
    )
    question.refresh_from_db()
    assert question.is_closed and question.duplicate_of_id == original.pk


def test_an_unknown_action_leaves_the_flag_open_with_a_message(
    client, make_user, moderator, question
):
    flag = flag_create(reporter=make_user(), target=question, reason="spam")
    client.force_login(moderator)
    response = client.post(f"/moderation/flags/{flag.pk}/action/", {"action": "nuke"}, follow=True)
    assert b"Unknown action" in response.content
    flag.refresh_from_db()
    assert flag.state == "open"


def test_the_queue_runs_a_constant_number_of_queries_for_many_flags(
    client, make_user, moderator, question, answer, comment, django_assert_max_num_queries
):
    for target in (question, answer, comment):
        for _ in range(3):
            flag_create(reporter=make_user(), target=target, reason="rude")
    client.force_login(moderator)
    with django_assert_max_num_queries(5):
        response = client.get("/moderation/")
    html = response.content.decode()
    assert html.count('class="card flag-item"') == 9
    assert html.count('title="Open flags on this post">3<') == 9


def test_the_flag_page_does_not_show_a_hidden_post_to_members(client, make_user, moderator, answer):
    from hub.forum.services import post_hide

    post_hide(moderator=moderator, target=answer)
    client.force_login(make_user())
    response = client.get(f"/moderation/flag/?target_type=answer&target_id={answer.pk}")
    assert response.status_code == 400
    assert answer.body.encode() not in response.content
    client.force_login(moderator)
    response = client.get(f"/moderation/flag/?target_type=answer&target_id={answer.pk}")
    assert response.status_code == 200 and answer.body.encode() in response.content


def test_a_comment_under_a_hidden_question_cannot_be_flagged_by_members(
    client, make_user, moderator, question, comment
):
    from hub.forum.services import post_hide

    post_hide(moderator=moderator, target=question)
    client.force_login(make_user())
    response = client.post(
        "/moderation/flag/",
        {"target_type": "comment", "target_id": comment.pk, "reason": "rude"},
    )
    assert response.status_code == 400 and not Flag.objects.exists()
