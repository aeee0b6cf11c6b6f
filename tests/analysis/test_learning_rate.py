import re

import numpy as np

from analysis.detectors import lr_too_high as hi
from analysis.detectors import lr_too_low as lo
from tests.analysis.helpers import codes, find, replace_steps, synthetic_trace

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
