"""Trace pages: upload, status JSON, visibility, download, plots, and the question include."""

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory

from hub.forum.models import Question
from hub.traces import services
from hub.traces.diagnosis import diagnosis_plots_render, trace_diagnose
from hub.traces.models import Diagnosis, Trace
from tests.factories import question_make, user_make
from tests.hub.traces.pipeline_fixtures import (
    pickle_bytes,
    post_multipart_counting,
    trace_bytes,
    upload,
    vanishing_trace_bytes,
)

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def owner():
    return user_make(prefix="owner")


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def _diagnosed_private_trace(owner, data=None) -> Trace:
    trace = services.trace_upload(
        owner=owner, uploaded_file=upload(data or vanishing_trace_bytes()), private=True
    )
    trace_diagnose(trace_id=trace.pk)
    trace.refresh_from_db()
    return trace


def test_new_trace_page_needs_login(client):
    response = client.get("/traces/new/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_new_trace_page_shows_the_drop_zone_without_inline_script(owner_client):
    response = owner_client.get("/traces/new/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "data-trace-upload" in html and 'name="file"' in html
    assert "/static/js/traces.js" in html
    assert "<script>" not in html and "onclick" not in html


def test_private_upload_redirects_to_the_trace_page(owner_client, owner):
    response = owner_client.post("/traces/new/", {"file": upload(trace_bytes())})
    trace = Trace.objects.get(owner=owner)
    assert response.status_code == 302 and response["Location"] == f"/traces/{trace.pk}/"
    assert trace.is_private and trace.state == Trace.State.QUEUED


def test_upload_by_script_gets_json_with_the_live_card(owner_client, owner):
    response = owner_client.post("/traces/new/", {"file": upload(trace_bytes())}, **JSON)
    data = response.json()
    trace = Trace.objects.get(owner=owner)
    assert response.status_code == 200 and data["id"] == trace.pk
    assert f'data-trace-status-url="/traces/{trace.pk}/status.json"' in data["html"]


@pytest.mark.parametrize(
    ("data", "words"),
    [(pickle_bytes(), "not a trace file"), (b"", "empty")],
    ids=["pickle", "empty"],
)
def test_bad_upload_is_a_400_with_the_reason(owner_client, owner, data, words):
    response = owner_client.post("/traces/new/", {"file": upload(data)}, **JSON)
    assert response.status_code == 400
    assert words in response.json()["error"]
    page = owner_client.post("/traces/new/", {"file": upload(data)})
    assert page.status_code == 400 and words in page.content.decode()
    assert not Trace.objects.filter(owner=owner).exists()


def test_oversized_upload_is_a_400(owner_client, settings):
    settings.TRACE_MAX_UPLOAD_BYTES = 2000
    response = owner_client.post("/traces/new/", {"file": upload(trace_bytes())}, **JSON)
    assert response.status_code == 400 and "limit" in response.json()["error"]


@pytest.mark.parametrize("extra", [{}, JSON], ids=["page", "json"])
def test_an_upload_larger_than_the_limit_is_refused_before_its_body_is_read(
    owner_client, owner, settings, extra
):
    settings.TRACE_MAX_UPLOAD_BYTES = 1000
    big = upload(trace_bytes() + b"\0" * (2 * 2**20))
    response, body = post_multipart_counting(owner_client, "/traces/new/", {"file": big}, **extra)
    assert response.status_code == 400 and body.bytes_read == 0
    text = response.content.decode()
    assert "limit" in text and ('name="file"' in text or "error" in response.json())
    assert not Trace.objects.filter(owner=owner).exists()


def test_an_upload_that_runs_past_the_limit_stops_being_read_at_it(
    owner_client, owner, settings, monkeypatch
):
    from hub.core import uploads

    # The Content-Length passes the up-front check: the running count must stop the read.
    monkeypatch.setattr(uploads, "FORM_FIELDS_ALLOWANCE", 10 * 2**20)
    settings.TRACE_MAX_UPLOAD_BYTES = 1000
    big = upload(trace_bytes() + b"\0" * (4 * 2**20))
    response, body = post_multipart_counting(owner_client, "/traces/new/", {"file": big})
    assert response.status_code == 400 and "limit" in response.content.decode()
    assert body.bytes_read < 2**20
    assert not Trace.objects.filter(owner=owner).exists()


def test_the_ask_page_refuses_an_oversized_trace_with_its_form(owner_client, owner, settings):
    settings.TRACE_MAX_UPLOAD_BYTES = 1000
    data = {"title": "Why is my loss flat?", "body": "x" * 50, "trace": upload(b"\0" * 2**21)}
    response, body = post_multipart_counting(owner_client, "/questions/ask/", data)
    assert response.status_code == 400 and body.bytes_read == 0
    html = response.content.decode()
    assert "limit" in html and 'name="trace"' in html and 'name="title"' in html
    assert not Question.objects.filter(author=owner).exists()


@pytest.mark.parametrize("path", ["/traces/new/", "/questions/ask/"])
def test_upload_pages_still_refuse_a_post_without_the_csrf_token(owner, path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(path, {"file": upload(trace_bytes())}).status_code == 403
    assert not Trace.objects.filter(owner=owner).exists()


def test_only_the_asker_may_upload_to_a_question(client, owner):
    question = question_make(author=owner)
    client.force_login(user_make(prefix="stranger"))
    url = f"/traces/questions/{question.pk}/upload/"
    response = client.post(url, {"file": upload(trace_bytes())}, **JSON)
    assert response.status_code == 403
    assert not Trace.objects.exists()


def test_status_json_reports_state_and_the_final_card(owner_client, owner):
    trace = services.trace_upload(owner=owner, uploaded_file=upload(trace_bytes()), private=True)
    pending = owner_client.get(f"/traces/{trace.pk}/status.json").json()
    assert pending == {
        "id": trace.pk,
        "state": "queued",
        "state_label": "Queued",
        "terminal": False,
        "failure_reason": "",
        "plots_pending": False,
    }
    diagnosis = trace_diagnose(trace_id=trace.pk)
    response = owner_client.get(f"/traces/{trace.pk}/status.json")
    assert response["Cache-Control"].startswith("max-age=0")
    verdict = response.json()
    assert verdict["terminal"] and verdict["plots_pending"]
    assert "No problems found" in verdict["html"] and "Drawing the plots" in verdict["html"]
    assert "data-trace-status-url" in verdict["html"]  # the page keeps polling for the plots

    diagnosis_plots_render(diagnosis_id=diagnosis.pk)
    final = owner_client.get(f"/traces/{trace.pk}/status.json").json()
    assert final["terminal"] and not final["plots_pending"]
    assert "data-trace-status-url" not in final["html"]


def test_a_failed_trace_says_why_and_offers_a_reupload(owner_client, owner):
    data = vanishing_trace_bytes()
    trace = services.trace_upload(owner=owner, uploaded_file=upload(data[:-300]), private=True)
    trace_diagnose(trace_id=trace.pk)
    html = owner_client.get(f"/traces/{trace.pk}/").content.decode()
    assert "The diagnosis failed." in html and "truncated" in html
    assert 'action="/traces/new/"' in html and "data-trace-upload" in html


def test_a_private_trace_is_hidden_from_everyone_but_its_owner(client, owner):
    trace = _diagnosed_private_trace(owner)
    for path in ("", "status.json", "download/", "plots/gradient_flow.svg"):
        assert client.get(f"/traces/{trace.pk}/{path}").status_code == 404
    client.force_login(user_make(prefix="stranger"))
    assert client.get(f"/traces/{trace.pk}/").status_code == 404


def test_the_private_result_page_shows_the_report_and_ask_the_community(owner_client, owner):
    trace = _diagnosed_private_trace(owner)
    html = owner_client.get(f"/traces/{trace.pk}/").content.decode()
    assert "Gradient Doctor · automated diagnosis" in html
    assert "Vanishing gradients" in html
    assert f'href="/questions/ask/?trace={trace.pk}"' in html
    assert "/glossary/vanishing-gradient/" in html


def test_download_is_for_the_owner_and_returns_the_bytes(owner_client, owner, client):
    data = trace_bytes(seed=21)
    trace = services.trace_upload(
        owner=owner, uploaded_file=upload(data, "my run.trace"), private=True
    )
    response = owner_client.get(f"/traces/{trace.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert 'filename="my run.trace"' in response["Content-Disposition"]


def test_public_trace_page_is_visible_but_download_is_not(client, owner):
    question = question_make(author=owner)
    trace = services.trace_upload(
        owner=owner, uploaded_file=upload(trace_bytes()), question=question
    )
    assert client.get(f"/traces/{trace.pk}/").status_code == 200
    assert client.get(f"/traces/{trace.pk}/download/").status_code == 404


def test_plots_are_served_as_svg_under_a_locked_down_policy(owner_client, owner):
    trace = _diagnosed_private_trace(owner)
    diagnosis = Diagnosis.objects.get(trace=trace)
    diagnosis.plots = {"grad_norms": '<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>'}
    diagnosis.save()
    response = owner_client.get(f"/traces/{trace.pk}/plots/grad_norms.svg")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert response["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    assert response.content.startswith(b"<svg")
    assert owner_client.get(f"/traces/{trace.pk}/plots/nope.svg").status_code == 404


def test_question_include_lists_traces_and_the_upload_form_only_for_the_asker(owner):
    question = question_make(author=owner)
    trace = services.trace_upload(
        owner=owner, uploaded_file=upload(trace_bytes()), question=question
    )
    request = RequestFactory().get("/")

    request.user = owner
    mine = render_to_string(
        "traces/_question_traces.html", {"question": question, "user": owner}, request=request
    )
    assert f'id="trace-{trace.pk}"' in mine and "Queued" in mine
    assert f'action="/traces/questions/{question.pk}/upload/"' in mine

    stranger = user_make(prefix="stranger")
    request.user = stranger
    theirs = render_to_string(
        "traces/_question_traces.html", {"question": question, "user": stranger}, request=request
    )
    assert f'id="trace-{trace.pk}"' in theirs
    assert "data-trace-upload" not in theirs and "download" not in theirs


def test_question_page_shows_the_diagnosis_after_it_lands(client, owner):
    question = question_make(author=owner)
    trace = services.trace_upload(
        owner=owner, uploaded_file=upload(vanishing_trace_bytes()), question=question
    )
    trace_diagnose(trace_id=trace.pk)
    html = client.get(question.get_absolute_url()).content.decode()
    assert f'id="trace-{trace.pk}"' in html
    assert "Diagnosed" in html and "Vanishing gradients" in html
    assert "Gradient Doctor · automated diagnosis" in html  # the bot's answer in the thread


def test_a_failed_trace_on_a_question_offers_the_asker_alone_a_reupload(client, owner):
    question = question_make(author=owner)
    data = vanishing_trace_bytes()
    trace = services.trace_upload(owner=owner, uploaded_file=upload(data[:-200]), question=question)
    trace_diagnose(trace_id=trace.pk)
    reupload = f'action="/traces/questions/{question.pk}/upload/"'

    html = client.get(question.get_absolute_url()).content.decode()
    assert "The diagnosis failed." in html and "truncated" in html
    assert reupload not in html

    client.force_login(owner)
    html = client.get(question.get_absolute_url()).content.decode()
    assert "Upload a new trace" in html and reupload in html


@pytest.fixture
def debug_urls(settings):
    """The URLs as the site builds them with DEBUG on (hub/urls.py reads it at import)."""
    import importlib

    from django.urls import clear_url_caches

    import hub.urls

    settings.DEBUG = True
    importlib.reload(hub.urls)
    clear_url_caches()
    yield
    settings.DEBUG = False
    importlib.reload(hub.urls)
    clear_url_caches()


def test_a_trace_file_is_never_served_by_path_even_with_debug_on(
    debug_urls, owner_client, owner, client
):
    data = trace_bytes(seed=22)
    trace = services.trace_upload(owner=owner, uploaded_file=upload(data), private=True)
    for someone in (client, owner_client):
        assert someone.get(f"/media/{trace.file.name}").status_code == 404
    response = owner_client.get(f"/traces/{trace.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data


def test_asking_with_a_trace_says_the_doctor_is_reading_it_and_jumps_to_its_card(owner_client):
    data = {
        "title": "Why is my loss flat after epoch one?",
        "body": "The loss stays at 2.30 for every epoch of my small MLP.",
        "tags": "pytorch",
        "trace": upload(trace_bytes()),
    }
    response = owner_client.post("/questions/ask/", data)
    trace = Trace.objects.get()
    assert response.status_code == 302
    assert response.url == f"{trace.question.get_absolute_url()}#trace-{trace.pk}"
    html = owner_client.get(response.url).content.decode()
    assert "Your question is live. The Gradient Doctor is reading your trace…" in html


def test_asking_without_a_trace_just_says_the_question_is_live(owner_client):
    data = {"title": "Why is my loss flat after epoch one?", "body": "x" * 50, "tags": "pytorch"}
    response = owner_client.post("/questions/ask/", data)
    html = owner_client.get(response.url).content.decode()
    assert "Your question is live." in html and "Gradient Doctor is reading" not in html


def test_the_trace_page_says_the_plots_are_being_drawn_until_they_are(owner_client, owner):
    trace = services.trace_upload(owner=owner, uploaded_file=upload(trace_bytes()), private=True)
    diagnosis = trace_diagnose(trace_id=trace.pk)
    assert not diagnosis.plots_done
    report = owner_client.get(f"/traces/{trace.pk}/").content.decode().split("trace-report")[1]
    assert "<h3>Plots</h3>" in report and "being drawn" in report
    diagnosis_plots_render(diagnosis_id=diagnosis.pk)
    report = owner_client.get(f"/traces/{trace.pk}/").content.decode().split("trace-report")[1]
    assert "being drawn" not in report and "/plots/gradient_flow.svg" in report


def test_private_upload_page_while_storage_refuses_writes_says_so_with_503(
    owner, owner_client, storage_refusing_writes
):
    response = owner_client.post("/traces/new/", {"file": upload(trace_bytes())})
    assert response.status_code == 503
    assert "nothing was saved" in response.content.decode()
    assert not Trace.objects.filter(owner=owner).exists()


def test_ask_page_with_a_trace_while_storage_refuses_writes_keeps_the_draft_and_asks_nothing(
    owner, owner_client, storage_refusing_writes
):
    response = owner_client.post(
        "/questions/ask/",
        {
            "title": "Gradients vanish in my sigmoid MLP",
            "body": "The first layers get gradients around 1e-9. Trace attached.",
            "tags": "",
            "trace": upload(trace_bytes()),
        },
    )
    assert response.status_code == 503
    html = response.content.decode()
    assert "nothing was saved" in html and "Gradients vanish in my sigmoid MLP" in html
    assert not Question.objects.filter(author=owner).exists()
