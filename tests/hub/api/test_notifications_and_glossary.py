"""Notifications (list, mark read) and glossary terms (read; staff write)."""

import pytest

from hub.glossary.models import Term

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(make_user, make_question):
    """An asker whose question got an answer (so one 'answered' notification)."""
    from hub.forum.services import answer_create

    asker, helper = make_user(), make_user()
    question = make_question(author=asker)
    answer_create(author=helper, question=question, body="Add BatchNorm between layers.")
    return asker, question


def test_notifications_list_filters_unread_and_marks_read(answered, client_for):
    asker, question = answered
    client = client_for(asker)
    listed = client.get("/api/v1/notifications/").json()["results"]
    assert [n["verb"] for n in listed] == ["answered"] and listed[0]["question_id"] == question.pk
    assert listed[0]["is_read"] is False and listed[0]["url"].startswith("http://testserver/")
    marked = client.post(f"/api/v1/notifications/{listed[0]['id']}/read/")
    assert marked.status_code == 200 and marked.json()["is_read"] is True
    assert client.get("/api/v1/notifications/?unread=true").json()["results"] == []
    assert len(client.get("/api/v1/notifications/?unread=false").json()["results"]) == 1


def test_someone_elses_notification_is_404(answered, make_user, client_for):
    asker, _ = answered
    notification_id = client_for(asker).get("/api/v1/notifications/").json()["results"][0]["id"]
    response = client_for(make_user()).post(f"/api/v1/notifications/{notification_id}/read/")
    assert response.status_code == 404


def test_mark_all_read_counts_what_changed(answered, client_for):
    asker, _ = answered
    client = client_for(asker)
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 1}
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 0}


def test_marking_read_needs_the_write_scope(answered, client_for):
    asker, _ = answered
    assert client_for(asker, ["read"]).post("/api/v1/notifications/read-all/").status_code == 403


def test_glossary_read_search_and_staff_write(make_user, client_for):
    staff = client_for(make_user(is_staff=True))
    created = staff.post(
        "/api/v1/glossary/",
        {
            "slug": "grad-norm-x",
            "name": "Gradient norm X",
            "aliases": ["grad norm x"],
            "definition": "The **L2 norm** of a gradient.",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert "<strong>L2 norm</strong>" in created.json()["definition_html"]
    term = Term.objects.get(slug="grad-norm-x")
    assert term.revisions.count() == 1
    again = staff.post(
        "/api/v1/glossary/",
        {"slug": "grad-norm-x", "name": "Again", "definition": "Dup."},
        format="json",
    )
    assert again.status_code == 400 and "slug" in again.json()["error"]["fields"]
    edited = staff.patch(
        "/api/v1/glossary/grad-norm-x/", {"name": "Gradient norm Y"}, format="json"
    )
    assert edited.json()["name"] == "Gradient norm Y" and term.revisions.count() == 2

    anonymous = client_for(None)
    assert anonymous.get("/api/v1/glossary/grad-norm-x/").json()["name"] == "Gradient norm Y"
    found = anonymous.get("/api/v1/glossary/?q=gradient norm y").json()["results"]
    assert [t["slug"] for t in found][:1] == ["grad-norm-x"]
    assert anonymous.get("/api/v1/glossary/no-such-term/").status_code == 404
    user = client_for(make_user())
    assert (
        user.patch("/api/v1/glossary/grad-norm-x/", {"name": "Mine"}, format="json").status_code
        == 403
    )
