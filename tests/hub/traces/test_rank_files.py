"""A distributed run's rank files uploaded together: rank 0 is the trace (diagnosed, posted),
the other ranks are kept with it as evidence and compared by its diagnosis."""

import dataclasses
import hashlib

import pytest
from django.core.exceptions import ValidationError

import traces
from hub.traces import services
from hub.traces.diagnosis import trace_diagnose
from hub.traces.models import Trace, TraceRankFile
from tests.factories import question_make
from tests.hub.traces.pipeline_fixtures import upload
from traces.synthetic import synthetic_trace

pytestmark = pytest.mark.django_db


def _rank_bytes(rank: int, *, drift: float = 1.0) -> bytes:
    """Rank ``rank`` of a 2-process run; ``drift`` scales its weights from the second step on
    (1.0: the copies agree, as DDP keeps them)."""
    trace = synthetic_trace(num_steps=30)
    weights = trace.steps.weight_norm.copy()
    weights[1:] *= drift
    steps = dataclasses.replace(trace.steps, weight_norm=weights)
    extra = {**trace.extra, "rank": rank, "world_size": 2}
    return traces.dumps(dataclasses.replace(trace, steps=steps, extra=extra))


def test_rank_files_are_stored_with_the_rank0_trace_in_rank_order(asker):
    rank0, rank1 = _rank_bytes(0), _rank_bytes(1, drift=1.1)
    trace = services.trace_upload(
        owner=asker,
        uploaded_file=upload(rank0, "run.rank0.trace"),
        private=True,
        rank_files=[upload(rank1, "run.rank1.trace")],
    )
    (row,) = TraceRankFile.objects.filter(trace=trace)
    assert (row.rank, row.original_name, row.size_bytes) == (1, "run.rank1.trace", len(rank1))
    assert row.sha256 == hashlib.sha256(rank1).hexdigest()
    with row.file.open("rb") as fh:
        assert fh.read() == rank1
    assert Trace.objects.filter(owner=asker).count() == 1  # one trace: rank 0


def test_a_bad_rank_file_refuses_the_whole_upload_and_stores_nothing(asker):
    with pytest.raises(ValidationError, match="not a trace file"):
        services.trace_upload(
            owner=asker,
            uploaded_file=upload(_rank_bytes(0), "run.rank0.trace"),
            private=True,
            rank_files=[upload(b"not a trace at all, just text", "run.rank1.trace")],
        )
    assert not Trace.objects.filter(owner=asker).exists()
    assert not TraceRankFile.objects.exists()


def test_the_diagnosis_of_rank0_says_when_the_ranks_disagree(asker):
    question = question_make(author=asker)
    trace = services.trace_upload(
        owner=asker,
        uploaded_file=upload(_rank_bytes(0), "run.rank0.trace"),
        question=question,
        rank_files=[upload(_rank_bytes(1, drift=1.1), "run.rank1.trace")],
    )
    diagnosis = trace_diagnose(trace_id=trace.pk)
    (finding,) = diagnosis.findings
    assert finding["code"] == "ranks_disagree" and finding["severity"] == "error"
    assert finding["evidence"]["details"]["disagreeing_ranks"] == [1]


def test_ranks_that_agree_leave_a_healthy_diagnosis(asker):
    trace = services.trace_upload(
        owner=asker,
        uploaded_file=upload(_rank_bytes(0), "run.rank0.trace"),
        private=True,
        rank_files=[upload(_rank_bytes(1), "run.rank1.trace")],
    )
    assert trace_diagnose(trace_id=trace.pk).findings == []
