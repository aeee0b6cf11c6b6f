"""Trace upload, status and diagnosis through the API, on the real pipeline services."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from hub.forum.models import Question
from hub.traces.models import Trace
from tests.hub.traces.pipeline_fixtures import (
    post_multipart_counting,
    trace_bytes,
    vanishing_trace_bytes,
)

pytestmark = pytest.mark.django_db


def _file(data: bytes, name: str = "run.trace") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def test_upload_to_my_question(make_user, make_question, client_for):
    asker = make_user()
    question = make_question(author=asker)
    response = client_for(asker, ["traces"]).post(
        "/api/v1/traces/",
        {"file": _file(trace_bytes()), "question": question.pk},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    data = response.json()
    trace = Trace.objects.get(pk=data["id"])
    assert trace.question == question and trace.owner == asker
    assert data["state"] == "queued" and data["question_url"].endswith(question.get_absolute_url())
    assert data["sha256"] == trace.sha256 and data["size_bytes"] == trace.size_bytes


def test_upload_to_someone_elses_question_is_refused(make_user, make_question, client_for):
    question = make_question()
    response = client_for(make_user(), ["traces"]).post(
        "/api/v1/traces/",
        {"file": _file(trace_bytes()), "question": question.pk},
        format="multipart",
    )
    assert response.status_code == 403
    assert "Only the person who asked" in response.json()["error"]["message"]


def test_upload_with_a_new_question_needs_write_too(make_user, client_for):
    user = make_user()
    form = {
        "title": "Gradients vanish in my sigmoid MLP",
        "body": "The first layers barely change. Trace attached.",
        "tags": ["sigmoid"],
    }
    refused = client_for(user, ["traces"]).post(
        "/api/v1/traces/", {**form, "file": _file(trace_bytes())}, format="multipart"
    )
    assert refused.status_code == 403 and "write scope" in refused.json()["error"]["message"]
    assert not Trace.objects.filter(owner=user).exists()
    created = client_for(user, ["traces", "write"]).post(
        "/api/v1/traces/", {**form, "file": _file(trace_bytes())}, format="multipart"
    )
    assert created.status_code == 201, created.content
    trace = Trace.objects.get(pk=created.json()["id"])
    assert trace.question.title == form["title"] and trace.question.author == user
    assert [t.name for t in trace.question.tags.all()] == ["sigmoid"]


def test_private_upload_and_who_can_see_it(make_user, client_for):
    owner = make_user()
    response = client_for(owner, ["traces"]).post(
        "/api/v1/traces/", {"file": _file(trace_bytes()), "private": "true"}, format="multipart"
    )
    assert response.status_code == 201
    trace_id = response.json()["id"]
    assert response.json()["is_private"] is True and response.json()["question_id"] is None
    assert client_for(owner, ["read"]).get(f"/api/v1/traces/{trace_id}/").status_code == 200
    assert client_for(make_user(), ["read"]).get(f"/api/v1/traces/{trace_id}/").status_code == 404
    assert client_for(None).get(f"/api/v1/traces/{trace_id}/").status_code == 404


def test_a_file_that_is_not_a_trace_gets_the_reason(make_user, client_for):
    response = client_for(make_user(), ["traces"]).post(
        "/api/v1/traces/",
        {"file": _file(b"print('hello')\n" * 10), "private": "true"},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["message"]


def test_an_upload_larger_than_the_limit_is_refused_before_its_body_is_read(
    make_user, client_for, settings
):
    settings.TRACE_MAX_UPLOAD_BYTES = 1000
    big = _file(trace_bytes() + b"\0" * (2 * 2**20))
    client = client_for(make_user(), ["traces"])
    response, body = post_multipart_counting(
        client, "/api/v1/traces/", {"file": big, "private": "true"}
    )
    assert response.status_code == 400 and body.bytes_read == 0
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"} and "limit" in error["message"]
    assert not Trace.objects.exists()


def test_upload_without_a_file_or_with_a_read_token(make_user, client_for):
    user = make_user()
    missing = client_for(user, ["traces"]).post(
        "/api/v1/traces/", {"private": "true"}, format="multipart"
    )
    assert missing.status_code == 400 and "file" in missing.json()["error"]["fields"]
    read_only = client_for(user, ["read"]).post(
        "/api/v1/traces/", {"file": _file(trace_bytes()), "private": "true"}, format="multipart"
    )
    assert read_only.status_code == 403


def test_status_and_diagnosis_after_the_pipeline_ran(make_user, make_question, client_for):
    from hub.traces.diagnosis import trace_diagnose

    asker = make_user()
    question = make_question(author=asker)
    client = client_for(asker, ["traces"])
    uploaded = client.post(
        "/api/v1/traces/",
        {"file": _file(vanishing_trace_bytes()), "question": question.pk},
        format="multipart",
    ).json()
    assert client.get(f"/api/v1/traces/{uploaded['id']}/diagnosis/").status_code == 404
    trace_diagnose(trace_id=uploaded["id"])  # what the worker does
    status = client.get(f"/api/v1/traces/{uploaded['id']}/").json()
    assert status["state"] == "diagnosed" and status["diagnosis_id"]
    diagnosis = client.get(f"/api/v1/traces/{uploaded['id']}/diagnosis/").json()
    codes = {f["code"]: f["severity"] for f in diagnosis["findings"]}
    assert "vanishing_gradients" in codes
    assert diagnosis["answer_url"] and diagnosis["question_id"] == question.pk
    for plot in diagnosis["plots"]:
        assert client.get(plot["url"]).status_code == 200

    anonymous = client_for(None)
    by_code = anonymous.get("/api/v1/diagnoses/?code=vanishing_gradients").json()["results"]
    assert uploaded["id"] in [d["trace_id"] for d in by_code]
    other_code = anonymous.get("/api/v1/diagnoses/?code=dead_relu").json()["results"]
    assert uploaded["id"] not in [d["trace_id"] for d in other_code]
    found = anonymous.get("/api/v1/questions/?finding=vanishing_gradients").json()["results"]
    assert question.pk in [q["id"] for q in found]
    detail = anonymous.get(f"/api/v1/questions/{question.pk}/").json()
    assert detail["trace_ids"] == [uploaded["id"]]


def test_my_traces_list(make_user, client_for):
    user = make_user()
    client = client_for(user, ["traces"])
    client.post(
        "/api/v1/traces/", {"file": _file(trace_bytes()), "private": "true"}, format="multipart"
    )
    listed = client.get("/api/v1/traces/").json()["results"]
    assert len(listed) == 1 and listed[0]["is_private"] is True
    assert client_for(make_user(), ["read"]).get("/api/v1/traces/").json()["results"] == []


def test_upload_while_storage_refuses_writes_answers_503_and_asks_nothing(
    make_user, client_for, storage_refusing_writes
):
    user = make_user()
    form = {
        "title": "Gradients vanish in my sigmoid MLP",
        "body": "The first layers barely change. Trace attached.",
        "file": _file(trace_bytes()),
    }
    response = client_for(user, ["traces", "write"]).post(
        "/api/v1/traces/", form, format="multipart"
    )
    assert response.status_code == 503, response.content
    error = response.json()["error"]
    assert error["code"] == "storage_unavailable" and "nothing was saved" in error["message"]
    assert int(response["Retry-After"]) > 0
    assert not Question.objects.filter(author=user).exists()
    assert not Trace.objects.filter(owner=user).exists()
