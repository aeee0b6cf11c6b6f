"""vanishing_gradients from a collapsed forward signal (engine 1.2.0): a too-small init shrinks
every hidden layer's output std, every weight gradient with it, and training stalls. The
first/last gradient ratio stays level, so the rule reads the activation statistics."""

import dataclasses

import numpy as np

from analysis.detectors import _signal_collapse as sc
from analysis.detectors._signal import forward_signal
from analysis.detectors._view import TraceView
from tests.analysis.helpers import codes, find, mod, replace_steps, synthetic_trace, with_modules

SIZES = (16, 64, 64, 64, 64, 64, 64, 3)  # 6 hidden Linear layers + the head
LINEAR = ("0", "2", "4", "6", "8", "10")  # hidden Linear paths (the head is "12")
ROWS = 50


def _collapsed(per_layer: float, *, rows=ROWS, healthy_from=None, loss_end=1.1, lr=1e-6):
    """Each hidden Linear's output std is per_layer x the previous one's (tanh net), the
    loss flat at ln 3 unless loss_end says otherwise, SGD at a tiny effective step."""
    t = synthetic_trace(
        num_steps=rows,
        layer_sizes=SIZES,
        activation="tanh",
        loss_start=1.1,
        loss_end=loss_end,
        lr=lr,
    )
    std = t.steps.act_std.copy()
    for k, path in enumerate(LINEAR):
        std[:, mod(t, path)] = 0.6 * per_layer**k
        std[:, mod(t, str(int(path) + 1))] = 0.6 * per_layer**k  # tanh ~ identity near 0
        if healthy_from is not None:
            std[healthy_from:, mod(t, path)] = 0.6
            std[healthy_from:, mod(t, str(int(path) + 1))] = 0.5
    return replace_steps(t, act_std=std)


def _per_layer_for(total: float) -> float:
    return total ** (1 / (len(LINEAR) - 1))


def test_collapse_below_the_threshold_with_a_stalled_loss_is_vanishing_from_the_init():
    t = _collapsed(_per_layer_for(sc.COLLAPSE_RATIO * 0.5))
    f = find(t, "vanishing_gradients")
    assert f is not None
    assert f.evidence.value < sc.COLLAPSE_RATIO
    assert f.evidence.threshold == sc.COLLAPSE_RATIO
    assert f.evidence.onset_step == 0
    assert "initialis" in f.evidence.details["likely_causes"][0]
    assert "xavier" in f.fix.code.lower()
    assert "weight-initialization" in f.glossary
    # The tiny updates are the init's doing: no "raise the learning rate" advice.
    assert "lr_too_low" not in codes(t)


def test_collapse_just_above_the_threshold_is_not():
    t = _collapsed(_per_layer_for(sc.COLLAPSE_RATIO * 2))
    assert find(t, "vanishing_gradients") is None


def test_the_collapsed_layers_and_per_layer_gain_are_named():
    per_layer = 0.16
    f = find(_collapsed(per_layer), "vanishing_gradients")
    assert f.evidence.modules == LINEAR
    assert np.isclose(f.evidence.details["per_layer_factor"], per_layer, rtol=1e-3)
    assert "0.16" in f.summary


def test_a_collapse_that_training_escapes_is_not_vanishing():
    # Adam-like: the loss falls (the collapse is the hard negative's start, not a stall).
    t = _collapsed(0.16, loss_end=0.3, lr=0.01)
    assert find(t, "vanishing_gradients") is None


def test_a_collapse_that_heals_is_not_vanishing():
    t = _collapsed(0.16, healthy_from=10)
    assert find(t, "vanishing_gradients") is None


def test_a_normalisation_layer_restores_the_scale():
    # A LayerNorm after every tanh: each Linear's output is compared only with itself.
    t = _collapsed(0.16)
    modules = list(t.modules)
    for path in LINEAR[:-1]:
        act = modules[mod(t, str(int(path) + 1))]
        modules[mod(t, str(int(path) + 1))] = dataclasses.replace(
            act, type="LayerNorm", activation=None
        )
    t = with_modules(t, modules)
    sig = forward_signal(TraceView(t), 0)
    assert np.all(sig.drawdown == 1.0)
    assert find(t, "vanishing_gradients") is None


def test_healthy_default_statistics_have_no_collapse():
    t = synthetic_trace(num_steps=ROWS, layer_sizes=SIZES, activation="tanh")
    sig = forward_signal(TraceView(t), 0)
    assert np.all(sig.drawdown > sc.COLLAPSE_RATIO)
    assert find(t, "vanishing_gradients") is None


def test_modules_without_statistics_are_left_out():
    t = _collapsed(0.16)
    std = t.steps.act_std.copy()
    std[:, mod(t, "4")] = np.nan  # e.g. a non-leaf module
    sig = forward_signal(TraceView(replace_steps(t, act_std=std)), 0)
    assert "4" not in [layer.module for layer in sig.layers]
    assert len(sig.layers) == len(LINEAR) - 1


def test_a_collapse_over_the_first_half_with_the_top_creeping_back_is_vanishing():
    # Collapsed for 60 % of the run, then just over the threshold (the last layers learn
    # first), the loss flat throughout.
    t = _collapsed(_per_layer_for(sc.COLLAPSE_RATIO * 0.1))
    just_over = _collapsed(_per_layer_for(sc.COLLAPSE_RATIO * 1.5))
    std = t.steps.act_std.copy()
    std[30:] = just_over.steps.act_std[30:]
    f = find(replace_steps(t, act_std=std), "vanishing_gradients")
    assert f is not None
    assert "first half" in f.evidence.statistic
    assert f.evidence.value < sc.COLLAPSE_RATIO


def test_a_first_half_collapse_whose_run_median_is_not_far_gone_is_not():
    t = _collapsed(_per_layer_for(sc.COLLAPSE_RATIO * 0.1))
    milder = _collapsed(_per_layer_for(sc.COLLAPSE_RUN_CEILING * 2))
    std = t.steps.act_std.copy()
    std[22:] = milder.steps.act_std[22:]  # 28 of 50 rows above the run ceiling
    assert find(replace_steps(t, act_std=std), "vanishing_gradients") is None


def test_a_collapse_after_a_huge_update_names_the_learning_rate():
    t = _collapsed(0.16)
    healthy = _collapsed(1.0)
    std = t.steps.act_std.copy()
    std[:10] = healthy.steps.act_std[:10]  # healthy until the blow-up at row 8
    upd = t.steps.update_norm.copy()
    upd[8] = t.steps.weight_norm[8] * 0.5
    f = find(replace_steps(t, act_std=std, update_norm=upd), "vanishing_gradients")
    assert f.evidence.onset_step == 10
    assert "learning rate" in f.evidence.details["likely_causes"][0]
    assert "after a large update" in f.title


def test_dead_relus_past_a_collapse_are_blamed_on_it():
    t = synthetic_trace(
        num_steps=ROWS, layer_sizes=SIZES, activation="relu", loss_start=1.1, loss_end=1.1
    )
    std, dead = t.steps.act_std.copy(), t.steps.act_dead_frac.copy()
    for k, path in enumerate(LINEAR):
        std[:, mod(t, path)] = 0.6 * 0.2**k
    dead[:, mod(t, "11")] = 0.7  # the last hidden ReLU
    t = replace_steps(t, act_std=std, act_dead_frac=dead)
    f = find(t, "dead_relu")
    assert "collapsed" in f.evidence.details["likely_cause"]
    assert "never recovers" not in f.summary
    assert find(t, "vanishing_gradients") is not None


def test_dead_relus_without_a_collapse_keep_their_own_cause():
    t = synthetic_trace(num_steps=ROWS, layer_sizes=SIZES, activation="relu")
    dead = t.steps.act_dead_frac.copy()
    dead[:, mod(t, "11")] = 0.7
    f = find(replace_steps(t, act_dead_frac=dead), "dead_relu")
    assert "collapsed" not in f.evidence.details["likely_cause"]
    assert "never recovers" in f.summary
