"""The pipeline end to end: uploads through real Celery worker processes, Redis and PostgreSQL."""

import os
import re
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from hub.forum.models import Answer
from hub.traces import queue, services
from hub.traces.models import Diagnosis, Trace
from tests.factories import question_make, user_make
from tests.hub.traces.pipeline_fixtures import (
    missing_zero_grad_trace_bytes,
    pickle_bytes,
    trace_bytes,
    upload,
    vanishing_trace_bytes,
    wait_for,
)
from tests.hub.traces.pipeline_worker import DelayedWorker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TIMEOUT = 60  # seconds a single diagnosis may take to show up through a cold worker


def _state(trace_id: int) -> str:
    return Trace.objects.get(pk=trace_id).state


def _terminal(trace_id: int) -> bool:
    return _state(trace_id) in (Trace.State.DIAGNOSED, Trace.State.FAILED)


def test_an_upload_to_a_question_ends_with_the_bot_post_in_the_thread(celery_worker):
    asker = user_make(prefix="asker")
    question = question_make(author=asker)
    trace = services.trace_upload(
        owner=asker, uploaded_file=upload(vanishing_trace_bytes()), question=question
    )
    assert trace.state == Trace.State.QUEUED

    answer = wait_for(
        lambda: Answer.objects.filter(question=question, is_automated=True).first(), timeout=TIMEOUT
    )
    assert answer is not None, celery_worker.log_text()[-3000:]
    assert "Gradient Doctor · automated diagnosis" in answer.body
    assert "Vanishing gradients" in answer.body
    assert _state(trace.pk) == Trace.State.DIAGNOSED
    assert "vanishing-gradients" in set(question.tags.values_list("name", flat=True))

    # The follow-up task draws the plots and edits them into the same post.
    diagnosis = wait_for(
        lambda: Diagnosis.objects.filter(trace=trace, plots_done=True).first(), timeout=TIMEOUT
    )
    assert diagnosis is not None and diagnosis.plots
    answer.refresh_from_db()
    assert f"/traces/{trace.pk}/plots/" in answer.body
    assert Answer.objects.filter(question=question).count() == 1


def test_the_same_task_delivered_three_times_posts_once(celery_worker):
    from hub.traces.tasks import diagnose_trace

    asker = user_make(prefix="asker")
    question = question_make(author=asker)
    trace = services.trace_upload(  # enqueues once after commit...
        owner=asker, uploaded_file=upload(missing_zero_grad_trace_bytes()), question=question
    )
    ids = [diagnose_trace.delay(trace.pk).id for _ in range(2)]  # ...and twice more, at once

    def all_done():
        log = celery_worker.log_text()
        return all(re.search(rf"{i}\] succeeded", log) for i in ids) and _terminal(trace.pk)

    assert wait_for(all_done, timeout=TIMEOUT), celery_worker.log_text()[-3000:]
    assert Diagnosis.objects.filter(trace=trace).count() == 1
    assert Answer.objects.filter(question=question).count() == 1


def test_bad_uploads_fail_clearly_and_a_good_one_next_to_them_is_diagnosed(celery_worker, settings):
    asker = user_make(prefix="asker")
    good = services.trace_upload(
        owner=asker, uploaded_file=upload(trace_bytes(seed=11)), private=True
    )
    data = vanishing_trace_bytes()
    truncated = services.trace_upload(owner=asker, uploaded_file=upload(data[:-500]), private=True)
    garbage = services.trace_upload(
        owner=asker, uploaded_file=upload(data[:16] + os.urandom(4000)), private=True
    )
    # Refused in the request: no row, no task.
    with pytest.raises(ValidationError, match="not a trace file"):
        services.trace_upload(owner=asker, uploaded_file=upload(pickle_bytes()), private=True)
    settings.TRACE_MAX_UPLOAD_BYTES = 1024
    with pytest.raises(ValidationError, match="limit"):
        services.trace_upload(owner=asker, uploaded_file=upload(data), private=True)
    assert Trace.objects.filter(owner=asker).count() == 3

    ids = [good.pk, truncated.pk, garbage.pk]
    assert wait_for(lambda: all(_terminal(i) for i in ids), timeout=TIMEOUT)
    assert _state(good.pk) == Trace.State.DIAGNOSED
    for bad in (truncated, garbage):
        bad.refresh_from_db()
        assert bad.state == Trace.State.FAILED
        assert bad.failure_reason.startswith("This trace file cannot be read:")
    assert "truncated" in truncated.failure_reason
    assert celery_worker.process.poll() is None  # the worker is still alive


@pytest.mark.slow
def test_fifty_concurrent_uploads_get_fifty_diagnoses(celery_worker):
    people = [user_make(prefix="crowd") for _ in range(10)]
    errors: list[Exception] = []

    def upload_five(person, offset):
        try:
            for i in range(5):
                data = trace_bytes(seed=1000 + offset * 5 + i, num_steps=20)
                services.trace_upload(owner=person, uploaded_file=upload(data), private=True)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload_five, args=(p, n)) for n, p in enumerate(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    traces = Trace.objects.filter(owner__in=people)
    assert traces.count() == 50

    done = wait_for(
        lambda: traces.filter(state=Trace.State.DIAGNOSED).count() == 50, timeout=180, interval=0.5
    )
    assert done, list(traces.values_list("state", "failure_reason"))
    assert Diagnosis.objects.filter(trace__in=traces).count() == 50


@pytest.mark.slow
def test_a_worker_killed_mid_task_leaves_the_trace_diagnosed_exactly_once(
    celery_worker, tmp_path, monkeypatch
):
    asker = user_make(prefix="asker")
    question = question_make(author=asker)
    monkeypatch.setattr(
        queue, "diagnose_trace_enqueue", lambda trace_id: None
    )  # sent by hand below
    trace = services.trace_upload(
        owner=asker, uploaded_file=upload(vanishing_trace_bytes()), question=question
    )

    worker = DelayedWorker(name="kill", delay_seconds=2, log_path=tmp_path / "kill.log")
    worker.start()
    try:
        worker.send(trace.pk)
        assert wait_for(lambda: _state(trace.pk) == Trace.State.REPLAYING, timeout=TIMEOUT), (
            worker.log_text()
        )
        worker.kill()  # SIGKILL the whole worker while the task sleeps inside trace_diagnose
        time.sleep(2.5)  # longer than the delay: a surviving child would have finished by now
        assert _state(trace.pk) == Trace.State.REPLAYING
        assert not Diagnosis.objects.filter(trace=trace).exists()

        worker.start()  # the unacked message comes back after the visibility timeout
        assert wait_for(lambda: _state(trace.pk) == Trace.State.DIAGNOSED, timeout=TIMEOUT), (
            worker.log_text()[-3000:]
        )
        time.sleep(8)  # past another visibility timeout: no late duplicate may post again
    finally:
        worker.stop()
    trace.refresh_from_db()
    assert trace.attempts == 2
    assert Diagnosis.objects.filter(trace=trace).count() == 1
    assert Answer.objects.filter(question=question).count() == 1
