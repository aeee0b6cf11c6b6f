import dataclasses
import re

import numpy as np

from analysis.detectors import lr_too_high as hi
from analysis.detectors import lr_too_low as lo
from analysis.detectors._view import TraceView
from tests.analysis.helpers import codes, find, replace_steps, synthetic_trace
from traces.model import GroupInfo

N = 40


def _run(ratio: float, loss: np.ndarray | None, **kw):
    t = synthetic_trace(num_steps=N, **kw)
    upd = (t.steps.weight_norm * ratio).astype(np.float32)
    arrays = {"update_norm": upd}
    if loss is not None:
        arrays["loss"] = loss
    return replace_steps(t, **arrays)


FLAT = np.full(N, 1.0) + np.random.default_rng(0).normal(0, 0.005, N)
FALLING = np.linspace(2.0, 0.5, N)
UNSEEN = np.full(N, np.nan)


def test_large_updates_with_a_flat_loss_are_lr_too_high():
    f = find(_run(hi.HIGH_RATIO * 1.5, FLAT), "lr_too_high")
    assert f is not None and f.severity.value == "warning"


def test_large_updates_while_the_loss_falls_are_fine():
    assert "lr_too_high" not in codes(_run(hi.HIGH_RATIO * 1.5, FALLING))


def test_updates_below_the_high_ratio_are_fine_even_with_a_flat_loss():
    assert "lr_too_high" not in codes(_run(hi.HIGH_RATIO * 0.7, FLAT))


def test_a_loss_that_blew_up_and_came_back_is_divergence():
    loss = np.full(N, 0.7)
    loss[5:8] = 1e6
    f = find(_run(0.5, loss), "lr_too_high")
    assert f.severity.value == "error"
    assert "blew up" in f.summary


def test_without_a_loss_only_very_large_updates_count():
    assert "lr_too_high" not in codes(_run(hi.HIGH_RATIO * 1.5, UNSEEN))
    assert "lr_too_high" in codes(_run(hi.HIGH_RATIO_NO_LOSS * 1.5, UNSEEN))


def test_tiny_updates_with_a_flat_loss_are_lr_too_low():
    f = find(_run(lo.LOW_RATIO * 0.5, FLAT), "lr_too_low")
    assert f is not None
    assert "larger" in f.evidence.counterfactual


def test_tiny_updates_while_the_loss_falls_are_fine():
    assert "lr_too_low" not in codes(_run(lo.LOW_RATIO * 0.5, FALLING))


def test_updates_just_above_the_low_ratio_are_fine():
    assert "lr_too_low" not in codes(_run(lo.LOW_RATIO * 2, FLAT))


def test_without_a_loss_only_extremely_small_updates_count():
    assert "lr_too_low" not in codes(_run(lo.LOW_RATIO * 0.5, UNSEEN))
    assert "lr_too_low" in codes(_run(lo.LOW_RATIO_NO_LOSS * 0.5, UNSEEN))


def test_adam_scale_invariance_gradient_size_does_not_matter():
    # Same applied update, gradients 1000x larger: the verdict depends on the update only.
    t = _run(lo.LOW_RATIO * 0.5, FLAT)
    big = replace_steps(
        t, grad_norm=t.steps.grad_norm * 1000, fresh_grad_norm=t.steps.fresh_grad_norm * 1000
    )
    assert "lr_too_low" in codes(big)


def test_group_with_learning_rate_zero_is_a_freeze_not_a_low_rate():
    t = synthetic_trace(num_steps=N)
    t = replace_steps(
        t, lr=np.zeros_like(t.steps.lr), update_norm=np.zeros_like(t.steps.update_norm), loss=FLAT
    )
    assert codes(t) == []


def test_loss_spike_edge_decides_divergence_when_the_loss_ends_lower():
    falling = np.linspace(1.0, 0.5, N)
    below, above = falling.copy(), falling.copy()
    below[3] = hi.LOSS_SPIKE * 0.9
    above[3] = hi.LOSS_SPIKE * 1.1
    assert "lr_too_high" not in codes(_run(0.5, below))
    assert find(_run(0.5, above), "lr_too_high").severity.value == "error"


def test_small_updates_during_a_warm_up_still_in_progress_are_not_lr_too_low():
    t = _run(lo.LOW_RATIO * 0.5, FLAT)
    lr = np.linspace(1e-5, 1e-3, N)[:, None]
    assert "lr_too_low" not in codes(replace_steps(t, lr=lr))


def _factors(text: str) -> set[float]:
    return {float(x) for x in re.findall(r"(?:about|by about) ([0-9.e+]+)x?", text)}


def test_lr_too_high_gives_one_reduction_factor_in_its_evidence_and_its_fix():
    # Adam at lr=5: one number, derived once, in the counterfactual and in the fix
    f = find(_run(0.259, FLAT), "lr_too_high")
    said = _factors(f.evidence.counterfactual) | _factors(f.fix.text)
    assert len(said) == 1, (f.evidence.counterfactual, f.fix.text)
    assert said == {round(0.259 / hi.TARGET_RATIO, 0)}


def test_an_early_blow_up_gives_one_reduction_factor_too():
    loss = np.full(N, 2.0)
    loss[2:] = 1e4  # the loss blows up right after a huge first step, the net dies after it
    t = _run(0.0, loss)
    upd = t.steps.update_norm.copy()
    upd[0] = t.steps.weight_norm[0] * 0.5
    f = find(replace_steps(t, update_norm=upd), "lr_too_high")
    said = _factors(f.evidence.counterfactual) | _factors(f.fix.text)
    assert len(said) == 1, (f.evidence.counterfactual, f.fix.text)


def _only_last_bias_graded(t):
    # negative-bias ReLUs dead from the start: every gradient is exactly 0 except the output
    # layer's bias, whose small update says nothing about the learning rate
    grad, fresh, upd = (
        t.steps.grad_norm.copy(),
        t.steps.fresh_grad_norm.copy(),
        t.steps.update_norm.copy(),
    )
    keep = [p.name for p in t.params].index("4.bias")
    for a in (grad, fresh, upd):
        a[:, [i for i in range(len(t.params)) if i != keep]] = 0.0
    return replace_steps(t, grad_norm=grad, fresh_grad_norm=fresh, update_norm=upd)


def test_tiny_updates_where_almost_no_gradient_arrives_are_not_lr_too_low():
    t = _only_last_bias_graded(_run(lo.LOW_RATIO * 0.5, FLAT))
    assert "lr_too_low" not in codes(t)


def test_tiny_updates_with_most_of_the_model_graded_are_still_lr_too_low():
    t = _run(lo.LOW_RATIO * 0.5, FLAT)
    grad, fresh = t.steps.grad_norm.copy(), t.steps.fresh_grad_norm.copy()
    first = [p.name for p in t.params].index("0.bias")  # one small vector without gradient
    grad[:, first] = fresh[:, first] = 0.0
    assert "lr_too_low" in codes(replace_steps(t, grad_norm=grad, fresh_grad_norm=fresh))


# ---- Adam-family first steps that rewrite the weights (engine 1.7.0) -----------------------
ADAM_GROUP = GroupInfo(optimizer=0, hyperparams={"betas": [0.9, 0.999], "eps": 1e-8})


def _adam_rewrite(first_ratio: float, growth: float, *, optimizer: str = "Adam", init=1.0):
    """An Adam run whose first REWRITE_ROWS steps move every weight matrix by ``first_ratio``
    of its size, then by a ratio falling to 0.02 while the weights grow ``growth``-fold and the
    loss falls. ``init`` scales the weights at the start (a tiny init: 0.01)."""
    t = synthetic_trace(num_steps=N, optimizer=optimizer)
    if optimizer == "Adam":
        t = dataclasses.replace(t, groups=(ADAM_GROUP,))
    ratio = np.full(N, 0.02)
    ratio[: hi.REWRITE_ROWS] = first_ratio
    scale = np.geomspace(1.0, growth, N)[:, None]
    w = (t.steps.weight_norm[:1] * init * scale).astype(np.float32)
    return replace_steps(t, weight_norm=w, update_norm=w * ratio[:, None], loss=FALLING)


def test_adam_first_steps_that_rewrite_the_weights_are_lr_too_high_though_the_loss_falls():
    f = find(_adam_rewrite(hi.REWRITE_RATIO * 1.5, hi.REWRITE_GROWTH * 2), "lr_too_high")
    assert f is not None and f.severity.value == "warning"
    assert f.evidence.details["weight_growth"] >= hi.REWRITE_GROWTH * 2 * 0.99
    assert "overwritten" in f.summary and "loss still fell" in f.summary


def test_adam_first_steps_just_below_the_rewrite_ratio_are_fine():
    t = _adam_rewrite(hi.REWRITE_RATIO * 0.9, hi.REWRITE_GROWTH * 2)
    assert "lr_too_high" not in codes(t)


def test_adam_first_steps_whose_weights_did_not_grow_are_fine():
    t = _adam_rewrite(hi.REWRITE_RATIO * 1.5, hi.REWRITE_GROWTH * 0.9)
    assert "lr_too_high" not in codes(t)


def test_large_first_steps_of_sgd_with_a_falling_loss_are_fine():
    # SGD's step shrinks with its gradient: a large start says nothing about a rewrite
    t = _adam_rewrite(hi.REWRITE_RATIO * 1.5, hi.REWRITE_GROWTH * 2, optimizer="SGD")
    assert "lr_too_high" not in codes(t)


def test_adam_growing_weights_that_started_tiny_are_not_lr_too_high():
    # N(0, tiny) weights growing into their size under Adam: the init's choice, not the rate's
    t = _adam_rewrite(hi.REWRITE_RATIO * 3, hi.REWRITE_GROWTH * 5, init=0.1)
    assert "lr_too_high" not in codes(t)


def test_adam_rewrite_advice_aims_at_the_first_steps_healthy_ratio():
    f = find(_adam_rewrite(0.6, 10.0), "lr_too_high")
    said = _factors(f.evidence.counterfactual) | _factors(f.fix.text)
    assert said == {0.6 / hi.FIRST_STEPS_RATIO}, (f.evidence.counterfactual, f.fix.text)


# ---- a loss that "falls" within its noise while the weights stayed put (engine 1.7.0) -------
def _still(ratio: float, loss: np.ndarray, steps: int = N):
    t = synthetic_trace(num_steps=steps)
    return replace_steps(t, update_norm=(t.steps.weight_norm * ratio).astype(np.float32), loss=loss)


def _noisy_fall(n: int = N) -> np.ndarray:
    loss = np.random.default_rng(3).normal(4.0, 1.0, n).clip(1.0)
    loss[: max(2, n // 10)] = 4.6  # a start 15 % above the noise's centre
    return loss


def test_a_loss_falling_within_its_noise_while_the_weights_stayed_put_is_lr_too_low():
    t = _still(lo.LOW_RATIO * 0.1, _noisy_fall())
    trend = TraceView(t).loss_trend(np.arange(N))
    assert trend.rel_drop >= lo.LOSS_FLAT and trend.within_noise(lo.NOISE_Z)  # the setting
    f = find(t, "lr_too_low")
    assert f is not None and "batch-to-batch noise" in f.summary


def test_a_noisy_loss_is_not_flat_when_the_weights_moved_over_the_run():
    # the same per-step ratio, but over enough steps that the weights travelled STILL_TOTAL
    steps = int(lo.STILL_TOTAL / (lo.LOW_RATIO * 0.9)) + 10
    t = _still(lo.LOW_RATIO * 0.9, _noisy_fall(steps), steps=steps)
    assert "lr_too_low" not in codes(t)


def test_a_clear_fall_with_still_weights_is_not_lr_too_low():
    # a fall far beyond the loss's noise is learning, however little the weights moved
    t = _still(lo.LOW_RATIO * 0.1, FALLING)
    assert "lr_too_low" not in codes(t)
