import numpy as np

from analysis.detectors import exploding_gradients as ex
from tests.analysis.helpers import find, replace_steps, synthetic_trace


def _grow(factor: float, rows: list[int], *, n: int = 40, nan_after: int | None = None):
    t = synthetic_trace(num_steps=n)
    fresh = t.steps.fresh_grad_norm.copy()
    base = np.median(fresh[:4], axis=0)
    for r in rows:
        fresh[r] = base * factor
    if nan_after is not None:
        fresh[nan_after:] = np.nan
    return replace_steps(t, fresh_grad_norm=fresh)


def test_growth_over_threshold_on_two_rows_explodes():
    f = find(_grow(ex.GROWTH_THRESHOLD * 1.5, [30, 31]), "exploding_gradients")
    assert f is not None
    assert f.evidence.onset_step == 30


def test_growth_under_threshold_does_not():
    assert (
        find(_grow(ex.GROWTH_THRESHOLD * 0.5, list(range(20, 40))), "exploding_gradients") is None
    )


def test_one_spike_that_recovers_is_not_exploding():
    assert find(_grow(1e6, [25]), "exploding_gradients") is None


def test_one_spike_then_nan_is_exploding():
    f = find(_grow(1e6, [25], nan_after=26), "exploding_gradients")
    assert f is not None
    assert f.evidence.details["became_non_finite"]


def test_gradient_far_larger_than_the_weights_from_the_first_step_explodes():
    t = synthetic_trace(num_steps=20)
    fresh = (t.steps.weight_norm * ex.GRAD_WEIGHT_RATIO * 3).astype(np.float32)
    fresh[2:] = np.nan  # then NaN: no sane baseline ever existed
    f = find(replace_steps(t, fresh_grad_norm=fresh), "exploding_gradients")
    assert f is not None
    assert f.evidence.statistic.startswith("total gradient norm / total weight norm")


def test_gradients_growing_toward_the_input_explode():
    t = synthetic_trace(
        num_steps=30,
        layer_sizes=(8, 16, 16, 16, 2),
        grad_scale=(ex.SPATIAL_THRESHOLD * 2, 1.0, 1.0, 1.0),
    )
    f = find(t, "exploding_gradients")
    assert f is not None and f.evidence.comparison == ">"


# ---- size and growth (engine 1.5.0) ---------------------------------------------------------


def _blow_up(size: float, growth: float, *, layers=(8, 16, 16, 16, 16, 2), n=30, onset=0, **kw):
    """Every layer's gradient ``size`` times its weights from row ``onset``, the biases' gradient
    RMS growing ``growth``-fold per layer from the output back; healthy (0.05, level) before."""
    t = synthetic_trace(num_steps=n, layer_sizes=layers, **kw)
    fresh = t.steps.fresh_grad_norm.astype(np.float64)
    w = t.steps.weight_norm.astype(np.float64)
    biases = [i for i, p in enumerate(t.params) if p.name.endswith("bias")]
    for i, p in enumerate(t.params):
        if p.name.endswith("weight"):
            fresh[:, i] = 0.05 * w[:, i]
            fresh[onset:, i] = size * w[onset:, i]
    for k, i in enumerate(biases):
        root = np.sqrt(t.params[i].shape[0])
        fresh[:, i] = 0.05 * root
        fresh[onset:, i] = growth ** (len(biases) - 1 - k) * root
    return replace_steps(t, fresh_grad_norm=fresh.astype(np.float32))


def _size_finding(trace):
    f = find(trace, "exploding_gradients")
    return f if f is not None and f.evidence.threshold == ex.SIZE_RATIO else None


def test_gradients_just_above_the_weights_and_growing_per_layer_explode():
    f = _size_finding(_blow_up(ex.SIZE_RATIO * 1.2, ex.GROWTH_PER_LAYER * 1.1))
    assert f is not None
    assert f.evidence.onset_step == 0
    assert f.evidence.details["from_first_step"]
    assert abs(f.evidence.details["growth_per_layer"] - ex.GROWTH_PER_LAYER * 1.1) < 1e-3
    each = f.evidence.details["growth_each_layer_input_to_output"]
    assert len(each) == 4 and all(abs(g - ex.GROWTH_PER_LAYER * 1.1) < 1e-3 for g in each)
    assert "model.0 (Linear)" in f.summary and "model.8 (Linear)" in f.summary
    assert "kaiming_normal_" in f.fix.code  # from the first step: the init


def test_an_init_blow_up_in_a_tanh_net_is_fixed_with_xavier_and_the_tanh_gain_not_he():
    f = _size_finding(_blow_up(ex.SIZE_RATIO * 1.2, ex.GROWTH_PER_LAYER * 1.1, activation="tanh"))
    assert f is not None and f.evidence.details["from_first_step"]
    assert "xavier_uniform_" in f.fix.code and "calculate_gain('tanh')" in f.fix.code
    assert "kaiming" not in f.fix.code


def test_gradients_just_below_the_weights_do_not():
    assert _size_finding(_blow_up(ex.SIZE_RATIO * 0.8, ex.GROWTH_PER_LAYER * 3)) is None


def test_growth_just_below_the_threshold_does_not():
    # The loss's scale: large in every layer, level across depth.
    assert _size_finding(_blow_up(ex.SIZE_RATIO * 30, ex.GROWTH_PER_LAYER * 0.9)) is None


def test_growth_over_too_few_layers_does_not_count():
    shallow = _blow_up(ex.SIZE_RATIO * 30, 10.0, layers=(8, 16, 16, 2))  # 2 successive ratios
    assert _size_finding(shallow) is None


def test_a_later_blow_up_with_small_updates_is_clipped_not_reinitialised():
    f = _size_finding(_blow_up(ex.SIZE_RATIO * 5, ex.GROWTH_PER_LAYER * 2, onset=10))
    assert f is not None and f.evidence.onset_step == 10
    assert "clip_grad_norm_" in f.fix.code and "kaiming" not in f.fix.code


def test_a_later_blow_up_with_large_updates_points_to_the_learning_rate():
    t = _blow_up(ex.SIZE_RATIO * 5, ex.GROWTH_PER_LAYER * 2, onset=10)
    upd = (t.steps.weight_norm * ex.HIGH_UPDATE_RATIO * 2).astype(np.float32)
    f = _size_finding(replace_steps(t, update_norm=upd))
    assert f is not None and "lower the learning rate" in f.fix.text


def test_a_gradient_far_above_the_weights_with_a_falling_loss_and_no_growth_is_the_loss_scale():
    # Adam on unscaled regression targets: huge gradients, sane steps, the loss falls.
    t = _blow_up(ex.GRAD_WEIGHT_RATIO * 3, 1.0)
    assert find(t, "exploding_gradients") is None
    flat = _blow_up(ex.GRAD_WEIGHT_RATIO * 3, 1.0, loss_start=2.3, loss_end=2.25)
    f = find(flat, "exploding_gradients")
    assert f is not None and f.evidence.threshold == ex.GRAD_WEIGHT_RATIO


def _converged_then_noise(jump_to: float):
    """A run that fits its data: the gradient falls from its early scale (~0.1 per layer) to
    1e-7 with the loss at 1e-9; then one batch's gradient and loss jump by four decades."""
    t = synthetic_trace(num_steps=60, loss_start=1.4, loss_end=1e-9)
    s = t.steps
    fresh = s.fresh_grad_norm.astype(np.float64).copy()
    scale = np.geomspace(1.0, 1e-8, 60)[:, None]
    fresh *= scale
    fresh[40] = fresh[39] * jump_to
    loss = s.loss.astype(np.float64).copy()
    loss[30:] = 1e-9
    loss[40] = 1e-5
    return replace_steps(t, fresh_grad_norm=fresh.astype(np.float32), grad_norm=fresh, loss=loss)


def test_a_converged_run_whose_tiny_gradient_jumps_but_stays_far_below_its_early_scale_is_not_exploding():
    # Near zero loss the cross-entropy gradient scales with the loss: one batch moves both by
    # decades while the gradient stays 1e-3 of where training started (a blind check's false
    # alarm: a CNN that had fitted its quadrant task).
    assert find(_converged_then_noise(1e4), "exploding_gradients") is None


def test_a_jump_to_far_above_the_early_scale_confirmed_by_the_loss_still_explodes():
    t = _converged_then_noise(1e10)  # lands ~1e3x above the first steps' norm
    loss = t.steps.loss.astype(np.float64).copy()
    loss[40] = 1e3
    assert find(replace_steps(t, loss=loss), "exploding_gradients") is not None
