"""ranks_disagree: data-parallel copies hold the same weights and gradients at every step."""

import dataclasses

from analysis import diagnose
from tests.analysis.helpers import replace_steps, synthetic_trace
from traces.distributed import rank_files


def _rank(trace, rank: int):
    return dataclasses.replace(trace, extra={**trace.extra, "rank": rank, "world_size": 2})


def test_identical_ranks_agree():
    trace = synthetic_trace(num_steps=20)
    assert diagnose(_rank(trace, 0), peers=[_rank(trace, 1)]).findings == ()


def test_rounding_differences_are_agreement():
    trace = synthetic_trace(num_steps=20)
    peer = replace_steps(trace, weight_norm=trace.steps.weight_norm * (1 + 5e-4))
    assert [f.code for f in diagnose(_rank(trace, 0), peers=[_rank(peer, 1)]).findings] == []


def test_weights_that_drift_apart_are_unsynchronised_copies():
    trace = synthetic_trace(num_steps=20)
    drift = trace.steps.weight_norm.copy()
    drift[1:] *= 1.05  # from the second step on, rank 1's weights are other weights
    finding = diagnose(_rank(trace, 0), peers=[_rank(replace_steps(trace, weight_norm=drift), 1)])
    (f,) = [f for f in finding.findings if f.code == "ranks_disagree"]
    assert f.severity.value == "error" and f.title == "The ranks train different models"
    assert f.evidence.details["disagreeing_ranks"] == [1]
    assert f.evidence.onset_step == int(trace.steps.step[1])


def test_gradients_that_differ_with_equal_weights_were_not_averaged():
    trace = synthetic_trace(num_steps=20)
    peer = replace_steps(trace, grad_norm=trace.steps.grad_norm * 1.3)
    (f,) = diagnose(_rank(trace, 0), peers=[_rank(peer, 1)]).findings
    assert f.code == "ranks_disagree" and f.title == "Gradients differ across ranks"


def test_a_single_process_is_never_compared():
    assert "ranks_disagree" not in [
        f.code for f in diagnose(synthetic_trace(num_steps=20)).findings
    ]


def test_rank_files_are_found_from_the_run_name_or_any_rank(tmp_path):
    for name in ("run.rank1.trace", "run.rank0.trace", "run.rank10.trace", "other.rank0.trace"):
        (tmp_path / name).write_bytes(b"")
    expected = [tmp_path / f"run.rank{r}.trace" for r in (0, 1, 10)]
    assert rank_files(tmp_path / "run.trace") == expected
    assert rank_files(tmp_path / "run.rank1.trace") == expected
    assert rank_files(tmp_path / "single.trace") == []
