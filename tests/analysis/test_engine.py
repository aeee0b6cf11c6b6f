import numpy as np

from analysis import ENGINE_VERSION, diagnose
from tests.analysis.helpers import replace_steps, synthetic_trace


def test_healthy_synthetic_runs_have_no_findings():
    for kwargs in (
        {},
        {"activation": "tanh", "optimizer": "Adam"},
        {"layer_sizes": (8, 64, 64, 64, 64, 2)},
        {"optimizer": None},
        {"frozen": ("0.weight", "0.bias")},
        {"num_steps": 3},
        {"num_steps": 1},
    ):
        d = diagnose(synthetic_trace(**kwargs))
        assert d.findings == (), (kwargs, d.codes)
        assert d.healthy
        assert d.engine_version == ENGINE_VERSION


def test_trace_without_any_step_says_there_is_nothing_to_diagnose():
    d = diagnose(synthetic_trace(num_steps=0))
    assert d.findings == ()
    assert "No optimizer step was recorded" in d.summary


def test_findings_are_ordered_errors_first():
    t = synthetic_trace(
        num_steps=40,
        clear="never",
        backward_per_step=1,
        not_in_optimizer=("4.weight", "4.bias"),
        layer_sizes=(8, 16, 16, 4),
    )
    d = diagnose(t)
    ranks = [("error", "warning", "info").index(f.severity.value) for f in d.findings]
    assert ranks == sorted(ranks)


def test_missing_zero_grad_hides_the_high_learning_rate_it_causes():
    t = synthetic_trace(num_steps=40, clear="never")
    s = t.steps
    upd = (s.weight_norm * 0.5).astype(np.float32)  # huge updates
    loss = np.linspace(1.0, 3.0, 40)  # and a rising loss
    t = replace_steps(t, update_norm=upd, loss=loss)
    codes = diagnose(t).codes
    assert "missing_zero_grad" in codes
    assert "lr_too_high" not in codes


def test_diagnosis_facts_describe_the_trace():
    d = diagnose(synthetic_trace(num_steps=12))
    assert d.facts["rows"] == 12
    assert d.facts["optimizers"] == ["SGD"]
