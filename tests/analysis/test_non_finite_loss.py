"""non_finite on a loss that is NaN/Inf while every gradient stays finite: the NaN sits in a
part of the loss whose gradient is masked (``0.0 * term``, ``masked_fill``, the mean of an
empty selection). The recorder flags such rows (``steps.loss_nan``); without the flag a NaN loss
reads as "not recorded"."""

import numpy as np

from tests.analysis.helpers import find, replace_steps, synthetic_trace
from tests.analysis.test_non_finite import _with_skips


def _nan_loss(t, rows):
    loss = t.steps.loss.copy()
    loss[rows] = np.nan
    flags = np.zeros(t.num_rows, dtype=bool)
    flags[rows] = True
    return replace_steps(t, loss=loss, loss_nan=flags)


def test_a_loss_nan_on_every_step_with_finite_gradients_is_an_error():
    t = _nan_loss(synthetic_trace(num_steps=40), slice(None))
    f = find(t, "non_finite")
    assert f is not None and f.severity.value == "error"
    d = f.evidence.details
    assert d["first_step"] == 0 and d["rows_affected"] == 40 and d["rows_total"] == 40
    assert d["gradients_finite"] is True and d["first_in"] == "loss_value"
    assert "gradient" in f.summary and "masked" in f.summary
    assert "isfinite" in f.fix.code


def test_without_the_recorder_s_flag_the_same_nan_loss_reads_as_not_recorded():
    t = synthetic_trace(num_steps=40)
    loss = np.full(40, np.nan)
    assert find(replace_steps(t, loss=loss), "non_finite") is None


def test_a_loss_that_turns_nan_and_stays_nan_to_the_end_is_an_error():
    t = _nan_loss(synthetic_trace(num_steps=100), slice(70, None))  # 30 % of the rows
    f = find(t, "non_finite")
    assert f.severity.value == "error" and f.evidence.onset_step == 70


def test_an_occasional_nan_loss_with_finite_gradients_is_a_warning():
    # e.g. one batch whose mask selected nothing: mean of an empty tensor is NaN, grads are 0
    t = _nan_loss(synthetic_trace(num_steps=60), [17, 41])
    f = find(t, "non_finite")
    assert f is not None and f.severity.value == "warning"
    assert f.evidence.onset_step == 17 and f.evidence.details["rows_affected"] == 2


def test_an_occasional_infinite_loss_with_finite_gradients_is_a_warning():
    t = synthetic_trace(num_steps=60)
    loss = t.steps.loss.copy()
    loss[25] = np.inf
    f = find(replace_steps(t, loss=loss), "non_finite")
    assert f.severity.value == "warning" and f.evidence.onset_step == 25


def test_nan_losses_in_windows_a_grad_scaler_skipped_are_normal():
    rows = [0, 1, 2, 30]
    t = _with_skips(_nan_loss(synthetic_trace(num_steps=40), rows), rows)
    assert find(t, "non_finite") is None


def test_a_healthy_run_has_no_finding():
    assert find(synthetic_trace(num_steps=40), "non_finite") is None


def test_a_nan_loss_that_also_makes_the_gradients_nan_is_the_usual_error():
    t = _nan_loss(synthetic_trace(num_steps=30), slice(5, None))
    bad = t.steps.grad_nonfinite.copy()
    bad[5:] = 1
    f = find(replace_steps(t, grad_nonfinite=bad), "non_finite")
    assert f.severity.value == "error" and f.evidence.onset_step == 5
    assert f.evidence.details["first_in"] == "loss"
    assert "gradients_finite" not in f.evidence.details


def test_the_replay_does_not_try_to_fix_a_masked_nan_loss_by_clipping_or_the_lr():
    # the NaN is in the user's loss terms, which a replay does not rebuild; clipping and a lower
    # learning rate (non_finite's replay candidates) cannot remove it
    from analysis.replay.verify import verify

    result = verify(_nan_loss(synthetic_trace(num_steps=40), slice(None)))["replay"]
    assert result["fixes"] == []
    assert result["why"] == "no finding a replay can verify (non_finite)"
