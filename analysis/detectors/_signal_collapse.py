"""vanishing_gradients, second route: the forward signal collapses through depth.

When a too-small init makes every layer shrink its input, the std of the hidden layers' outputs
falls by orders of magnitude through depth and *every* weight gradient shrinks with it (delta x
activation: one of the two crosses the shrinking layers), so the first/last gradient ratio of
the first route stays level (~0.1) while training stalls. A persistent collapse with a stalled
run is vanishing gradients caused by the init, not a learning rate too low. ``_signal.py``
measures the signal (the per-row drawdown); this module judges it and writes the finding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.detectors import lr_too_low
from analysis.detectors._signal import Signal, deepest_fall, forward_signal
from analysis.detectors._updates import update_stats
from analysis.detectors._vanishing import (
    early_onset,
    fix_for,
    glossary_for,
    large_update_before,
    likely_causes,
)
from analysis.detectors._view import TraceView, fmt, margin_confidence, nanmedian, persistent_onset
from analysis.findings import Evidence, Finding, Severity

# The code of the detector this rule belongs to (vanishing_gradients.py, which imports this
# module, so the code is spelled here too).
CODE = "vanishing_gradients"

# Forward-signal collapse: the narrowest hidden layer's output std over the widest one before it
# (no normalisation layer between), below which the signal has collapsed through depth. "Orders
# of magnitude": three decades. Theory: PyTorch's default init with its biases bottoms out at
# >= 2e-2 of the first layer's std for fan_in up to 4096 (bias floor sqrt(1.2 / (3 fan_in))
# against ~0.58); Xavier/He keep ~1. Ours (`python -m tests.scenarios.report --stats`, column
# "collapse", run medians): healthy scenarios >= 0.35 (every row >= 0.27), non-vanishing bugs
# >= 1.4e-2 (saturated sigmoid, unnormalised pixels: a huge first layer), collapsed runs: N(0,
# 0.02) tanh 1.1e-4, zero-bias default-init ReLU 7.3e-4, 1e-3-scaled ReLU 4e-8.
COLLAPSE_RATIO = 1e-3
# ... an error from six decades on (vanishing_gradients.ERROR_RATIO's scale).
ERROR_COLLAPSE = 1e-6
# The last layers learn first and can lift the ratio back over COLLAPSE_RATIO while the rest
# stays collapsed (held2_relu_mlp_zero_bias_default_weights: 5e-5 at step 0, 9e-4 at step 59,
# the loss flat). So a median under COLLAPSE_RATIO over the first half also counts, provided
# the whole run's median stays under 1e-2: below the default-init floor (>= 2e-2) and a
# decade and more under every stalled run whose cause was the learning rate (0.32-0.45, ours).
COLLAPSE_RUN_CEILING = 1e-2
# A stalled run: the loss fell by less than lr_too_low's "flat" share (5 %), or, with no loss
# recorded, the updates are below its no-loss bound (1e-5): the symptom a collapse explains.
# A collapsed net whose loss still falls (Adam rescales the tiny gradients and the signal
# recovers, as in hard_deep_tanh_small_init_adam) is not reported.
STALL_LOSS_DROP = lr_too_low.LOSS_FLAT
STALL_UPDATE_NO_LOSS = lr_too_low.LOW_RATIO_NO_LOSS


@dataclass(frozen=True)
class Collapse:
    signal: Signal
    onset: int  # index into signal.rows
    value: float  # median drawdown over the window (from the onset on, or the first half)
    top: int  # layer index (into signal.layers) of the widest point before the fall
    bottom: int  # ... and of the narrowest point
    per_layer: float  # geometric mean gain per layer over the fall
    layer_std: np.ndarray  # median output std of each layer over the window
    first_half: bool  # judged over the first half of the run (the top layers crept back)


def signal_collapse(view: TraceView, actor: int) -> Collapse | None:
    """A forward-signal collapse that persists from an onset to the end of the run, or holds
    over the first half while the last layers creep back (they learn first)."""
    sig = forward_signal(view, actor)
    if sig is None:
        return None
    onset = persistent_onset(sig.drawdown < COLLAPSE_RATIO, view.rows_of(actor).size)
    window = slice(onset, None)
    if onset is None:
        onset, window = early_onset(
            sig.drawdown, COLLAPSE_RATIO, COLLAPSE_RATIO, COLLAPSE_RUN_CEILING
        )
        if onset is None:
            return None
    layer_std = nanmedian(sig.std[window], axis=0)
    # The span of the fall, read on the median profile (steadier than any one row).
    with np.errstate(divide="ignore", invalid="ignore"):
        _, top, bottom = deepest_fall(np.log(layer_std)[None, :], sig.segment)
    top, bottom = int(top[0]), int(bottom[0])
    value = float(np.median(sig.drawdown[window]))
    span = max(bottom - top, 1)
    return Collapse(
        signal=sig,
        onset=onset,
        value=value,
        top=top,
        bottom=bottom,
        per_layer=value ** (1.0 / span),
        layer_std=layer_std,
        first_half=window.stop is not None,
    )


def run_stall(view: TraceView, actor: int) -> str:
    """How the run stalled, in words ("" when it did not)."""
    st = update_stats(view, actor)
    if st is None:
        return ""
    if st.loss is not None:
        if st.loss.rel_drop >= STALL_LOSS_DROP:
            return ""
        return (
            f"the loss barely moved ({fmt(st.loss.first)} at the start, {fmt(st.loss.last)} "
            f"over the last quarter) and each step changed the weights by {fmt(st.typical)} of "
            "their size"
        )
    if not st.typical < STALL_UPDATE_NO_LOSS:
        return ""
    return f"each step changed the weights by only {fmt(st.typical)} of their size"


def collapse_finding(view: TraceView, actor: int, layers) -> Finding | None:
    collapse = signal_collapse(view, actor)
    if collapse is None:
        return None
    stall = run_stall(view, actor)
    if not stall:
        return None
    sig = collapse.signal
    onset_step = view.step_of(int(sig.rows[collapse.onset]))
    fallen = [layer.module for layer in sig.layers[collapse.top : collapse.bottom + 1]]
    causes, cause_facts = likely_causes(view, actor, layers, collapse, signal=False)
    blow_up = large_update_before(view, actor, onset_step)
    if blow_up:
        causes.insert(0, blow_up)
    cause_facts["after_large_update"] = bool(blow_up)
    top = view.describe(fallen[0])
    bottom = view.describe(fallen[-1])
    severity = Severity.ERROR if collapse.value < ERROR_COLLAPSE else Severity.WARNING
    summary = (
        f"From step {onset_step} on, the forward signal collapses through depth: each layer "
        f"from {top} to {bottom} multiplies the std of its input by about "
        f"{fmt(collapse.per_layer)}, so {bottom}'s output std is {fmt(collapse.value)} of "
        f"{top}'s. Every weight gradient shrinks with it (a gradient is the backward signal "
        "times the layer's input, and one of the two crosses the shrinking layers), so "
        f"{stall}. Likely cause: {causes[0]}. A larger learning rate would not help: the "
        "output barely depends on the input."
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        gains = np.r_[np.nan, collapse.layer_std[1:] / collapse.layer_std[:-1]]
    return Finding(
        code=CODE,
        severity=severity,
        title=(
            "Vanishing gradients: the forward signal collapsed after a large update"
            if blow_up
            else "Vanishing gradients: the forward signal collapses (initialisation)"
        ),
        summary=summary,
        evidence=Evidence(
            statistic=(
                f"median {'over the first half' if collapse.first_half else 'from the onset on'}"
                " of the narrowest hidden layer's output std over the widest one before it (no "
                "normalisation layer between)"
            ),
            value=collapse.value,
            threshold=COLLAPSE_RATIO,
            comparison="<",
            modules=tuple(fallen),
            steps=(onset_step,),
            onset_step=onset_step,
            counterfactual=(
                "with an init that keeps each layer's gain near 1 (Xavier for tanh, He for "
                "ReLU) the signal keeps its scale: healthy runs keep this ratio above 0.3 "
                "(our scenarios)"
            ),
            details={
                "actor": view.actor_name(actor),
                "per_layer_factor": collapse.per_layer,
                "layers": [
                    {
                        "module": layer.module,
                        "median_output_std": float(collapse.layer_std[j]),
                        "gain_from_previous": float(gains[j]),
                    }
                    for j, layer in enumerate(sig.layers)
                ],
                "likely_causes": causes,
                **cause_facts,
            },
        ),
        fix=fix_for(cause_facts),
        glossary=glossary_for(cause_facts),
        confidence=margin_confidence(collapse.value, COLLAPSE_RATIO, decades_full=3.0),
    )
