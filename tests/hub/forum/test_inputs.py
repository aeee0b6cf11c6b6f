"""Text from the URL or a form never reaches the database with a NUL in it (PostgreSQL refuses
NUL in text): a NUL is a 400 with a message, other control characters are dropped."""

import pytest

from hub.forum.models import Question

NUL = "grad\x00ient"
QUERY_URLS = ["/search/", "/tags/", "/tags/autocomplete/"]


@pytest.mark.parametrize("url", QUERY_URLS)
def test_a_nul_byte_in_q_is_a_400_page_with_a_message(client, db, url):
    response = client.get(url, {"q": NUL})
    assert response.status_code == 400
    assert "forum/error.html" in [t.name for t in response.templates]
    assert "control character" in response.content.decode()


def test_a_nul_byte_in_q_is_a_400_json_error_for_the_autocomplete_script(client, db):
    response = client.get("/tags/autocomplete/", {"q": NUL}, headers={"accept": "application/json"})
    assert response.status_code == 400
    assert "control character" in response.json()["error"]


@pytest.mark.parametrize("url", QUERY_URLS)
def test_other_control_characters_in_q_are_dropped(client, question, url):
    assert client.get(url, {"q": "py\x01torch\x1f"}).status_code == 200


def test_a_nul_byte_in_a_similar_title_lookup_is_a_400(client, db):
    assert client.get("/questions/similar/", {"title": "loss is " + NUL}).status_code == 400


def test_the_ask_form_shows_an_error_for_a_nul_byte_and_saves_nothing(client, asker):
    client.force_login(asker)
    response = client.post(
        "/questions/ask/",
        {"title": "Why is my " + NUL + " zero?", "body": "x" * 40, "tags": "pytorch"},
    )
    assert response.status_code == 400
    assert "Null characters are not allowed" in response.content.decode()
    assert not Question.objects.exists()


def test_a_nul_byte_in_a_flag_note_is_a_400_not_a_500(client, question, make_user):
    client.force_login(make_user())
    response = client.post(
        "/moderation/flag/",
        {"target_type": "question", "target_id": question.pk, "reason": "other", "note": NUL},
    )
    assert response.status_code == 400
    assert "control character" in response.content.decode()
