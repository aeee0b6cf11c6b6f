"""hub.traces.tasks: thin Celery tasks with the robustness settings the pipeline relies on."""

import pytest
from botocore.exceptions import EndpointConnectionError
from django.conf import settings
from django.db import OperationalError

from hub.traces import sandbox, services, tasks
from hub.traces.models import Trace
from tests.factories import user_make
from tests.hub.traces.pipeline_fixtures import trace_bytes, upload


def test_diagnose_task_is_named_acks_late_and_retries_only_transient_errors():
    task = tasks.diagnose_trace
    assert task.name == "analysis.diagnose_trace"
    assert task.acks_late and task.reject_on_worker_lost
    assert set(task.autoretry_for) == set(tasks.TRANSIENT_ERRORS)
    assert task.retry_backoff and task.retry_jitter and task.max_retries == tasks.MAX_RETRIES


def test_diagnose_task_time_limits_sit_between_the_engine_budget_and_the_global_limits():
    task = tasks.diagnose_trace
    assert sandbox.DIAGNOSE_TIMEOUT_SECONDS < task.soft_time_limit < task.time_limit
    assert task.soft_time_limit <= settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert task.time_limit <= settings.CELERY_TASK_TIME_LIMIT


def test_sweep_task_has_the_name_the_beat_schedule_uses():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks.sweep_stuck_traces.name in scheduled


@pytest.mark.django_db
def test_diagnose_task_runs_the_service(monkeypatch):
    trace = services.trace_upload(
        owner=user_make(), uploaded_file=upload(trace_bytes()), private=True
    )
    tasks.diagnose_trace.apply(args=[trace.pk])
    trace.refresh_from_db()
    assert trace.state == Trace.State.DIAGNOSED


@pytest.mark.django_db
@pytest.mark.parametrize(
    "outage",
    [
        OperationalError("server closed the connection unexpectedly"),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:9/bucket"),  # the file storage
    ],
    ids=["database", "object storage"],
)
def test_a_transient_error_to_the_last_retry_marks_the_trace_failed(monkeypatch, outage):
    trace = services.trace_upload(
        owner=user_make(), uploaded_file=upload(trace_bytes()), private=True
    )
    calls = []

    def flaky(*, trace_id, force=False):
        calls.append(trace_id)
        raise outage

    monkeypatch.setattr(tasks, "trace_diagnose", flaky)
    result = tasks.diagnose_trace.apply(args=[trace.pk])

    assert result.failed()
    assert len(calls) == tasks.MAX_RETRIES + 1  # the first try and every retry
    trace.refresh_from_db()
    assert trace.state == Trace.State.FAILED
    assert "the file storage was unavailable" in trace.failure_reason


@pytest.mark.django_db
def test_an_unexpected_error_marks_the_trace_failed_without_retrying(monkeypatch):
    trace = services.trace_upload(
        owner=user_make(), uploaded_file=upload(trace_bytes()), private=True
    )
    calls = []

    def broken(*, trace_id, force=False):
        calls.append(trace_id)
        raise KeyError("findings")

    monkeypatch.setattr(tasks, "trace_diagnose", broken)
    tasks.diagnose_trace.apply(args=[trace.pk])
    assert calls == [trace.pk]
    trace.refresh_from_db()
    assert trace.state == Trace.State.FAILED and "KeyError" in trace.failure_reason


@pytest.mark.django_db
def test_the_task_for_a_deleted_trace_does_nothing():
    result = tasks.diagnose_trace.apply(args=[987654])
    assert result.successful()
