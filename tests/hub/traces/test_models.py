"""Model-level invariants of traces: the database refuses impossible rows."""

import pytest
from django.db import IntegrityError, transaction

from hub.traces.models import Diagnosis, Finding, Trace
from tests.factories import question_make, user_make

pytestmark = pytest.mark.django_db


def _trace(**fields) -> Trace:
    defaults = {
        "owner": user_make(),
        "sha256": "0" * 64,
        "size_bytes": 10,
        "file": "traces/x.trace",
    }
    return Trace.objects.create(**(defaults | fields))


def _refused(make) -> bool:
    try:
        with transaction.atomic():
            make()
    except IntegrityError:
        return True
    return False


def test_a_new_trace_starts_uploaded_with_no_attempts():
    trace = _trace()
    assert trace.state == Trace.State.UPLOADED and trace.attempts == 0
    assert not trace.is_terminal
    assert trace.get_absolute_url() == f"/traces/{trace.pk}/"


def test_an_unknown_state_is_refused():
    assert _refused(lambda: _trace(state="exploded"))


def test_a_failed_trace_without_a_reason_is_refused():
    assert _refused(lambda: _trace(state="failed"))
    assert not _refused(lambda: _trace(state="failed", failure_reason="truncated"))


def test_a_private_trace_cannot_be_attached_to_a_question():
    owner = user_make()
    question = question_make(author=owner)
    assert _refused(lambda: _trace(owner=owner, question=question, is_private=True))


def test_one_diagnosis_per_trace_and_engine_version():
    trace = _trace()
    Diagnosis.objects.create(trace=trace, engine_version="1.0.0")
    assert _refused(lambda: Diagnosis.objects.create(trace=trace, engine_version="1.0.0"))
    assert not _refused(lambda: Diagnosis.objects.create(trace=trace, engine_version="1.1.0"))


def test_finding_severity_and_confidence_are_checked():
    diagnosis = Diagnosis.objects.create(trace=_trace(), engine_version="1.0.0")

    def finding(**fields):
        base = {"diagnosis": diagnosis, "code": "dead_relu", "severity": "warning",
                "title": "Dead ReLUs", "confidence": 0.9}  # fmt: skip
        return Finding.objects.create(**(base | fields))

    assert not _refused(finding)
    assert _refused(lambda: finding(severity="fatal"))
    assert _refused(lambda: finding(confidence=1.5))
