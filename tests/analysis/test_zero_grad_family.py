"""missing_zero_grad, gradient_accumulation and grads_cleared_before_step: told apart."""

import numpy as np

from analysis.detectors import missing_zero_grad as mz
from tests.analysis.helpers import codes, find, replace_steps, synthetic_trace


def test_never_clearing_is_missing_zero_grad_with_a_counterfactual():
    f = find(synthetic_trace(num_steps=30, clear="never"), "missing_zero_grad")
    assert f is not None and f.severity.value == "error"
    assert "with zero_grad each step" in f.evidence.counterfactual
    assert f.evidence.details["median_inflation"] > 2


def test_stale_on_half_the_steps_is_missing_zero_grad_and_on_fewer_is_not():
    t = synthetic_trace(num_steps=41)
    stale = np.zeros_like(t.steps.stale_grad)
    stale[1::2] = True  # every other step after the first: exactly half of rows 1..40
    assert "missing_zero_grad" in codes(replace_steps(t, stale_grad=stale))
    stale[1] = False  # 19 of 40
    assert mz.STALE_SHARE == 0.5
    assert "missing_zero_grad" not in codes(replace_steps(t, stale_grad=stale))


def test_params_in_no_optimizer_accumulating_are_not_missing_zero_grad():
    t = synthetic_trace(num_steps=30, not_in_optimizer=("4.weight", "4.bias"))
    stale = t.steps.stale_grad.copy()
    for i, p in enumerate(t.params):
        if p.optimizer is None:
            stale[1:, i] = True
    found = codes(replace_steps(t, stale_grad=stale))
    assert "missing_zero_grad" not in found
    assert "not_in_optimizer" in found


def test_intended_accumulation_is_info_and_nothing_else():
    d = codes(synthetic_trace(num_steps=30, backward_per_step=4))
    assert d == ["gradient_accumulation"]
    f = find(synthetic_trace(num_steps=30, backward_per_step=4), "gradient_accumulation")
    assert f.severity.value == "info" and "4" in f.title


def test_accumulation_without_clearing_is_missing_zero_grad_not_accumulation():
    d = codes(synthetic_trace(num_steps=30, backward_per_step=4, clear="never"))
    assert "missing_zero_grad" in d and "gradient_accumulation" not in d


def test_a_few_double_backward_steps_are_not_accumulation():
    t = synthetic_trace(num_steps=30)
    counts = t.steps.backward_count.copy()
    counts[:14] = 2  # 14 of 30 < half
    assert "gradient_accumulation" not in codes(replace_steps(t, backward_count=counts))


def test_clearing_between_backward_and_step_is_its_own_finding():
    t = synthetic_trace(num_steps=30, clear="before_step")
    f = find(t, "grads_cleared_before_step")
    assert f is not None
    assert f.evidence.details["steps_with_clear_after_backward"] == 30
    found = codes(t)
    assert "missing_zero_grad" not in found and "lr_too_low" not in found


def test_manual_sgd_without_clearing_is_missing_zero_grad():
    assert "missing_zero_grad" in codes(
        synthetic_trace(num_steps=30, optimizer=None, clear="never")
    )
    assert codes(synthetic_trace(num_steps=30, optimizer=None)) == []
