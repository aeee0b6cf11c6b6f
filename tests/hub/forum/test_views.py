from django.core.files.uploadedfile import SimpleUploadedFile

import traces
from hub.forum import services
from hub.forum.models import Answer, Comment, Question, Vote
from hub.forum.services import limits
from hub.forum.views import preview
from hub.traces.models import Trace
from traces.synthetic import synthetic_trace


def test_list_pages_render_with_and_without_questions(client, question):
    for sort in ("newest", "active", "top", "unanswered", "bogus"):
        response = client.get("/questions/", {"sort": sort})
        assert response.status_code == 200
    assert question.title in client.get("/questions/").content.decode()
    assert (
        "Every question has an answer"
        not in client.get("/questions/?sort=unanswered").content.decode()
    )


def test_empty_list_shows_an_empty_state(client, db):
    assert "No questions yet" in client.get("/questions/").content.decode()


def test_question_page_renders_and_redirects_to_canonical_slug(client, question, answer):
    response = client.get(f"/questions/{question.pk}/wrong-slug/")
    assert response.status_code == 301
    assert response["Location"] == question.get_absolute_url()
    page = client.get(question.get_absolute_url())
    assert page.status_code == 200
    body = page.content.decode()
    assert question.title in body and answer.body_html in body
    question.refresh_from_db()
    assert question.view_count == 1
    client.get(question.get_absolute_url())
    question.refresh_from_db()
    assert question.view_count == 1  # the same visitor counts once


def test_missing_question_tag_and_user_are_404(client, db):
    assert client.get("/questions/999999/nothing/").status_code == 404
    assert client.get("/tags/no-such-tag/").status_code == 404
    assert client.get("/users/nobody-here/").status_code == 404
    assert client.get("/answers/999999/revisions/").status_code == 404


def test_hidden_question_is_404_for_others_but_visible_to_moderators(
    client, question, moderator, answerer
):
    services.post_hide(moderator=moderator, target=question)
    client.force_login(answerer)
    assert client.get(question.get_absolute_url()).status_code == 404
    client.force_login(moderator)
    assert client.get(question.get_absolute_url()).status_code == 200


def test_anonymous_ask_is_sent_to_login_and_back(client, db):
    response = client.get("/questions/ask/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/questions/ask/"


def test_anonymous_answer_vote_and_comment_go_to_login_and_back_to_the_question(
    client, question, answer
):
    url = question.get_absolute_url()
    for action in (
        f"/questions/{question.pk}/answer/",
        f"/answers/{answer.pk}/vote/",
        f"/questions/{question.pk}/comment/",
    ):
        response = client.post(action, {"body": "Some text long enough", "value": "1"})
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
        assert url.replace("/", "%2F") in response["Location"] or url in response["Location"]
    assert not Answer.objects.exclude(pk=answer.pk).exists()
    assert not Vote.objects.exists()


def test_ask_answer_comment_vote_accept_flow(client, asker, answerer):
    client.force_login(asker)
    response = client.post(
        "/questions/ask/",
        {
            "title": "Gradients vanish in a 20-layer sigmoid MLP",
            "body": "```python\nmodel = nn.Sequential(*[nn.Sigmoid()] * 20)\n```\n$\\sigma'(x) \\le 1/4$",
            "tags": "vanishing-gradients sigmoid",
        },
    )
    question = Question.objects.get()
    assert response.status_code == 302 and response["Location"] == question.get_absolute_url()
    assert 'class="codehilite"' in question.body_html

    client.force_login(answerer)
    response = client.post(
        f"/questions/{question.pk}/answer/", {"body": "Use ReLU and He initialisation."}
    )
    answer = Answer.objects.get()
    assert response["Location"] == answer.get_absolute_url()
    client.post(f"/answers/{answer.pk}/comment/", {"body": "See also batch norm."})
    assert Comment.objects.filter(answer=answer).exists()
    response = client.post(
        f"/questions/{question.pk}/vote/", {"value": "1"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and 'aria-pressed="true"' in response.content.decode()
    assert Question.objects.get().score == 1

    client.force_login(asker)
    assert client.post(f"/answers/{answer.pk}/vote/", {"value": "1"}).status_code == 302
    assert client.post(f"/answers/{answer.pk}/accept/").status_code == 302
    assert Question.objects.get().accepted_answer_id == answer.pk
    page = client.get(question.get_absolute_url()).content.decode()
    assert "accepted-answer" in page


def test_vote_on_own_post_is_403(client, question, asker):
    client.force_login(asker)
    response = client.post(f"/questions/{question.pk}/vote/", {"value": "1"})
    assert response.status_code == 403
    assert "own post" in response.content.decode()


def test_accept_by_non_asker_is_403(client, answer, answerer):
    client.force_login(answerer)
    assert client.post(f"/answers/{answer.pk}/accept/").status_code == 403


def test_rate_limit_gives_a_429_page_with_retry_after(client, make_user, monkeypatch):
    monkeypatch.setattr(limits, "RATE_QUESTION", (1, 3600))
    client.force_login(make_user(reputation=500))
    data = {"title": "First question is accepted", "body": "x" * 40, "tags": ""}
    assert client.post("/questions/ask/", data).status_code == 302
    data["title"] = "Second question is too fast"
    response = client.post("/questions/ask/", data)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many question requests" in response.content.decode()


def test_ask_with_invalid_input_shows_errors(client, asker):
    client.force_login(asker)
    response = client.post("/questions/ask/", {"title": "short", "body": "", "tags": ""})
    assert response.status_code == 400
    assert "errorlist" in response.content.decode()
    assert not Question.objects.exists()


def test_ask_with_a_refused_trace_leaves_no_question(client, asker):
    client.force_login(asker)
    bad = SimpleUploadedFile(
        "run.trace", b"this is not a trace", content_type="application/octet-stream"
    )
    response = client.post(
        "/questions/ask/",
        {"title": "Loss explodes after warmup", "body": "x" * 40, "tags": "", "trace": bad},
    )
    assert response.status_code == 400
    assert not Question.objects.exists()
    assert "errorlist" in response.content.decode()


def test_similar_and_autocomplete_endpoints_return_json(client, make_question):
    make_question(title="Loss not decreasing because zero_grad is missing", tags=["optimizer"])
    data = client.get("/questions/similar/", {"title": "loss not decreasing"}).json()
    assert data["results"] and "zero_grad" in data["results"][0]["title"]
    assert client.get("/questions/similar/", {"title": "lo"}).json() == {"results": []}
    tags = client.get("/tags/autocomplete/", {"q": "opt"}).json()["results"]
    assert tags[0]["name"] == "optimizer" and tags[0]["question_count"] == 1


def test_tag_pages_search_and_revisions_render(client, question, asker):
    assert client.get("/tags/").status_code == 200
    assert question.title in client.get("/tags/pytorch/").content.decode()
    assert question.title in client.get("/search/", {"q": "loss decrease"}).content.decode()
    assert "No questions match" in client.get("/search/", {"q": "transformer"}).content.decode()
    services.question_edit(
        question=question,
        editor=asker,
        title=question.title,
        body="A new body text here.",
        tags=["pytorch"],
    )
    page = client.get(f"/questions/{question.pk}/revisions/").content.decode()
    assert 'class="add"' in page and 'class="del"' in page


def test_edit_page_is_403_for_others(client, question, answerer):
    client.force_login(answerer)
    assert client.get(f"/questions/{question.pk}/edit/").status_code == 403


def test_moderator_closes_from_the_question_page(client, question, moderator, answerer):
    client.force_login(answerer)
    assert (
        client.post(f"/questions/{question.pk}/close/", {"reason": "off-topic"}).status_code == 403
    )
    client.force_login(moderator)
    client.post(f"/questions/{question.pk}/close/", {"reason": "off-topic"})
    question.refresh_from_db()
    assert question.is_closed
    assert "no longer accepts answers" in client.get(question.get_absolute_url()).content.decode()


def test_per_ip_post_limit_applies_across_accounts(client, make_user, monkeypatch):
    monkeypatch.setattr("hub.traces.views.RATE_IP_POST", (1, 3600))
    client.force_login(make_user(reputation=500))
    data = {"title": "First from this address", "body": "x" * 40, "tags": ""}
    assert client.post("/questions/ask/", data).status_code == 302
    client.force_login(make_user(reputation=500))
    data["title"] = "Second from the same address"
    assert client.post("/questions/ask/", data).status_code == 429


def test_ask_with_a_valid_trace_attaches_it_to_the_new_question(client, asker):
    client.force_login(asker)
    upload = SimpleUploadedFile("run.trace", traces.dumps(synthetic_trace()))
    response = client.post(
        "/questions/ask/",
        {"title": "Is this training run healthy?", "body": "x" * 40, "tags": "", "trace": upload},
    )
    question = Question.objects.get()
    assert response.status_code == 302
    assert Trace.objects.get().question_id == question.pk


def test_markdown_preview_renders_for_members_only_and_is_sanitised(client, asker):
    body = {"body": "Use `zero_grad()` and $x^2$ <script>alert(1)</script>"}
    assert client.post("/markdown/preview/", body).status_code == 403
    client.force_login(asker)
    html = client.post("/markdown/preview/", body).content.decode()
    assert "<code>zero_grad()</code>" in html and 'class="math inline"' in html
    assert "<script>" not in html
    assert client.get("/markdown/preview/").status_code == 405


def test_typing_lookups_are_limited_per_ip(client, db, monkeypatch):
    monkeypatch.setattr(preview, "RATE_LOOKUP_IP", (1, 300))
    assert client.get("/tags/autocomplete/", {"q": "opt"}).status_code == 200
    response = client.get("/questions/similar/", {"title": "loss is not decreasing"})
    assert response.status_code == 429 and response.json()["results"] == []


def test_a_member_voting_on_an_answer_of_a_hidden_question_gets_404_as_on_its_page(
    client, question, answer, moderator, make_user
):
    services.post_hide(moderator=moderator, target=question)
    client.force_login(make_user(reputation=200))
    assert client.get(question.get_absolute_url()).status_code == 404
    assert client.post(f"/answers/{answer.pk}/vote/", {"value": "1"}).status_code == 404
    assert client.post(f"/answers/{answer.pk}/vote/", {"value": "-1"}).status_code == 404
    assert not Vote.objects.filter(answer=answer).exists()


def test_whoever_still_sees_a_hidden_question_cannot_vote_on_its_answers(
    client, question, answer, moderator
):
    services.post_hide(moderator=moderator, target=question)
    for viewer in (moderator, question.author):
        client.force_login(viewer)
        assert client.get(question.get_absolute_url()).status_code == 200
        assert client.post(f"/answers/{answer.pk}/vote/", {"value": "1"}).status_code == 403
    assert not Vote.objects.filter(answer=answer).exists()


def test_a_member_voting_on_a_hidden_answer_gets_404_as_it_is_not_on_the_page(
    client, question, answer, moderator, make_user
):
    services.post_hide(moderator=moderator, target=answer)
    client.force_login(make_user(reputation=200))
    assert answer.body_html not in client.get(question.get_absolute_url()).content.decode()
    assert client.post(f"/answers/{answer.pk}/vote/", {"value": "1"}).status_code == 404
    assert not Vote.objects.filter(answer=answer).exists()


def _diagnosed(question):
    from hub.accounts.services import bot_user_get

    return services.answer_create(
        author=bot_user_get(), question=question, body="**Vanishing gradients**", automated=True
    )


def test_a_question_diagnosed_only_by_the_bot_stays_unanswered_and_says_diagnosed(client, question):
    _diagnosed(question)
    html = client.get("/questions/?sort=unanswered").content.decode()
    assert question.title in html
    row = client.get("/questions/").content.decode()
    assert "0 answers" in row and "1 answer<" not in row
    assert 'class="diagnosed-badge"' in row


def test_an_accepted_diagnosis_answers_the_question(client, question, asker):
    services.answer_accept(user=asker, answer=_diagnosed(question))
    assert question.title not in client.get("/questions/?sort=unanswered").content.decode()
