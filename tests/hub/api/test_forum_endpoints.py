"""Questions, answers, comments, votes, tags and users through the API."""

from urllib.parse import quote

import pytest

from hub.forum.models import Answer, Question, Revision

pytestmark = pytest.mark.django_db

QUESTION = {
    "title": "Why does my LSTM stop learning after a few steps?",
    "body": "The loss is flat from step 100 and the first layer's gradients are ~1e-9.",
    "tags": ["lstm", "vanishing-gradients"],
}


def test_question_create_goes_through_the_service_and_renders_markdown(make_user, client_for):
    user = make_user()
    response = client_for(user).post(
        "/api/v1/questions/", {**QUESTION, "body": QUESTION["body"] + " `x.grad`"}, format="json"
    )
    assert response.status_code == 201
    data = response.json()
    question = Question.objects.get(pk=data["id"])
    assert question.author == user
    assert "<code>x.grad</code>" in data["body_html"]
    assert sorted(data["tags"]) == ["lstm", "vanishing-gradients"]
    assert data["url"].endswith(question.get_absolute_url())
    assert Revision.objects.filter(question=question, number=1).exists()


def test_question_create_reports_each_bad_field(make_user, client_for):
    response = client_for(make_user()).post(
        "/api/v1/questions/", {"title": "short", "tags": ["Not A Tag!"]}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == {"title", "body", "tags.0"}


def test_the_services_rate_limit_becomes_429_with_retry_after(make_user, client_for):
    # A brand-new account may ask 3 questions a day (hub.forum.services NEW_USER_QUESTIONS_PER_DAY).
    client = client_for(make_user(reputation=1))
    statuses = [
        client.post(
            "/api/v1/questions/", {**QUESTION, "title": f"{QUESTION['title']} {n}"}, format="json"
        ).status_code
        for n in range(4)
    ]
    assert statuses == [201, 201, 201, 429]
    response = client.post("/api/v1/questions/", QUESTION, format="json")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "rate_limited"


def test_question_list_filters_by_tag_solved_and_unanswered(make_user, make_question, client_for):
    from hub.forum.services import answer_accept, answer_create

    asker, helper = make_user(), make_user()
    tagged = make_question(author=asker, tags=["lstm"])
    solved = make_question(author=asker, title="How do I clip exploding gradients?")
    answer = answer_create(author=helper, question=solved, body="Use clip_grad_norm_ on params.")
    answer_accept(user=asker, answer=answer)
    client = client_for(helper, ["read"])

    def ids(query):
        response = client.get(f"/api/v1/questions/?{query}")
        assert response.status_code == 200
        return {item["id"] for item in response.json()["results"]}

    assert tagged.pk in ids("tag=lstm") and solved.pk not in ids("tag=lstm")
    assert solved.pk in ids("solved=true") and tagged.pk not in ids("solved=true")
    assert tagged.pk in ids("unanswered=true") and solved.pk not in ids("unanswered=true")
    assert ids("q=clip exploding") & {solved.pk} == {solved.pk}


def test_a_question_only_the_gradient_doctor_answered_is_listed_as_unanswered(
    make_user, make_question, client_for
):
    from hub.accounts.services import bot_user_get
    from hub.forum.services import answer_create

    question = make_question(author=make_user())
    answer_create(author=bot_user_get(), question=question, body="**NaN loss**", automated=True)
    response = client_for(make_user(), ["read"]).get("/api/v1/questions/?unanswered=true")
    listed = {item["id"]: item for item in response.json()["results"]}
    assert question.pk in listed and listed[question.pk]["answer_count"] == 0


def test_question_list_pages_with_a_cursor(make_user, make_question, client_for):
    asker = make_user()
    made = [
        make_question(author=asker, title=f"Paged question number {n} here").pk for n in range(3)
    ]
    client = client_for(asker, ["read"])
    first = client.get("/api/v1/questions/?page_size=2").json()
    assert len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"]).json()
    seen = [item["id"] for item in first["results"] + second["results"]]
    assert seen[:3] == sorted(made, reverse=True)[:3] or set(made) <= set(seen)
    assert len(seen) == len(set(seen))


def test_question_detail_has_answers_with_comments(make_user, make_question, client_for):
    from hub.forum.services import answer_create, comment_create

    asker, helper = make_user(), make_user()
    question = make_question(author=asker)
    answer = answer_create(author=helper, question=question, body="Initialise with Kaiming.")
    comment_create(author=asker, target=answer, body="Thanks, trying it.")
    comment_create(author=helper, target=question, body="Which activation?")
    data = client_for(asker, ["read"]).get(f"/api/v1/questions/{question.pk}/").json()
    assert [a["id"] for a in data["answers"]] == [answer.pk]
    assert data["answers"][0]["comments"][0]["body"] == "Thanks, trying it."
    assert data["comments"][0]["body"] == "Which activation?"


def test_missing_and_hidden_questions_are_404(make_user, make_question, client_for):
    from hub.forum.services import post_hide

    moderator = make_user(is_staff=True)
    question = make_question()
    post_hide(moderator=moderator, target=question)
    client = client_for(make_user(), ["read"])
    assert client.get(f"/api/v1/questions/{question.pk}/").status_code == 404
    assert client.get("/api/v1/questions/999999999/").json()["error"]["code"] == "not_found"
    assert (
        client_for(moderator, ["read"]).get(f"/api/v1/questions/{question.pk}/").status_code == 200
    )


def test_question_edit_keeps_omitted_fields_and_adds_a_revision(
    make_user, make_question, client_for
):
    asker = make_user()
    question = make_question(author=asker, tags=["lstm"])
    response = client_for(asker).patch(
        f"/api/v1/questions/{question.pk}/", {"tags": ["gru"]}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["tags"] == ["gru"] and response.json()["title"] == question.title
    assert Revision.objects.filter(question=question).count() == 2


def test_answer_create_edit_accept_and_unaccept(make_user, make_question, client_for):
    asker, helper = make_user(), make_user()
    question = make_question(author=asker)
    helper_client, asker_client = client_for(helper), client_for(asker)
    created = helper_client.post(
        f"/api/v1/questions/{question.pk}/answers/",
        {"body": "Call zero_grad before backward."},
        format="json",
    )
    assert created.status_code == 201
    answer_id = created.json()["id"]
    edited = helper_client.patch(
        f"/api/v1/answers/{answer_id}/",
        {"body": "Call optimizer.zero_grad() first."},
        format="json",
    )
    assert edited.status_code == 200 and "optimizer.zero_grad()" in edited.json()["body"]
    assert asker_client.post(f"/api/v1/answers/{answer_id}/accept/").json()["is_accepted"] is True
    question.refresh_from_db()
    assert question.accepted_answer_id == answer_id
    assert (
        asker_client.delete(f"/api/v1/answers/{answer_id}/accept/").json()["is_accepted"] is False
    )
    listed = helper_client.get(f"/api/v1/questions/{question.pk}/answers/").json()
    assert [a["id"] for a in listed] == [answer_id]


def test_comments_on_questions_and_answers(make_user, make_question, client_for):
    from hub.forum.services import answer_create

    asker, helper = make_user(), make_user()
    question = make_question(author=asker)
    answer = answer_create(author=helper, question=question, body="Lower the learning rate.")
    client = client_for(asker)
    on_question = client.post(
        f"/api/v1/questions/{question.pk}/comments/", {"body": "Any ideas?"}, format="json"
    )
    on_answer = client.post(
        f"/api/v1/answers/{answer.pk}/comments/", {"body": "By how much?"}, format="json"
    )
    assert on_question.status_code == 201 and on_question.json()["question_id"] == question.pk
    assert on_answer.status_code == 201 and on_answer.json()["answer_id"] == answer.pk
    too_short = client.post(f"/api/v1/answers/{answer.pk}/comments/", {"body": "ok"}, format="json")
    assert too_short.status_code == 400


def test_votes_change_the_score_and_can_be_withdrawn(make_user, make_question, client_for):
    from hub.forum.services import answer_create

    asker, voter = make_user(), make_user()
    question = make_question(author=asker)
    answer = answer_create(author=asker, question=question, body="Answering my own question.")
    client = client_for(voter)
    assert client.post(
        f"/api/v1/questions/{question.pk}/vote/", {"value": 1}, format="json"
    ).json() == {
        "score": 1,
        "value": 1,
    }
    assert (
        client.post(f"/api/v1/answers/{answer.pk}/vote/", {"value": -1}, format="json").json()[
            "score"
        ]
        == -1
    )
    assert (
        client.post(f"/api/v1/questions/{question.pk}/vote/", {"value": 0}, format="json").json()[
            "score"
        ]
        == 0
    )
    assert (
        client.post(f"/api/v1/answers/{answer.pk}/vote/", {"value": 2}, format="json").status_code
        == 400
    )
    assert Answer.objects.get(pk=answer.pk).score == -1


def test_tags_list_and_detail(make_user, make_question, client_for):
    make_question(tags=["optimizer-state"])
    client = client_for(make_user(), ["read"])
    names = [t["name"] for t in client.get("/api/v1/tags/?q=optimizer").json()["results"]]
    assert names == ["optimizer-state"]
    detail = client.get("/api/v1/tags/optimizer-state/").json()
    assert detail["question_count"] == 1
    assert client.get("/api/v1/tags/no-such-tag/").status_code == 404


def test_public_profile_and_me(make_user, make_question, client_for):
    user = make_user()
    make_question(author=user)
    anonymous = client_for(None)
    profile = anonymous.get(f"/api/v1/users/{user.username}/").json()
    assert profile["question_count"] == 1 and "email" not in profile
    me = client_for(user, ["read"]).get("/api/v1/users/me/").json()
    assert me["email"] == user.email and me["is_moderator"] is False
    assert anonymous.get("/api/v1/users/nobody-at-all/").status_code == 404


def test_a_vote_on_an_answer_of_a_hidden_question_is_refused_even_to_moderators(
    make_user, make_question, client_for
):
    from hub.forum.services import answer_create, post_hide

    moderator = make_user(moderator=True)
    question = make_question()
    answer = answer_create(author=make_user(), question=question, body="Try a lower learning rate.")
    post_hide(moderator=moderator, target=question)
    url = f"/api/v1/answers/{answer.pk}/vote/"
    assert client_for(make_user()).post(url, {"value": 1}, format="json").status_code == 404
    assert client_for(moderator).post(url, {"value": 1}, format="json").status_code == 403
    assert Answer.objects.get(pk=answer.pk).score == 0


def test_a_tag_with_a_dot_plus_or_hash_is_found_by_its_name_or_its_slug(make_question, client_for):
    question = make_question(tags=["node.js", "c++", "c#"])
    client = client_for()
    for tag in question.tags.all():
        for key in (quote(tag.name, safe=""), tag.slug):
            response = client.get(f"/api/v1/tags/{key}/")
            assert response.status_code == 200, (key, response.content)
            assert response.json()["name"] == tag.name
