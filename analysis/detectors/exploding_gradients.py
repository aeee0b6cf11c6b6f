"""exploding_gradients: gradient norms grow by orders of magnitude over the run or toward the input.

Two rules, per actor, on the gradient each window's backward passes produced (before any
clipping):
- temporal: the total gradient norm grows GROWTH_THRESHOLD times above its early baseline, or
  reaches GRAD_WEIGHT_RATIO times the weights' norm (a net exploding from its first step has
  no sane baseline), or overflows float32 with finite elements, on at least MIN_EXPLODED_ROWS
  rows, or once and then turns non-finite, or once by a one-step jump the loss confirms;
- spatial: the first hidden layer's gradient stays SPATIAL_THRESHOLD times above the last hidden
  layer's (persistently, as for vanishing gradients).
"""

from __future__ import annotations

import math

import numpy as np

from analysis.detectors._registry import Detector
from analysis.detectors._updates import (
    EARLY_MIN_ROWS,
    EARLY_SHARE,
    judged_params,
    row_update_ratio,
    update_stats,
)
from analysis.detectors._view import (
    MAX_SERIES_ROWS,
    TraceView,
    fmt,
    margin_confidence,
    nanmedian,
    persistent_onset,
    pooled_norm,
)
from analysis.findings import Evidence, Finding, Fix, Severity

CODE = "exploding_gradients"

# Growth of the total gradient norm over its early baseline. The prototype saw 5e8 on the
# exploding run against 0.06-7 in every other run (a spread of ~2 decades): 3 decades of growth
# is past anything a healthy run did.
GROWTH_THRESHOLD = 1e3
# The baseline is the median over the first BASELINE_SHARE of the actor's rows (at least
# BASELINE_MIN_ROWS): early enough to predate a blow-up, long enough to ignore one odd batch.
BASELINE_SHARE = 0.1
BASELINE_MIN_ROWS = 3
# Total gradient norm / total weight norm of the actor. The prototype's healthy runs had total
# gradient norms of 0.06-7 with weight norms of ~5-50 (ratio <= ~1.4); a gradient a thousand
# times the weights it updates has exploded whatever the loss scale. (Ours, 3 decades of margin.)
GRAD_WEIGHT_RATIO = 1e3
# Initialisation scale (||W|| / sqrt(numel) * sqrt(fan_in)) above which weights are "too
# large": 1.41 is He init, the largest standard choice. (He et al. 2015; ours for the margin.)
LARGE_INIT_GAIN = 2.0
# An applied update this large is a learning rate too high (lr_too_high's threshold).
HIGH_UPDATE_RATIO = 0.1
RECURRENT_TYPES = ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell")
# A single spike that recovers (what clipping is for) is not a finding.
MIN_EXPLODED_ROWS = 2
# A single exploded row counts when the norm jumped GROWTH_THRESHOLD-fold in one step and the
# loss rose LOSS_CONFIRM-fold within JUMP_LOSS_WITHIN rows: a blow-up, not a spike clipping
# contains. (Ours, a measurement: SGD at lr 0.9 took an MLP's gradient norm from 50 to 7e10 and
# its loss from 8.7e3 to 1.3e12 in one step, then every ReLU died and the gradient was 0.)
LOSS_CONFIRM = 1e2
JUMP_LOSS_WITHIN = 2
# float32's largest finite value: a norm above it is stored as inf although every element is
# finite (ours, a measurement: a ReLU RNN with W_hh = 1.6 I over 60 steps at step 0).
FLOAT32_MAX = float(np.finfo(np.float32).max)
# First/last hidden-layer ratio above which gradients grow toward the input. AUTOTRAINER uses
# 70; the prototype measured 0.7-14 on healthy nets, so 100 leaves a 7x margin.
SPATIAL_THRESHOLD = 1e2


def detect(view: TraceView) -> list[Finding]:
    findings = []
    for actor in view.actors:
        finding = _temporal(view, actor) or _spatial(view, actor)
        if finding is not None:
            findings.append(finding)
    return findings


# Before the NaN/Inf the blow-up produces (non_finite ranks after).
DETECTOR = Detector(code=CODE, detect=detect, cause_rank=50)


def _temporal(view: TraceView, actor: int) -> Finding | None:
    params = view.params_of(actor)
    params = params[view.ever_graded[params]]
    all_rows = view.rows_of(actor)
    if params.size == 0 or all_rows.size == 0:
        return None
    rows = view.sample(all_rows)
    total = pooled_norm(view.steps.fresh_grad_norm, rows, params)
    weights = pooled_norm(view.steps.weight_norm, rows, params)
    with np.errstate(all="ignore"):
        to_weight = total / weights
    n_base = max(BASELINE_MIN_ROWS, math.ceil(BASELINE_SHARE * rows.size))
    base_vals = total[:n_base]
    base_vals = base_vals[np.isfinite(base_vals) & (base_vals > 0)]
    baseline = float(np.median(base_vals)) if base_vals.size else math.nan
    with np.errstate(all="ignore"):
        growth = total / baseline
    grown = np.isfinite(growth) & (growth >= GROWTH_THRESHOLD)
    grown[:n_base] = False
    huge = np.isfinite(to_weight) & (to_weight >= GRAD_WEIGHT_RATIO)
    # The norm overflowed float32 while every element was finite: the gradient is beyond
    # 3.4e38, not NaN (a NaN element is non_finite's business).
    elements_ok = ~np.any(view.steps.grad_nonfinite[np.ix_(rows, params)] > 0, axis=1)
    overflow = np.isposinf(total) & elements_ok
    # A one-step jump counts only when the loss confirms it (a clipped spike does not).
    jumped = _jumps(total)
    for i in np.flatnonzero(jumped):
        jumped[i] = _loss_rose(view, rows, int(i))
    big = grown | huge | overflow | jumped
    if not big.any():
        return None
    first_big = int(np.argmax(big))
    went_bad = bool(np.any(~np.isfinite(total[first_big + 1 :])))
    if big.sum() < MIN_EXPLODED_ROWS and not (went_bad or jumped[first_big]):
        return None
    finite_total = np.where(np.isfinite(total), total, -1.0)
    peak_i = int(np.argmax(finite_total)) if finite_total.max() > 0 else first_big
    peak = float(total[peak_i])
    peak_step = view.step_of(int(rows[peak_i]))
    onset_step = view.step_of(int(rows[first_big]))
    clipped = _clipping_note(view, rows[big], params)
    finite_ratio = to_weight[np.isfinite(to_weight)]
    ratio_peak = float(finite_ratio.max()) if finite_ratio.size else math.nan
    if overflow.any() and not np.isfinite(peak):
        statistic = "total gradient norm (float32 overflow with finite elements)"
        value = threshold = FLOAT32_MAX
        summary = (
            f"At step {onset_step} the total gradient norm overflowed float32 (above "
            f"{fmt(FLOAT32_MAX)}) while every gradient element was still finite"
        )
    elif jumped[first_big] and not grown.any():
        prev = float(total[:first_big][np.isfinite(total[:first_big])][-1])
        statistic = "total gradient norm / its value on the previous recorded step"
        value, threshold = float(total[first_big]) / prev, GROWTH_THRESHOLD
        summary = (
            f"The total gradient norm jumped from {fmt(prev)} to {fmt(float(total[first_big]))} "
            f"at step {onset_step} ({fmt(value)}x in one step)"
        )
    elif grown.any():
        statistic = "total gradient norm / its median over the first steps"
        value, threshold = peak / baseline, GROWTH_THRESHOLD
        summary = (
            f"The total gradient norm grew from about {fmt(baseline)} in the first steps to "
            f"{fmt(peak)} at step {peak_step} ({fmt(value)}x), first crossing "
            f"{fmt(GROWTH_THRESHOLD)}x at step {onset_step}"
        )
    else:
        statistic = "total gradient norm / total weight norm"
        value, threshold = ratio_peak, GRAD_WEIGHT_RATIO
        summary = (
            f"From step {onset_step} the gradient is {fmt(ratio_peak)} times the size of the "
            f"weights themselves (total norm {fmt(peak)} at step {peak_step})"
        )
    summary += (", then turned non-finite." if went_bad else ".") + (
        f" {clipped}" if clipped else ""
    )
    causes = likely_causes(view, actor)
    summary += f" Likely cause: {causes[0]}."
    return _finding(
        view,
        actor,
        summary,
        Evidence(
            statistic=statistic,
            value=value,
            threshold=threshold,
            comparison=">=",
            steps=tuple(view.step_of(int(r)) for r in rows[big][:20]),
            onset_step=onset_step,
            counterfactual=(
                f"before the blow-up the gradient norm was about {fmt(baseline)}"
                if grown.any()
                else "in healthy runs the gradient norm is below the weight norm (ratio 0.01-2)"
            ),
            details={
                "actor": view.actor_name(actor),
                "baseline_norm": baseline,
                "peak_norm": peak,
                "peak_step": peak_step,
                "peak_grad_to_weight": ratio_peak,
                "rows_exploded": int(big.sum()),
                "became_non_finite": went_bad,
                "likely_causes": causes,
            },
        ),
        margin_confidence(value, threshold, decades_full=3.0),
    )


def _jumps(total: np.ndarray) -> np.ndarray:
    """bool per row: the norm is GROWTH_THRESHOLD times the previous finite, non-zero one."""
    out = np.zeros(total.size, dtype=bool)
    if total.size < 2:
        return out
    valid = np.isfinite(total) & (total > 0)
    last_valid = np.maximum.accumulate(np.where(valid, np.arange(total.size), -1))
    prev = np.concatenate(([-1], last_valid[:-1]))
    has_prev = prev >= 0
    with np.errstate(all="ignore"):
        out[has_prev] = total[has_prev] >= GROWTH_THRESHOLD * total[prev[has_prev]]
    return out


def _loss_rose(view: TraceView, rows: np.ndarray, i: int) -> bool:
    """The loss from row i on rose LOSS_CONFIRM-fold over the last finite loss before it."""
    loss = view.steps.loss[rows].astype(np.float64)
    before = loss[:i][np.isfinite(loss[:i])]
    after = loss[i : i + 1 + JUMP_LOSS_WITHIN]
    after = after[np.isfinite(after)]
    return bool(
        before.size and after.size and before[-1] > 0 and after.max() >= LOSS_CONFIRM * before[-1]
    )


def _spatial(view: TraceView, actor: int) -> Finding | None:
    layers = view.hidden_layers(actor)
    if len(layers) < 2:
        return None
    rows = view.sample(view.rows_of(actor))
    fresh = view.steps.fresh_grad_norm
    first = pooled_norm(fresh, rows, layers[0].params)
    last = pooled_norm(fresh, rows, layers[-1].params)
    valid = np.isfinite(first) & np.isfinite(last) & (last > 0)
    if valid.sum() < 2:
        return None
    rows, ratio = rows[valid], first[valid] / last[valid]
    onset = persistent_onset(ratio > SPATIAL_THRESHOLD, view.rows_of(actor).size)
    if onset is None:
        return None
    med = float(np.median(ratio[onset:]))
    onset_step = view.step_of(int(rows[onset]))
    causes = likely_causes(view, actor)
    summary = (
        f"From step {onset_step} on, the first hidden layer ({view.describe(layers[0].module)}) "
        f"gets a gradient {fmt(med)} times larger than the last hidden layer "
        f"({view.describe(layers[-1].module)}): gradients grow at every layer on their way back "
        f"to the input. Likely cause: {causes[0]}."
    )
    return _finding(
        view,
        actor,
        summary,
        Evidence(
            statistic="median first/last hidden-layer gradient-norm ratio from the onset on",
            value=med,
            threshold=SPATIAL_THRESHOLD,
            comparison=">",
            modules=tuple(layer.module for layer in layers),
            steps=(onset_step,),
            onset_step=onset_step,
            counterfactual="healthy networks keep this ratio between about 0.1 and 14",
            details={"actor": view.actor_name(actor), "likely_causes": causes},
        ),
        margin_confidence(med, SPATIAL_THRESHOLD, decades_full=2.0),
    )


def likely_causes(view: TraceView, actor: int) -> list[str]:
    params = view.params_of(actor)
    causes = []
    gain = view.init_gain(params[view.is_matrix[params]])
    if gain is not None and gain > LARGE_INIT_GAIN:
        causes.append(
            f"weights initialised too large (scale x sqrt(fan_in) = {fmt(gain)}; He init gives "
            "1.41, PyTorch's default 0.58)"
        )
    st = update_stats(view, actor)
    if st is not None:
        update = max(st.early, st.typical)
    else:
        # Too few rows with a gradient for the run's statistics (a net that blew up and died):
        # the largest early update still tells.
        rows = view.rows_of(actor)
        early = rows[
            : min(MAX_SERIES_ROWS, max(EARLY_MIN_ROWS, math.ceil(EARLY_SHARE * rows.size)))
        ]
        judged = judged_params(view, actor)
        ratios = row_update_ratio(view, early, judged) if judged.size and early.size else []
        finite = np.asarray(ratios)[np.isfinite(ratios)]
        update = float(finite.max()) if finite.size else math.nan
    if update >= HIGH_UPDATE_RATIO:
        causes.append(
            f"a learning rate too high (each step changes the weights by "
            f"{fmt(update)} of their size)"
        )
    recurrent = [m.path for m in view.trace.modules if m.type in RECURRENT_TYPES]
    if recurrent:
        causes.append(
            f"recurrence: {view.describe(recurrent[0])} multiplies the gradient by its "
            "recurrent weights at every time step"
        )
    if not view.has_norm_layers:
        causes.append("no normalisation layers to keep activations (and gradients) in range")
    return causes or ["a learning rate or initialisation scale too large for this network"]


def _clipping_note(view: TraceView, rows: np.ndarray, params: np.ndarray) -> str:
    used = pooled_norm(view.steps.grad_norm, rows, params)
    fresh = pooled_norm(view.steps.fresh_grad_norm, rows, params)
    with np.errstate(all="ignore"):
        shrink = nanmedian(used / fresh) if rows.size else np.nan
    if np.isfinite(shrink) and shrink < 0.1:
        return (
            f"Gradient clipping (or rescaling) cut the gradient the optimizer used to about "
            f"{fmt(float(nanmedian(used)))}, which contains the damage but not the cause."
        )
    return ""


def _finding(view, actor, summary, evidence, confidence) -> Finding:
    return Finding(
        code=CODE,
        severity=Severity.ERROR,
        title="Exploding gradients",
        summary=summary,
        evidence=evidence,
        fix=Fix(
            text=(
                "Lower the learning rate, clip the gradient norm before the optimizer step, and "
                "check the initialisation scale (He/Xavier, not std=1) and normalisation layers."
            ),
            code=(
                "loss.backward()\n"
                "torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)\n"
                "optimizer.step()\n"
                "optimizer.zero_grad()"
            ),
        ),
        glossary=(
            "exploding-gradient",
            "gradient-clipping",
            "learning-rate",
            "weight-initialization",
        ),
        confidence=confidence,
    )
