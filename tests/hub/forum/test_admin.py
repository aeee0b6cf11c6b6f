"""Staff edits in the Django admin go through the services: rendering, search, revisions, counts."""

from hub.forum.models import Answer, Question, Revision, Vote

INLINE_MANAGEMENT = {
    "answers-TOTAL_FORMS": "0",
    "answers-INITIAL_FORMS": "0",
    "answers-MIN_NUM_FORMS": "0",
    "answers-MAX_NUM_FORMS": "1000",
}


def _question_form(question, **changes) -> dict:
    data = {
        "author": question.author_id,
        "title": question.title,
        "body": question.body,
        "tags": [tag.pk for tag in question.tags.all()],
        "close_reason": "",
        **INLINE_MANAGEMENT,
    }
    return {**data, **changes}


def _answer_form(answer, **changes) -> dict:
    return {"author": answer.author_id, "body": answer.body, **changes}


def _search(client, words: str) -> str:
    return client.get("/search/", {"q": words}).content.decode()


def test_a_question_edited_in_the_admin_is_rendered_indexed_and_kept_in_history(
    admin_client, admin_user, client, question
):
    body = "Staff rewrote this: the **zebrafish** dataloader drops the last batch."
    response = admin_client.post(
        f"/admin/forum/question/{question.pk}/change/",
        _question_form(question, title="Loss stalls with the zebrafish dataloader", body=body),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    question.refresh_from_db()
    assert question.body == body
    assert "<strong>zebrafish</strong>" in question.body_html
    assert question.excerpt.startswith("Staff rewrote this: the zebrafish dataloader")
    assert question.slug == "loss-stalls-with-the-zebrafish-dataloader"
    latest = Revision.objects.filter(question=question).last()
    assert (latest.number, latest.editor, latest.body) == (2, admin_user, body)
    assert question.title in _search(client, "zebrafish")
    assert "<strong>zebrafish</strong>" in client.get(question.get_absolute_url()).content.decode()


def test_an_answer_edited_in_the_admin_is_rendered_and_indexed(
    admin_client, client, question, answer
):
    body = "Call `optimizer.zero_grad()` first; the *quokka* loop accumulates gradients."
    response = admin_client.post(
        f"/admin/forum/answer/{answer.pk}/change/", _answer_form(answer, body=body)
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    answer.refresh_from_db()
    assert "<em>quokka</em>" in answer.body_html
    assert Revision.objects.filter(answer=answer).count() == 2
    assert question.title in _search(client, "quokka")


def test_the_admin_form_refuses_what_the_services_refuse(admin_client, question, answer):
    response = admin_client.post(
        f"/admin/forum/question/{question.pk}/change/", _question_form(question, body="Too short")
    )
    assert response.status_code == 200
    assert "The body must be at least 20 characters." in response.content.decode()
    response = admin_client.post(
        f"/admin/forum/answer/{answer.pk}/change/", _answer_form(answer, body="No.")
    )
    assert response.status_code == 200
    assert "The answer must be at least 10 characters." in response.content.decode()
    question.refresh_from_db()
    answer.refresh_from_db()
    assert question.body != "Too short" and answer.body != "No."


def test_hiding_and_restoring_an_answer_in_the_admin_keeps_answer_count(
    admin_client, question, answer
):
    url = f"/admin/forum/answer/{answer.pk}/change/"
    assert admin_client.post(url, _answer_form(answer, is_hidden="on")).status_code == 302
    question.refresh_from_db()
    assert Answer.objects.get(pk=answer.pk).is_hidden and question.answer_count == 0

    assert admin_client.post(url, _answer_form(answer)).status_code == 302
    question.refresh_from_db()
    assert not Answer.objects.get(pk=answer.pk).is_hidden and question.answer_count == 1


def test_deleting_an_answer_in_the_admin_keeps_count_and_search_right(
    admin_client, client, question, answer
):
    assert question.title in _search(client, "forgot")
    response = admin_client.post(f"/admin/forum/answer/{answer.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    question.refresh_from_db()
    assert question.answer_count == 0
    assert question.title not in _search(client, "forgot")


def test_posts_and_votes_are_not_written_in_the_admin(admin_client, question, answer, asker):
    assert admin_client.get("/admin/forum/question/add/").status_code == 403
    assert admin_client.get("/admin/forum/answer/add/").status_code == 403
    vote = Vote.objects.create(user=asker, answer=answer, value=1)
    assert (
        admin_client.post(f"/admin/forum/vote/{vote.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert Vote.objects.filter(pk=vote.pk).exists()
    assert Question.objects.filter(pk=question.pk).exists()
