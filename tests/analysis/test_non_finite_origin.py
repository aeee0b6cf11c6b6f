"""Non-finite runs: a NaN gradient is a gradient (never no_gradient), and non_finite names where
the NaN/Inf shows first: the loss, a layer's output, the backward pass or the update."""

import numpy as np

from tests.analysis.helpers import codes, col, find, mod, replace_steps, synthetic_trace


def _nan_from(t, row: int, *, loss_inf: bool = True):
    """Every gradient NaN from ``row`` on, the weights NaN after that row's step; the loss +Inf
    at ``row`` (log of an underflowed softmax) and NaN after it, when ``loss_inf``."""
    s = t.steps
    numel = np.array([int(np.prod(p.shape)) for p in t.params], np.int32)
    grad, fresh = s.grad_norm.copy(), s.fresh_grad_norm.copy()
    grad[row:], fresh[row:] = np.nan, np.nan
    gbad = s.grad_nonfinite.copy()
    gbad[row:] = numel
    wbad = s.weight_nonfinite.copy()
    wbad[row:] = numel
    w, upd = s.weight_norm.copy(), s.update_norm.copy()
    w[row + 1 :], upd[row:] = np.nan, np.nan
    act_mean, act_std = s.act_mean.copy(), s.act_std.copy()
    act_mean[row + 1 :], act_std[row + 1 :] = np.nan, np.inf
    loss = s.loss.copy()
    if loss_inf:
        loss[row], loss[row + 1 :] = np.inf, np.nan
    return replace_steps(
        t,
        grad_norm=grad,
        fresh_grad_norm=fresh,
        grad_nonfinite=gbad,
        weight_nonfinite=wbad,
        weight_norm=w,
        update_norm=upd,
        act_mean=act_mean,
        act_std=act_std,
        loss=loss,
    )


def test_nan_gradients_from_the_first_step_are_not_no_gradient():
    # log(softmax) on unscaled inputs: every parameter gets a .grad on every step, all NaN.
    t = _nan_from(synthetic_trace(num_steps=30), 0)
    found = codes(t)
    assert "no_gradient" not in found
    assert "non_finite" in found


def test_a_parameter_cut_off_still_counts_when_the_others_are_nan():
    t = _nan_from(synthetic_trace(num_steps=30), 0)
    s = t.steps
    gbad = s.grad_nonfinite.copy()
    for name in ("0.weight", "0.bias"):  # behind a .detach(): .grad stays None, no NaN in it
        gbad[:, col(t, name)] = 0
    f = find(replace_steps(t, grad_nonfinite=gbad), "no_gradient")
    assert f is not None and set(f.evidence.params) == {"0.weight", "0.bias"}


def test_a_loss_non_finite_before_anything_else_is_named_as_the_origin():
    f = find(_nan_from(synthetic_trace(num_steps=30), 0), "non_finite")
    assert f.evidence.onset_step == 0
    assert f.evidence.details["first_in"] == "loss"
    assert f.evidence.modules == ()
    assert "earliest in forward order" not in f.summary
    assert "loss" in f.summary.split(".")[0]


def test_a_layer_output_overflowing_before_the_loss_is_named():
    t = _nan_from(synthetic_trace(num_steps=30), 5)
    std = t.steps.act_std.copy()
    # the second Linear's sampled output held Inf in that forward pass (the recorder's std is
    # +Inf then)
    std[5, mod(t, "2")] = np.inf
    f = find(replace_steps(t, act_std=std), "non_finite")
    assert f.evidence.details["first_in"] == "forward"
    assert f.evidence.modules == ("2",)


def test_nan_gradients_under_a_finite_loss_name_the_layer_nearest_the_loss():
    # backward made it (e.g. sqrt at 0): the gradients of the layers before the faulty op are
    # NaN, those after it are finite; the op sits right after the last bad layer.
    t = synthetic_trace(num_steps=30)
    bad = t.steps.grad_nonfinite.copy()
    for name in ("0.weight", "2.weight"):
        bad[12:, col(t, name)] = 5
    f = find(replace_steps(t, grad_nonfinite=bad), "non_finite")
    assert f.evidence.onset_step == 12
    assert f.evidence.details["first_in"] == "backward"
    assert f.evidence.modules == ("2",)


def test_a_loss_origin_with_widely_spread_outputs_says_so():
    # logits of unscaled inputs: std 28 at the last layer; log(softmax) underflows to log(0)
    t = _nan_from(synthetic_trace(num_steps=30), 0)
    std = t.steps.act_std.copy()
    std[0, mod(t, "4")] = 28.0
    f = find(replace_steps(t, act_std=std), "non_finite")
    assert "4 (Linear)" in f.summary and "std 28" in f.summary


def test_a_loss_origin_with_ordinary_outputs_does_not_blame_their_spread():
    f = find(_nan_from(synthetic_trace(num_steps=30), 0), "non_finite")
    assert "std" not in f.summary
