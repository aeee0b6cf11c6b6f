"""Edges of the rules added after the lead's held-out check (engine 1.1.0): vanishing over the
first half of a run, learning-rate text when updates vanish below float32 precision, a blow-up
in the first steps followed by a dead net, and a gradient norm that overflows float32."""

import numpy as np

from analysis.detectors import exploding_gradients as eg
from analysis.detectors import lr_too_high as lh
from analysis.detectors import vanishing_gradients as vg
from tests.analysis.helpers import codes, col, find, replace_steps, synthetic_trace

SIZES = (16, 32, 32, 32, 32, 4)  # 4 hidden Linear layers + the head
ROWS = 60
WEIGHTS = ("0.weight", "2.weight", "4.weight", "6.weight", "8.weight")


def _vanishing(ratio_per_row: np.ndarray, *, activation="sigmoid"):
    """First/last hidden-layer ratio given per row, decaying geometrically across layers."""
    t = synthetic_trace(num_steps=ratio_per_row.size, layer_sizes=SIZES, activation=activation)
    fresh = t.steps.fresh_grad_norm.copy()
    last = fresh[:, col(t, "6.weight")].copy()
    for k, name in enumerate(("4.weight", "2.weight", "0.weight")):
        fresh[:, col(t, name)] = last * ratio_per_row ** ((k + 1) / 3)
    return replace_steps(t, fresh_grad_norm=fresh, grad_norm=fresh)


def _split(first: float, then: float, *, first_rows: int) -> np.ndarray:
    r = np.full(ROWS, then)
    r[:first_rows] = first
    return r


# ---- vanishing over the first half --------------------------------------------------------


def test_vanishing_for_the_first_half_then_creeping_just_over_the_threshold_is_vanishing():
    ratio = _split(1e-7, vg.RATIO_THRESHOLD * 1.3, first_rows=ROWS // 2 + 5)
    f = find(_vanishing(ratio), "vanishing_gradients")
    assert f is not None
    assert f.evidence.onset_step == 0
    assert f.evidence.threshold == vg.EARLY_RATIO_THRESHOLD
    assert f.evidence.value < vg.EARLY_RATIO_THRESHOLD
    assert "first half" in f.evidence.statistic


def _top_fits_the_mean(*, vanished_rows: int, loss_end: float):
    """A deep net vanishing from step 0 whose output layer fits the mean in ``vanished_rows``
    rows: from then on every gradient sits at the float floor (the first layer's all along), so
    the first/last ratio climbs to ~0.1 while nothing below the top ever learnt."""
    t = synthetic_trace(num_steps=ROWS, layer_sizes=SIZES, loss_start=0.69, loss_end=loss_end)
    fresh = t.steps.fresh_grad_norm.copy()
    floor = 2e-9
    top = np.full(ROWS, floor * 10)
    top[:vanished_rows] = np.geomspace(3e-2, 3e-4, vanished_rows)
    fresh[:, col(t, "6.weight")] = top
    for k, name in enumerate(("4.weight", "2.weight", "0.weight")):
        fresh[:, col(t, name)] = np.maximum(top * 1e-3 ** (k + 1), floor)
    return replace_steps(t, fresh_grad_norm=fresh, grad_norm=fresh)


def test_vanishing_stays_vanishing_when_the_top_layer_then_fits_the_mean_and_the_loss_stalls():
    # 8 of 60 rows vanished, then all gradients at the floor: a long full-batch run of a deep
    # sigmoid net. The ratio over the run is ~0.1, but only the top ever had a gradient.
    t = _top_fits_the_mean(vanished_rows=8, loss_end=0.69)
    f = find(t, "vanishing_gradients")
    assert f is not None and f.evidence.onset_step == 0
    assert f.evidence.value < vg.EARLY_RATIO_THRESHOLD
    assert "lr_too_low" not in codes(t)  # raising the LR does not give the first layers a gradient


def test_a_top_layer_fitting_the_mean_while_the_loss_falls_is_not_vanishing():
    assert find(_top_fits_the_mean(vanished_rows=8, loss_end=0.2), "vanishing_gradients") is None


def test_first_half_median_just_above_the_early_threshold_is_not_vanishing():
    ratio = _split(vg.EARLY_RATIO_THRESHOLD * 1.5, vg.RATIO_THRESHOLD * 1.3, first_rows=ROWS // 2)
    assert find(_vanishing(ratio), "vanishing_gradients") is None


def test_a_net_that_recovers_to_healthy_ratios_is_not_vanishing():
    # Under the threshold for the first half, then healthy: the run's median is healthy.
    ratio = _split(1e-7, 0.5, first_rows=ROWS // 2)
    ratio[ROWS // 2 - 2 : ROWS // 2] = 0.5  # the healthy part is the majority of the run
    assert np.median(ratio) >= vg.RUN_RATIO_CEILING
    assert find(_vanishing(ratio), "vanishing_gradients") is None


def test_default_init_tanh_grey_zone_is_not_vanishing():
    ratio = np.full(ROWS, 0.1)
    assert find(_vanishing(ratio, activation="tanh"), "vanishing_gradients") is None


def test_layers_whose_updates_float32_absorbed_are_named_as_frozen():
    t = _vanishing(_split(1e-9, vg.RATIO_THRESHOLD * 1.3, first_rows=40))
    upd = t.steps.update_norm.copy()
    upd[:, col(t, "0.weight")] = 0.0
    f = find(replace_steps(t, update_norm=upd), "vanishing_gradients")
    assert f.evidence.details["frozen_layers"] == ["0"]
    assert "never changed" in f.summary


# ---- lr_too_low when updates vanish below float32 precision -------------------------------


def _flat_tiny_updates(zero_layers: tuple[str, ...], tiny: float):
    t = synthetic_trace(num_steps=ROWS, layer_sizes=SIZES, loss_start=0.69, loss_end=0.69)
    upd = t.steps.weight_norm.astype(np.float64) * tiny
    for name in zero_layers:
        upd[:, col(t, name)] = 0.0
    return replace_steps(t, update_norm=upd.astype(np.float32))


def test_lr_too_low_is_judged_on_the_layers_that_moved_and_never_prints_zero():
    t = _flat_tiny_updates(("0.weight", "2.weight", "4.weight"), 1e-7)
    f = find(t, "lr_too_low")
    assert f is not None
    assert "n/a" not in f.summary + f.fix.text + (f.evidence.counterfactual or "")
    assert "by only 0 " not in f.summary
    assert 5e-8 < f.evidence.value < 2e-7


def test_lr_too_low_with_no_layer_moving_says_so_without_a_ratio():
    t = _flat_tiny_updates(WEIGHTS, 1e-7)
    f = find(t, "lr_too_low")
    assert f is not None
    assert "unchanged" in f.summary
    assert "n/a" not in f.summary + f.fix.text + (f.evidence.counterfactual or "")


# ---- a blow-up in the first steps, then a dead net ------------------------------------------


def _blow_up(step0_ratio: float, *, loss_rise: float, grad_jump: float = 1.0):
    """Row 0 moves the weights by step0_ratio of their size; row 1's loss is loss_rise times
    row 0's and its gradient grad_jump times; from row 2 on every gradient and update is 0."""
    t = synthetic_trace(num_steps=ROWS, layer_sizes=SIZES, loss_start=50.0, loss_end=50.0)
    s = t.steps
    fresh = s.fresh_grad_norm.astype(np.float64).copy()
    upd = s.update_norm.astype(np.float64).copy()
    upd[0] = s.weight_norm[0] * step0_ratio
    fresh[1] = fresh[0] * grad_jump
    upd[1] = fresh[1] * 0.01
    fresh[2:] = 0.0
    upd[2:] = 0.0
    loss = s.loss.copy()
    loss[1:] = loss[0] * loss_rise
    f32 = np.float32
    return replace_steps(
        t,
        fresh_grad_norm=fresh.astype(f32),
        grad_norm=fresh.astype(f32),
        update_norm=upd.astype(f32),
        loss=loss,
    )


def test_huge_first_update_with_the_loss_blowing_up_is_lr_too_high_even_if_the_net_dies():
    f = find(_blow_up(10.0, loss_rise=1e6), "lr_too_high")
    assert f is not None
    assert f.severity.value == "error"
    assert f.evidence.onset_step == 0
    assert f.evidence.value >= lh.HIGH_RATIO


def test_first_update_just_under_the_threshold_is_not_a_blow_up():
    assert find(_blow_up(lh.HIGH_RATIO * 0.9, loss_rise=1e6), "lr_too_high") is None


def test_huge_first_update_without_a_loss_rise_or_gradient_jump_is_not_a_blow_up():
    t = _blow_up(10.0, loss_rise=lh.LOSS_SPIKE * 0.5, grad_jump=lh.GRAD_JUMP * 0.5)
    assert find(t, "lr_too_high") is None


def test_huge_first_update_confirmed_by_a_gradient_jump_alone_is_lr_too_high():
    t = _blow_up(10.0, loss_rise=1.0, grad_jump=lh.GRAD_JUMP * 2)
    assert find(t, "lr_too_high") is not None


def test_one_step_gradient_jump_confirmed_by_the_loss_is_exploding():
    t = _blow_up(10.0, loss_rise=eg.LOSS_CONFIRM * 2, grad_jump=eg.GROWTH_THRESHOLD * 10)
    f = find(t, "exploding_gradients")
    assert f is not None
    assert f.evidence.onset_step == 1
    assert "jumped" in f.summary


def test_one_step_gradient_jump_the_loss_does_not_confirm_is_not_exploding():
    t = _blow_up(0.001, loss_rise=1.0, grad_jump=eg.GROWTH_THRESHOLD * 10)
    assert find(t, "exploding_gradients") is None


# ---- a gradient norm that overflows float32 ------------------------------------------------


def _overflow(elements_finite: bool):
    t = synthetic_trace(num_steps=30, layer_sizes=SIZES)
    s = t.steps
    fresh = s.fresh_grad_norm.copy()
    nonfinite = s.grad_nonfinite.copy()
    weights = [col(t, n) for n in WEIGHTS]
    fresh[0, weights] = np.inf
    if not elements_finite:
        nonfinite[0, weights] = 3
    fresh[1:] = np.nan
    nonfinite[1:] = 1
    loss = s.loss.copy()
    loss[1:] = np.nan
    return replace_steps(
        t, fresh_grad_norm=fresh, grad_norm=fresh.copy(), grad_nonfinite=nonfinite, loss=loss
    )


def test_a_norm_overflowing_float32_with_finite_elements_is_exploding_and_dated_by_non_finite():
    t = _overflow(elements_finite=True)
    assert {"exploding_gradients", "non_finite"} <= set(codes(t))
    f = find(t, "exploding_gradients")
    assert f.evidence.onset_step == 0
    assert "overflowed float32" in f.summary
    nf = find(t, "non_finite")
    assert nf.evidence.onset_step == 0
    assert "overflowed" in nf.summary


def test_infinite_gradient_elements_are_non_finite_not_an_overflowing_norm():
    t = _overflow(elements_finite=False)
    f = find(t, "exploding_gradients")
    assert f is None or "overflowed float32" not in f.summary
    assert find(t, "non_finite").evidence.onset_step == 0
