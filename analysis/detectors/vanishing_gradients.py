"""vanishing_gradients: gradient norms shrink by orders of magnitude toward the input layers.

Statistic, per actor (optimizer): the ratio of the first to the last *hidden* layer's gradient
norm (the gradient each window's backward passes produced), per row. Scale-free (a loss scaled
by 1000 or a GradScaler cancels out) and temporal: the ratio must stay below the threshold on
PERSIST_SHARE of the rows from an onset step to the end of the run, or stay a decade below it
over the first half of the run (median) without ever recovering to healthy values.

When the ratio rule does not fire, a second route reads the forward signal
(``_signal_collapse.py``): a too-small init can shrink every gradient alike while the ratio stays
level. Both routes name their causes and fix from ``_vanishing.py``.
"""

from __future__ import annotations

import numpy as np

from analysis.detectors._registry import Detector
from analysis.detectors._signal_collapse import collapse_finding, run_stall, signal_collapse
from analysis.detectors._vanishing import (
    early_onset,
    fix_for,
    glossary_for,
    large_update_before,
    likely_causes,
)
from analysis.detectors._view import (
    TraceView,
    fmt,
    layer_norms,
    margin_confidence,
    nanmedian,
    persistent_onset,
)
from analysis.findings import Evidence, Finding, Severity

CODE = "vanishing_gradients"

# First/last hidden-layer gradient-norm ratio below which early layers have vanished.
# AUTOTRAINER uses 1e-3 on one batch; the prototype measured <= 8.4e-6 on vanishing nets and
# 0.1 (default-init tanh, grey zone) to 14 on healthy ones: 1e-3 sits between, 2 decades from both.
RATIO_THRESHOLD = 1e-3
# Below this the early layers get effectively nothing (prototype: 20-layer sigmoid ~ 1e-15).
ERROR_RATIO = 1e-6
# Layers whose median gradient is under 1 % of the last hidden layer's are listed as affected;
# the decay "starts" at the deepest layer already down 10x. (Ours: decades read on a log plot.)
AFFECTED_RELATIVE = 1e-2
DECAY_START_RELATIVE = 1e-1
# Fewer hidden layers than this and there is no depth to vanish across.
MIN_HIDDEN_LAYERS = 2

# A run can vanish for most of its length and then creep just above RATIO_THRESHOLD once the
# output layer has fitted the mean (ours, a measurement: 12 Linear+Sigmoid layers went from
# 1.7e-10 at step 0 to 1.3e-3 by the end, the first layers never moving, the loss flat at ln 2).
# So a run whose ratio is a decade under the threshold over its first half (median) vanished,
# provided the run as a whole stays a decade under the tanh grey zone (0.1, issue 4's prototype):
# a net that recovers to healthy ratios is not reported.
EARLY_RATIO_THRESHOLD = 1e-4
RUN_RATIO_CEILING = 1e-2
# The last hidden layer's gradient is the ratio's yardstick only while the top of the net still
# learns. In a stalled run whose output has fitted all it can (full-batch deep sigmoid: the
# output settles on the class mean in a few steps), every gradient then sits at the float floor
# and the ratio climbs to ~0.1 although no layer below the top ever had a gradient (ours: 10
# Linear+Sigmoid layers, 120 full-batch steps: 6e-8 at step 0, 0.1 from step 20, the loss at
# ln 2 throughout). So in a stalled run the ratio is judged over the rows before the top's
# gradient fell below this share of its first rows' for good, if at least TOP_MIN_ROWS.
TOP_FALLEN = 1e-2
TOP_MIN_ROWS = 5


def detect(view: TraceView) -> list[Finding]:
    findings = []
    for actor in view.actors:
        finding = _ratio_finding(view, actor)
        if finding is not None:
            findings.append(finding)
    return findings


# A vanished gradient barely moves the weights: it looks like a learning rate too low.
DETECTOR = Detector(code=CODE, detect=detect, cause_rank=60, suppresses=("lr_too_low",))


def _while_the_top_learns(
    view: TraceView, actor: int, rows: np.ndarray, norms: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The rows (and norms) to judge the ratio on: all of them, or in a stalled run whose top
    layer's gradient has fallen for good, those before it fell (see TOP_FALLEN)."""
    top = norms[:, -1]
    fallen = top < TOP_FALLEN * np.median(top[:3])
    end = persistent_onset(fallen)
    if end is None or end < TOP_MIN_ROWS or not run_stall(view, actor):
        return rows, norms
    return rows[:end], norms[:end]


def _ratio_finding(view: TraceView, actor: int) -> Finding | None:
    layers = view.hidden_layers(actor)
    if len(layers) < MIN_HIDDEN_LAYERS:
        return None
    rows = view.sample(view.rows_of(actor))
    fresh = view.steps.fresh_grad_norm
    norms = layer_norms(fresh, rows, [layer.params for layer in layers])
    first, last = norms[:, 0], norms[:, -1]
    valid = np.isfinite(first) & np.isfinite(last) & (last > 0)
    if valid.sum() < 2:
        return None
    rows, norms = rows[valid], norms[valid]
    judged = rows.size
    rows, norms = _while_the_top_learns(view, actor, rows, norms)
    ratio = norms[:, 0] / norms[:, -1]
    onset = persistent_onset(ratio < RATIO_THRESHOLD, view.rows_of(actor).size)
    statistic = "median first/last hidden-layer gradient-norm ratio from the onset on"
    threshold = RATIO_THRESHOLD
    if onset is not None:
        after = slice(onset, None)
    else:
        onset, after = early_onset(ratio, EARLY_RATIO_THRESHOLD, RATIO_THRESHOLD, RUN_RATIO_CEILING)
        if onset is None:
            return collapse_finding(view, actor, layers)
        statistic = "median first/last hidden-layer gradient-norm ratio over the first half"
        threshold = EARLY_RATIO_THRESHOLD
    if rows.size < judged:
        statistic += (
            f" of the steps before {view.step_of(int(rows[-1])) + 1}, when the last hidden "
            "layer's gradient fell to the level of the rest (the output had fitted all it could)"
        )
    med_ratio = float(np.median(ratio[after]))
    with np.errstate(all="ignore"):
        layer_med = nanmedian(norms[after], axis=0)
        rel = layer_med / layer_med[-1]
    affected = [layers[j].module for j in range(len(layers)) if rel[j] < AFFECTED_RELATIVE]
    start = None
    for j in range(len(layers)):
        if rel[j] < DECAY_START_RELATIVE:
            start = layers[j].module
        else:
            break
    per_layer = med_ratio ** (1.0 / (len(layers) - 1)) if med_ratio > 0 else 0.0
    causes, cause_facts = likely_causes(view, actor, layers, signal_collapse(view, actor))
    blow_up = large_update_before(view, actor, int(view.steps.step[rows[onset]]))
    if blow_up:
        causes.insert(0, blow_up)
    cause_facts["after_large_update"] = bool(blow_up)

    frozen = _frozen_layers(view, actor, layers)
    onset_step = view.step_of(int(rows[onset]))
    first_name = view.describe(layers[0].module)
    last_name = view.describe(layers[-1].module)
    severity = Severity.ERROR if med_ratio < ERROR_RATIO else Severity.WARNING
    summary = (
        f"From step {onset_step} on, the first hidden layer ({first_name}) gets a gradient "
        f"{fmt(med_ratio)} times the size of the last hidden layer's ({last_name}): "
        f"about {fmt(per_layer)}x per layer over {len(layers)} layers. "
        f"{len(affected)} layer(s) barely learn (under 1% of the last hidden layer's gradient)"
        + (f"; the decay is already 10x at {view.describe(start)}" if start else "")
        + (
            f". The weights of {len(frozen)} layer(s) never changed at all (their updates are "
            f"below float32 precision), from {view.describe(frozen[0])}"
            if frozen
            else ""
        )
        + f". Likely cause: {causes[0]}."
    )
    return Finding(
        code=CODE,
        severity=severity,
        title="Vanishing gradients: the early layers barely learn",
        summary=summary,
        evidence=Evidence(
            statistic=statistic,
            value=med_ratio,
            threshold=threshold,
            comparison="<",
            modules=tuple(affected),
            steps=(onset_step,),
            onset_step=onset_step,
            counterfactual=(
                "healthy networks keep this ratio between about 0.1 and 14 (prototype "
                "measurements on MLPs and CNNs)"
            ),
            details={
                "actor": view.actor_name(actor),
                "decay_starts_at": start,
                "per_layer_factor": per_layer,
                "layers": [
                    {
                        "module": layer.module,
                        "median_grad_norm": float(layer_med[j]),
                        "relative_to_last_hidden": float(rel[j]),
                    }
                    for j, layer in enumerate(layers)
                ],
                "likely_causes": causes,
                "frozen_layers": frozen,
                "run_median_ratio": float(np.median(ratio)),
                **cause_facts,
            },
        ),
        fix=fix_for(cause_facts),
        glossary=glossary_for(cause_facts),
        confidence=margin_confidence(med_ratio, RATIO_THRESHOLD, decades_full=3.0),
    )


def _frozen_layers(view: TraceView, actor: int, layers) -> list[str]:
    """Layers that received a gradient but whose weights never moved (float32 absorbed every
    update: lr x gradient below eps x ||W||)."""
    rows = view.sample(view.rows_of(actor))
    if rows.size == 0:
        return []
    out = []
    for layer in layers:
        upd = view.steps.update_norm[np.ix_(rows, layer.params)]
        grad = view.steps.grad_norm[np.ix_(rows, layer.params)]
        measured = ~np.isnan(upd)
        if measured.any() and np.any(grad > 0) and np.all(upd[measured] == 0):
            out.append(layer.module)
    return out
