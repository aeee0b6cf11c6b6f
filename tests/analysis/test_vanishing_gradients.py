import numpy as np

from analysis.detectors import vanishing_gradients as vg
from tests.analysis.helpers import col, find, replace_steps, synthetic_trace

SIZES = (16, 32, 32, 32, 32, 4)  # 5 Linear layers: 4 hidden + the head


def _trace(first_over_last: float, *, from_row: int = 0, rows: int = 50, activation="relu"):
    t = synthetic_trace(num_steps=rows, layer_sizes=SIZES, activation=activation)
    fresh = t.steps.fresh_grad_norm.copy()
    last_hidden = col(t, "6.weight")
    first = col(t, "0.weight")
    # Geometric decay from the last hidden layer back to the first.
    for k, name in enumerate(("4.weight", "2.weight", "0.weight")):
        factor = first_over_last ** ((k + 1) / 3)
        fresh[from_row:, col(t, name)] = fresh[from_row:, last_hidden] * factor
    assert np.allclose(
        fresh[from_row:, first] / fresh[from_row:, last_hidden], first_over_last, rtol=1e-3
    )
    return replace_steps(t, fresh_grad_norm=fresh, grad_norm=fresh)


def test_ratio_just_below_threshold_is_vanishing():
    f = find(_trace(vg.RATIO_THRESHOLD * 0.9), "vanishing_gradients")
    assert f is not None
    assert f.evidence.value < vg.RATIO_THRESHOLD
    assert f.evidence.onset_step == 0


def test_ratio_just_above_threshold_is_not():
    assert find(_trace(vg.RATIO_THRESHOLD * 1.1), "vanishing_gradients") is None


def test_onset_step_is_where_the_decay_starts_and_persists():
    f = find(_trace(1e-6, from_row=20), "vanishing_gradients")
    assert f.evidence.onset_step == 20


def test_a_few_bad_batches_are_not_vanishing():
    t = _trace(1e-6, from_row=46)  # 4 rows of 50: less than the persistence minimum share
    assert find(t, "vanishing_gradients") is None


def test_affected_layers_are_named_and_the_head_is_left_out():
    f = find(_trace(1e-6), "vanishing_gradients")
    assert "0" in f.evidence.modules and "2" in f.evidence.modules
    layers = [row["module"] for row in f.evidence.details["layers"]]
    assert "8" not in layers  # the output head
    assert f.severity.value == "error"


def test_sigmoid_is_named_as_the_likely_cause():
    f = find(_trace(1e-5, activation="sigmoid"), "vanishing_gradients")
    assert "sigmoid" in f.evidence.details["likely_causes"][0]
    assert "sigmoid" in f.glossary


def test_two_layer_net_has_no_depth_to_vanish_across():
    t = synthetic_trace(num_steps=30, layer_sizes=(8, 16, 4), grad_scale=(1e-9, 1.0))
    assert find(t, "vanishing_gradients") is None
