"""bench/load.py's invariant checker against tiny database states: it passes a whole run and
names each kind of breakage (a stuck trace, a duplicate bot post, a lost or half-asked question)."""

import pytest

from bench.load_checks import Ledger, invariants_check
from hub.forum.models import Answer
from hub.traces.diagnosis import diagnosis_plots_render, trace_diagnose
from hub.traces.models import Diagnosis
from hub.traces.services import question_ask_with_trace, trace_upload
from tests.factories import question_make, user_make
from tests.hub.traces.pipeline_fixtures import trace_bytes, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def run():
    """A run's uploader with one question asked with a trace, diagnosed, posted and plotted."""
    uploader = user_make(prefix="uploader", reputation=100)
    question, trace = question_ask_with_trace(
        author=uploader,
        title="Gradients vanish in my sigmoid MLP",
        body="The first layers get gradients around 1e-9. Trace attached.",
        tags=[],
        trace_file=upload(trace_bytes()),
    )
    diagnosis = trace_diagnose(trace_id=trace.pk)
    diagnosis_plots_render(diagnosis_id=diagnosis.pk)
    ledger = Ledger(questions={question.pk}, traces={trace.pk})
    return {"uploader": uploader, "question": question, "trace": trace, "ledger": ledger}


def _failed(run) -> dict[str, str]:
    checks = invariants_check(run["ledger"], uploader_ids=[run["uploader"].pk])
    return {check.name: check.value for check in checks if not check.ok}


def test_a_whole_run_passes_every_check(run):
    assert _failed(run) == {}


def test_a_trace_still_queued_is_named(run):
    queued = trace_upload(
        owner=run["uploader"], uploaded_file=upload(trace_bytes(seed=2)), private=True
    )
    run["ledger"].traces.add(queued.pk)
    assert _failed(run) == {"traces diagnosed / failed / pending": "1 / 0 / 1"}


def test_a_second_bot_post_on_the_question_is_a_duplicate(run):
    original = Diagnosis.objects.get(trace=run["trace"]).answer
    Answer.objects.create(
        question=run["question"], author=original.author, body=original.body,
        body_html=original.body_html, is_automated=True,
    )  # fmt: skip
    assert _failed(run) == {"duplicate bot posts": "1"}


def test_a_lost_question_and_a_half_asked_one_are_named(run):
    run["ledger"].questions.add(10**9)
    half = question_make(author=run["uploader"], title="Load abc trace 7: gradients look wrong")
    run["ledger"].unknown_titles.add(half.title)
    assert _failed(run) == {
        "questions accepted -> in the database": "1/2",
        "asks with a trace, outcome unknown, left without their trace": "1 of 1",
    }


def test_a_trace_row_of_an_upload_the_site_refused_is_named(run):
    trace_upload(owner=run["uploader"], uploaded_file=upload(trace_bytes(seed=3)), private=True)
    failed = _failed(run)
    assert failed["trace rows without a 201 (allowed: outcome unknown)"] == "1 (unknown: 0)"
