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
