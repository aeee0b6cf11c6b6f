""" "Ask the community" from a private trace: prefill, the hidden id, attach on post."""

from django.core.files.uploadedfile import SimpleUploadedFile

import traces
from hub.forum.models import Question
from hub.traces.diagnosis import trace_diagnose
from hub.traces.services import trace_upload
from traces.synthetic import synthetic_trace


def _diagnosed_private_trace(owner):
    upload = SimpleUploadedFile("run.trace", traces.dumps(synthetic_trace()))
    trace = trace_upload(owner=owner, uploaded_file=upload, private=True)
    trace_diagnose(trace_id=trace.pk)  # what the enqueued task does
    trace.refresh_from_db()
    return trace


def test_ask_with_a_private_trace_prefills_and_attaches_it(client, asker):
    trace = _diagnosed_private_trace(asker)
    client.force_login(asker)

    page = client.get(f"/questions/ask/?trace={trace.pk}")
    html = page.content.decode()
    assert page.status_code == 200
    assert f"Trace #{trace.pk} will be attached" in html
    assert f'name="attach_trace" value="{trace.pk}"' in html
    prefill = page.context["form"].initial
    assert prefill["body"].startswith("I recorded my training run")

    response = client.post(
        "/questions/ask/",
        {
            "title": prefill["title"],
            "body": prefill["body"],
            "tags": "",
            "attach_trace": str(trace.pk),
        },
    )
    question = Question.objects.get()
    assert response.status_code == 302
    trace.refresh_from_db()
    assert trace.question_id == question.pk


def test_another_users_trace_is_neither_prefilled_nor_attached(client, asker, make_user):
    other = make_user(reputation=50)
    trace = _diagnosed_private_trace(other)
    client.force_login(asker)

    html = client.get(f"/questions/ask/?trace={trace.pk}").content.decode()
    assert "will be attached" not in html
    assert 'name="attach_trace" value=' not in html

    response = client.post(
        "/questions/ask/",
        {
            "title": "Someone else's trace should not come along",
            "body": "x" * 40,
            "tags": "",
            "attach_trace": str(trace.pk),
        },
    )
    assert response.status_code == 302
    trace.refresh_from_db()
    assert trace.question_id is None


def test_a_nonsense_trace_id_gives_the_ordinary_form(client, asker):
    client.force_login(asker)
    response = client.get("/questions/ask/?trace=not-a-number")
    assert response.status_code == 200
    assert "will be attached" not in response.content.decode()
