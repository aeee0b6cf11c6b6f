"""The home page is the hub: ask, diagnose, recent and unanswered questions, the Gradient
Doctor's public diagnoses, presence; then the lesson, glossary and article."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

import traces
from hub.forum.services import limits_bypassed, post_hide, question_create
from hub.traces.diagnosis import trace_diagnose
from hub.traces.services import trace_upload
from traces.synthetic import synthetic_trace


def _ask(author, n: int):
    return question_create(
        author=author, title=f"Recent question number {n} on the hub", body="x" * 40, tags=[]
    )


def _diagnosed_trace(owner, *, question=None, seed: int = 0):
    upload = SimpleUploadedFile("run.trace", traces.dumps(synthetic_trace(seed=seed)))
    trace = trace_upload(
        owner=owner, uploaded_file=upload, question=question, private=question is None
    )
    trace_diagnose(trace_id=trace.pk)  # what the enqueued task does
    return trace


def test_the_home_page_offers_ask_and_diagnose_and_ten_recent_questions(client, asker):
    with limits_bypassed():
        for n in range(12):
            _ask(asker, n)
    html = client.get("/").content.decode()
    assert 'href="/questions/ask/"' in html and ">Ask a question<" in html
    assert 'href="/traces/new/"' in html and ">Diagnose a trace<" in html
    recent = [n for n in range(12) if f"Recent question number {n} on the hub" in html]
    assert len(recent) >= 10
    assert "Unanswered" in html and 'href="/questions/?sort=unanswered"' in html
    assert html.count(" online") >= 2  # the hub's presence line and the footer's


def test_the_home_page_shows_only_public_diagnoses(client, asker, make_user):
    moderator = make_user(moderator=True)
    public = _ask(asker, 1)
    hidden = _ask(asker, 2)
    _diagnosed_trace(asker, question=public, seed=1)
    _diagnosed_trace(asker, question=hidden, seed=2)
    _diagnosed_trace(asker, seed=3)  # private: the uploader's alone
    post_hide(moderator=moderator, target=hidden)

    html = client.get("/").content.decode()
    diagnoses = html[html.index('id="diagnoses"') :]
    assert public.title in diagnoses
    assert hidden.title not in html
    assert diagnoses.count('class="diagnosis-item"') == 1


@pytest.mark.parametrize("who", ["anonymous", "member", "moderator"])
def test_the_home_page_and_the_lesson_landing_open_for_everyone(client, make_user, who):
    if who != "anonymous":
        client.force_login(make_user(moderator=who == "moderator"))
    assert client.get("/").status_code == 200
    assert "Backpropagation Explained" in client.get("/learn/").content.decode()
