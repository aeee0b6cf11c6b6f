"""hub.traces services: upload checks, the idempotent diagnosis, failures, the sweep, rediagnose.

The engine runs for real (forked child of the test process); the worker process itself is
exercised in test_pipeline_worker.py.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

import analysis
from hub.core.ratelimit import RateLimited
from hub.forum.models import Answer, Revision
from hub.notifications.models import Notification
from hub.traces import bot_post, queue, sandbox, services, sweep
from hub.traces.diagnosis import MAX_ATTEMPTS, diagnosis_plots_render, trace_diagnose
from hub.traces.models import Diagnosis, Finding, Trace
from hub.traces.selectors import questions_with_same_diagnosis, trace_ask_prefill
from tests.factories import answer_make, question_make, user_make
from tests.hub.traces.pipeline_fixtures import (
    missing_zero_grad_trace_bytes,
    nan_loss_trace_bytes,
    pickle_bytes,
    trace_bytes,
    upload,
    vanishing_trace_bytes,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def question(asker):
    return question_make(author=asker)


# --- upload ----------------------------------------------------------------------------------


def enqueued_ids(callbacks, task: str = queue.DIAGNOSE_TRACE) -> list[int]:
    """Ids that the on_commit callbacks would send to Celery as ``task`` (other callbacks, such
    as the forum's cache bumps, are not tasks)."""
    return [
        cb.args[1]
        for cb in callbacks
        if getattr(cb, "func", None) is queue.task_send and cb.args[0] == task
    ]


def test_trace_upload_stores_the_file_with_its_sha256_and_queues_it(
    asker, django_capture_on_commit_callbacks
):
    data = trace_bytes()
    with django_capture_on_commit_callbacks() as callbacks:
        trace = services.trace_upload(owner=asker, uploaded_file=upload(data), private=True)
    import hashlib

    assert trace.state == Trace.State.QUEUED
    assert trace.sha256 == hashlib.sha256(data).hexdigest()
    assert trace.size_bytes == len(data)
    assert trace.original_name == "run.trace"
    assert trace.file.name.startswith("traces/")
    with trace.file.open("rb") as fh:
        assert fh.read() == data
    assert enqueued_ids(callbacks) == [trace.pk]  # enqueued after commit, not before


def test_trace_upload_of_the_same_file_by_the_same_user_reuses_the_trace(asker):
    data = trace_bytes(seed=3)
    first = services.trace_upload(owner=asker, uploaded_file=upload(data), private=True)
    second = services.trace_upload(
        owner=asker, uploaded_file=upload(data, "copy.trace"), private=True
    )
    assert second.pk == first.pk
    assert Trace.objects.filter(owner=asker).count() == 1


def test_trace_upload_of_the_same_file_by_another_user_is_a_new_trace(asker):
    data = trace_bytes(seed=4)
    first = services.trace_upload(owner=asker, uploaded_file=upload(data), private=True)
    other = services.trace_upload(owner=user_make(), uploaded_file=upload(data), private=True)
    assert other.pk != first.pk


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"GRADHUB", "truncated"),
        (b"PK\x03\x04" + b"\0" * 60, "magic"),
        (pickle_bytes(), "magic"),
        (b"GRADHUBT" + (7).to_bytes(4, "little") + b"\0" * 4, "version 7"),
    ],
    ids=["empty", "short", "zip", "pickle", "future-version"],
)
def test_trace_upload_refuses_a_bad_header_with_the_reason(asker, data, words):
    with pytest.raises(ValidationError) as exc:
        services.trace_upload(owner=asker, uploaded_file=upload(data), private=True)
    assert words in " ".join(exc.value.messages)
    assert not Trace.objects.exists()


def test_trace_upload_over_the_size_limit_is_refused(asker, settings):
    settings.TRACE_MAX_UPLOAD_BYTES = 1000
    with pytest.raises(ValidationError, match="limit"):
        services.trace_upload(owner=asker, uploaded_file=upload(trace_bytes()), private=True)
    assert not Trace.objects.exists()


def test_trace_upload_to_someone_elses_question_is_refused(question):
    with pytest.raises(PermissionDenied):
        services.trace_upload(
            owner=user_make(), uploaded_file=upload(trace_bytes()), question=question
        )
    assert not Trace.objects.exists()


# --- diagnosis -------------------------------------------------------------------------------


def test_trace_diagnose_stores_the_diagnosis_posts_once_tags_and_notifies(asker, question):
    trace = services.trace_upload(
        owner=asker, uploaded_file=upload(vanishing_trace_bytes()), question=question
    )
    diagnosis = trace_diagnose(trace_id=trace.pk)

    trace.refresh_from_db()
    assert trace.state == Trace.State.DIAGNOSED
    assert diagnosis.engine_version == analysis.ENGINE_VERSION
    codes = [f["code"] for f in diagnosis.findings]
    assert "vanishing_gradients" in codes
    row = Finding.objects.get(diagnosis=diagnosis, code="vanishing_gradients")
    assert row.severity == "error" and row.layers and row.first_layer == row.layers[0]
    answer = Answer.objects.get(question=question)
    assert answer.is_automated and answer.author.username == "gradient-doctor"
    assert answer.pk == diagnosis.answer_id
    assert "Gradient Doctor · automated diagnosis" in answer.body
    assert "/glossary/vanishing-gradient/" in answer.body
    assert "vanishing-gradients" in set(question.tags.values_list("name", flat=True))
    assert Notification.objects.filter(recipient=asker, verb="diagnosed").count() == 1


def test_a_nan_loss_with_finite_gradients_is_posted_as_a_non_finite_error(asker, question):
    trace = services.trace_upload(
        owner=asker, uploaded_file=upload(nan_loss_trace_bytes()), question=question
    )
    diagnosis = trace_diagnose(trace_id=trace.pk)
    assert not diagnosis.healthy
    assert Finding.objects.get(diagnosis=diagnosis, code="non_finite").severity == "error"
    body = Answer.objects.get(question=question).body
    assert "The loss is NaN at 30 of 30 steps while the gradients stay finite" in body
    assert "non-finite" in set(question.tags.values_list("name", flat=True))


def test_trace_diagnose_run_twice_keeps_one_diagnosis_and_one_post(asker, question):
    trace = services.trace_upload(
        owner=asker, uploaded_file=upload(missing_zero_grad_trace_bytes()), question=question
    )
    trace_diagnose(trace_id=trace.pk)
    trace_diagnose(trace_id=trace.pk)
    assert Diagnosis.objects.filter(trace=trace).count() == 1
    assert Answer.objects.filter(question=question).count() == 1
    assert Notification.objects.filter(recipient=asker, verb="diagnosed").count() == 1


def test_a_healthy_trace_gets_a_post_and_no_problem_tags(asker, question):
    trace = services.trace_upload(
        owner=asker, uploaded_file=upload(trace_bytes()), question=question
    )
    diagnosis = trace_diagnose(trace_id=trace.pk)
    assert diagnosis.healthy
    assert "No problems found" in Answer.objects.get(question=question).body
    assert set(question.tags.values_list("name", flat=True)) == {"pytorch"}


def test_a_private_trace_is_diagnosed_without_any_post(asker):
    trace = services.trace_upload(
        owner=asker, uploaded_file=upload(vanishing_trace_bytes()), private=True
    )
    trace_diagnose(trace_id=trace.pk)
    trace.refresh_from_db()
    assert trace.state == Trace.State.DIAGNOSED
    assert not Answer.objects.exists()


def test_a_truncated_trace_fails_with_the_readers_reason(asker):
    data = vanishing_trace_bytes()
    trace = services.trace_upload(
        owner=asker, uploaded_file=upload(data[: len(data) - 100]), private=True
    )
    assert trace_diagnose(trace_id=trace.pk) is None
    trace.refresh_from_db()
    assert trace.state == Trace.State.FAILED
    assert "cannot be read" in trace.failure_reason and "truncated" in trace.failure_reason
    assert not Diagnosis.objects.exists()


def test_garbage_after_a_valid_header_fails_cleanly(asker):
    data = trace_bytes()[:16] + b"\xff" * 500
    trace = services.trace_upload(owner=asker, uploaded_file=upload(data), private=True)
    trace_diagnose(trace_id=trace.pk)
    trace.refresh_from_db()
    assert trace.state == Trace.State.FAILED and trace.failure_reason


def test_an_engine_crash_fails_the_trace_with_a_readable_reason(asker, monkeypatch):
    def broken(trace, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(analysis, "diagnose", broken)  # the forked child inherits the patch
    trace = services.trace_upload(owner=asker, uploaded_file=upload(trace_bytes()), private=True)
    trace_diagnose(trace_id=trace.pk)
    trace.refresh_from_db()
    assert trace.state == Trace.State.FAILED
    assert "engine failed" in trace.failure_reason and "ZeroDivisionError" in trace.failure_reason


def test_engine_run_stops_a_diagnosis_that_needs_too_much_memory(tmp_path, monkeypatch):
    def hungry(trace, **kwargs):
        return bytearray(600 * 2**20)  # 600 MB, over the 200 MB cap below

    monkeypatch.setattr(analysis, "diagnose", hungry)
    path = tmp_path / "run.trace"
    path.write_bytes(trace_bytes())
    with pytest.raises(sandbox.EngineFailure, match="memory"):
        sandbox.engine_run(path=str(path), max_bytes=10**6, memory_bytes=200 * 2**20)


def test_engine_run_stops_a_diagnosis_that_takes_too_long(tmp_path, monkeypatch):
    import time

    monkeypatch.setattr(analysis, "diagnose", lambda trace, **kwargs: time.sleep(30))
    path = tmp_path / "run.trace"
    path.write_bytes(trace_bytes())
    started = time.monotonic()
    with pytest.raises(sandbox.EngineFailure, match="longer than 1 seconds"):
        sandbox.engine_run(path=str(path), max_bytes=10**6, timeout_seconds=1)
    assert time.monotonic() - started < 10


def test_a_trace_started_too_often_is_failed_instead_of_looping(asker):
    trace = services.trace_upload(owner=asker, uploaded_file=upload(trace_bytes()), private=True)
    Trace.objects.filter(pk=trace.pk).update(attempts=MAX_ATTEMPTS)
    trace_diagnose(trace_id=trace.pk)
    trace.refresh_from_db()
    assert trace.state == Trace.State.FAILED and "gave up" in trace.failure_reason


def test_reuploading_a_failed_trace_queues_it_again(asker, django_capture_on_commit_callbacks):
    data = trace_bytes(seed=9)
    trace = services.trace_upload(owner=asker, uploaded_file=upload(data), private=True)
    services.trace_fail(trace_id=trace.pk, reason="The worker was restarted.")
    with django_capture_on_commit_callbacks() as callbacks:
        again = services.trace_upload(owner=asker, uploaded_file=upload(data), private=True)
    assert again.pk == trace.pk and again.state == Trace.State.QUEUED
    assert again.failure_reason == "" and enqueued_ids(callbacks) == [trace.pk]


def test_attaching_a_diagnosed_private_trace_to_a_question_posts_the_stored_diagnosis(asker):
    trace = services.trace_upload(
        owner=asker, uploaded_file=upload(vanishing_trace_bytes()), private=True
    )
    trace_diagnose(trace_id=trace.pk)
    prefill = trace_ask_prefill(user=asker, trace_id=str(trace.pk))
    assert "Vanishing" in prefill["title"] and "vanishing_gradients" in prefill["body"]
    question = question_make(author=asker, title=prefill["title"])
    services.trace_attach(trace=trace, question=question, user=asker)
    trace.refresh_from_db()
    assert trace.state == Trace.State.QUEUED and not trace.is_private
    trace_diagnose(trace_id=trace.pk)  # what the enqueued task does
    assert Diagnosis.objects.filter(trace=trace).count() == 1  # reused, not recomputed
    assert Answer.objects.filter(question=question, is_automated=True).count() == 1


def test_ask_prefill_is_only_for_the_owners_diagnosed_trace(asker):
    trace = services.trace_upload(owner=asker, uploaded_file=upload(trace_bytes()), private=True)
    assert trace_ask_prefill(user=asker, trace_id=trace.pk) is None  # not diagnosed yet
    trace_diagnose(trace_id=trace.pk)
    assert trace_ask_prefill(user=user_make(), trace_id=trace.pk) is None
    assert trace_ask_prefill(user=asker, trace_id="nope") is None


# --- sweep and rediagnose --------------------------------------------------------------------


def test_sweep_requeues_stuck_traces_and_fails_those_out_of_attempts(
    asker, django_capture_on_commit_callbacks
):
    old = timezone.now() - sweep.STUCK_AFTER - timedelta(minutes=1)
    stuck = services.trace_upload(
        owner=asker, uploaded_file=upload(trace_bytes(seed=1)), private=True
    )
    worn = services.trace_upload(
        owner=asker, uploaded_file=upload(trace_bytes(seed=2)), private=True
    )
    fresh = services.trace_upload(
        owner=asker, uploaded_file=upload(trace_bytes(seed=5)), private=True
    )
    Trace.objects.filter(pk=stuck.pk).update(state="replaying", state_changed_at=old, attempts=1)
    Trace.objects.filter(pk=worn.pk).update(state_changed_at=old, attempts=MAX_ATTEMPTS)

    with django_capture_on_commit_callbacks() as callbacks:
        result = sweep.traces_sweep_stuck()

    assert result == {"requeued": 1, "failed": 1, "plots": 0}
    assert enqueued_ids(callbacks) == [stuck.pk]
    stuck.refresh_from_db(), worn.refresh_from_db(), fresh.refresh_from_db()
    assert stuck.state == Trace.State.QUEUED and stuck.state_changed_at > old
    assert worn.state == Trace.State.FAILED and "attempts" in worn.failure_reason
    assert fresh.state == Trace.State.QUEUED


def test_rediagnose_edits_the_bot_post_in_place_keeping_a_revision(asker, question, monkeypatch):
    trace = services.trace_upload(
        owner=asker, uploaded_file=upload(vanishing_trace_bytes()), question=question
    )
    trace_diagnose(trace_id=trace.pk)
    answer = Answer.objects.get(question=question)
    revisions = Revision.objects.filter(answer=answer).count()

    monkeypatch.setattr("hub.traces.diagnosis.ENGINE_VERSION", "99.0.0")  # an engine upgrade
    call_command("rediagnose", "--trace", str(trace.pk))

    assert Answer.objects.filter(question=question).count() == 1
    answer.refresh_from_db()
    assert "engine 99.0.0" in answer.body
    assert Revision.objects.filter(answer=answer).count() == revisions + 1
    assert set(Diagnosis.objects.filter(trace=trace).values_list("engine_version", flat=True)) == {
        analysis.ENGINE_VERSION,
        "99.0.0",
    }


def test_rediagnose_of_an_unknown_trace_says_so():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No trace"):
        call_command("rediagnose", "--trace", "999999")


def test_same_diagnosis_lists_solved_questions_first_and_not_this_one(asker, question):
    def diagnosed_question(solved: bool):
        author = user_make()
        q = question_make(author=author, title="Early layers do not learn in my deep net")
        t = services.trace_upload(
            owner=author, uploaded_file=upload(vanishing_trace_bytes()), question=q
        )
        trace_diagnose(trace_id=t.pk)
        if solved:
            q.accepted_answer = q.answers.first()
            q.save(update_fields=["accepted_answer"])
        return q

    unsolved, solved = diagnosed_question(False), diagnosed_question(True)
    trace = services.trace_upload(
        owner=asker, uploaded_file=upload(vanishing_trace_bytes()), question=question
    )
    trace_diagnose(trace_id=trace.pk)
    found = questions_with_same_diagnosis(
        codes=["vanishing_gradients"], layers=["0"], exclude_question_id=question.pk
    )
    assert [q.pk for q in found] == [solved.pk, unsolved.pk]
    body = Answer.objects.get(question=question).body
    # Text, not an emoji: without an emoji font a check mark renders as an empty box.
    assert "Questions with the same diagnosis (solved ones first)" in body
    assert f"**Solved:** [{solved.title}]" in body
    assert "✅" not in body
    assert body.index(solved.get_absolute_url()) < body.index(unsolved.get_absolute_url())


def test_same_diagnosis_also_lists_visible_questions_tagged_with_the_finding_after_traced_ones(
    asker, question
):
    def tagged(title: str, *, solved: bool = False, hidden: bool = False):
        q = question_make(author=user_make(), title=title, tags=["vanishing-gradients"])
        if solved:
            q.accepted_answer = answer_make(author=user_make(), question=q)
        q.is_hidden = hidden
        q.save(update_fields=["accepted_answer", "is_hidden"])
        return q

    author = user_make()
    traced = question_make(author=author, title="Early layers do not learn in my deep net")
    trace_diagnose(
        trace_id=services.trace_upload(
            owner=author, uploaded_file=upload(vanishing_trace_bytes()), question=traced
        ).pk
    )
    unsolved = tagged("Gradients vanish in my sigmoid stack")
    solved = tagged("Vanishing gradients in a 20-layer MLP", solved=True)
    tagged("Hidden vanishing question", hidden=True)
    question_make(author=user_make(), title="Unrelated loss question")
    found = questions_with_same_diagnosis(
        codes=["vanishing_gradients"], layers=["0"], exclude_question_id=question.pk
    )
    assert [q.pk for q in found] == [traced.pk, solved.pk, unsolved.pk]


def test_plots_are_drawn_after_the_post_and_added_to_it_once(
    asker, question, django_capture_on_commit_callbacks
):
    trace = services.trace_upload(
        owner=asker, uploaded_file=upload(vanishing_trace_bytes()), question=question
    )
    with django_capture_on_commit_callbacks() as callbacks:
        diagnosis = trace_diagnose(trace_id=trace.pk)
    assert not diagnosis.plots_done and diagnosis.plots == {}
    assert enqueued_ids(callbacks, queue.RENDER_PLOTS) == [diagnosis.pk]
    answer = Answer.objects.get(question=question)
    assert "/plots/" not in answer.body
    revisions = Revision.objects.filter(answer=answer).count()

    diagnosis_plots_render(diagnosis_id=diagnosis.pk)
    diagnosis_plots_render(diagnosis_id=diagnosis.pk)  # a duplicate delivery

    diagnosis.refresh_from_db()
    answer.refresh_from_db()
    assert diagnosis.plots_done
    assert set(diagnosis.plots) == {"gradient_flow", "gradient_norms"}
    assert all(svg.lstrip().startswith(("<?xml", "<svg")) for svg in diagnosis.plots.values())
    for name in diagnosis.plots:
        assert f"(/traces/{trace.pk}/plots/{name}.svg)" in answer.body
    assert Revision.objects.filter(answer=answer).count() == revisions + 1
    assert Answer.objects.filter(question=question).count() == 1


def test_while_plots_are_drawn_the_post_says_so_under_its_plots_heading(asker, question):
    trace = services.trace_upload(
        owner=asker, uploaded_file=upload(vanishing_trace_bytes()), question=question
    )
    diagnosis = trace_diagnose(trace_id=trace.pk)
    answer = Answer.objects.get(question=question)
    assert "### Plots\n\n" + bot_post.PLOTS_PENDING in answer.body

    diagnosis_plots_render(diagnosis_id=diagnosis.pk)
    answer.refresh_from_db()
    assert "### Plots" in answer.body and bot_post.PLOTS_PENDING not in answer.body


def test_plots_that_cannot_be_drawn_leave_no_plots_heading_in_the_post(asker, question):
    trace = services.trace_upload(
        owner=asker, uploaded_file=upload(vanishing_trace_bytes()), question=question
    )
    diagnosis = trace_diagnose(trace_id=trace.pk)
    trace.file.storage.delete(trace.file.name)
    diagnosis_plots_render(diagnosis_id=diagnosis.pk)
    body = Answer.objects.get(question=question).body
    assert "### Plots" not in body and bot_post.PLOTS_PENDING not in body


def test_plots_of_a_vanished_file_end_without_plots(asker):
    trace = services.trace_upload(owner=asker, uploaded_file=upload(trace_bytes()), private=True)
    diagnosis = trace_diagnose(trace_id=trace.pk)
    trace.file.storage.delete(trace.file.name)
    diagnosis_plots_render(diagnosis_id=diagnosis.pk)
    diagnosis.refresh_from_db()
    assert diagnosis.plots_done and diagnosis.plots == {}


def test_a_hostile_file_name_cannot_inject_markdown_into_the_bot_post(asker, question):
    name = "x](javascript:alert(1)) ![pixel](track.png) <b>.trace"
    trace = services.trace_upload(
        owner=asker, uploaded_file=upload(trace_bytes(seed=31), name), question=question
    )
    trace_diagnose(trace_id=trace.pk)
    html = Answer.objects.get(question=question).body_html
    assert html.split("</p>")[0].count("<a ") == 1  # only the trace link, no injected one
    assert "<img" not in html and "<b>" not in html
    assert "x](javascript:alert(1)) ![pixel](track.png) &lt;b&gt;.trace" in html  # as text


def test_a_trace_whose_file_vanished_fails_without_showing_server_paths(asker):
    trace = services.trace_upload(owner=asker, uploaded_file=upload(trace_bytes()), private=True)
    trace.file.storage.delete(trace.file.name)
    trace_diagnose(trace_id=trace.pk)
    trace.refresh_from_db()
    assert trace.state == Trace.State.FAILED
    assert "missing on the server" in trace.failure_reason and "/" not in trace.failure_reason


def test_an_overlong_report_is_cut_at_a_finding_with_a_link_to_the_trace(asker, monkeypatch):
    trace = services.trace_upload(owner=asker, uploaded_file=upload(trace_bytes()), private=True)
    diagnosis = trace_diagnose(trace_id=trace.pk)
    monkeypatch.setattr(bot_post, "BOT_POST_REPORT_MAX_CHARS", 200)
    diagnosis.report_markdown = (
        "**Diagnosis**\n\n### First\n" + "a" * 100 + "\n### Second\n" + "b" * 300
    )
    body = bot_post.bot_post_body(trace=trace, diagnosis=diagnosis)
    assert "### First" in body and "### Second" not in body
    assert f"[the trace page](/traces/{trace.pk}/)" in body


def test_the_footer_invites_votes_in_a_thread_but_not_on_a_private_diagnosis(asker, question):
    private = services.trace_upload(owner=asker, uploaded_file=upload(trace_bytes()), private=True)
    body = bot_post.bot_post_body(trace=private, diagnosis=trace_diagnose(trace_id=private.pk))
    assert "vote" not in body and "comment" not in body
    assert "Check the evidence" in body and "Ask the community" in body

    asked = services.trace_upload(
        owner=asker, uploaded_file=upload(trace_bytes()), question=question
    )
    body = bot_post.bot_post_body(trace=asked, diagnosis=trace_diagnose(trace_id=asked.pk))
    assert "vote and comment as on any answer" in body


def test_trace_upload_is_limited_per_user_whatever_the_entry_point(asker, settings):
    from rest_framework.test import APIClient

    from hub.api.services import token_create

    settings.TRACE_UPLOADS_PER_HOUR = 2
    for seed in (1, 2):
        services.trace_upload(owner=asker, uploaded_file=upload(trace_bytes(seed=seed)))
    with pytest.raises(RateLimited):
        services.trace_upload(owner=asker, uploaded_file=upload(trace_bytes(seed=3)))
    # The web form and the API, with a brand-new token, count against the same limit.
    web = Client()
    web.force_login(asker)
    assert web.post("/traces/new/", {"file": upload(trace_bytes(seed=4))}).status_code == 429
    api = APIClient()
    api.credentials(
        HTTP_AUTHORIZATION=f"Bearer {token_create(user=asker, name='x', scopes=['traces'])[1]}"
    )
    response = api.post(
        "/api/v1/traces/",
        {"file": upload(trace_bytes(seed=5)), "private": True},
        format="multipart",
    )
    assert response.status_code == 429 and response.json()["error"]["code"] == "rate_limited"
    assert Trace.objects.filter(owner=asker).count() == 2
    # Another person has their own budget.
    services.trace_upload(owner=user_make(prefix="other"), uploaded_file=upload(trace_bytes()))
