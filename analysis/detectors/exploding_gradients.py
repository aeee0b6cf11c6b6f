"""exploding_gradients: gradient norms grow by orders of magnitude over the run or toward the input.

Two rules, per actor, on the gradient each window's backward passes produced (before any
clipping):
- temporal: the total gradient norm grows GROWTH_THRESHOLD times above its early baseline, or
  reaches GRAD_WEIGHT_RATIO times the weights' norm (a net exploding from its first step has
  no sane baseline), or overflows float32 with finite elements, on at least MIN_EXPLODED_ROWS
  rows, or once and then turns non-finite, or once by a one-step jump the loss confirms;
- size (engine 1.5.0): every hidden layer's gradient is as large as its weights or larger
  (median over layers of ||grad|| / ||W|| >= SIZE_RATIO) while the backward signal grows from
  the output back (the biases' gradient, which is the backward delta summed over the batch, grows
  GROWTH_PER_LAYER-fold per layer over at least MIN_GROWTH_STEPS layers), persistently. A blow-up
  that is the same in every layer (uniform_(-1, 1) on a deep ReLU MLP) has level weight
  gradients across depth, so the spatial ratio cannot see it; its size against the weights and
  the growth of the backward delta can. The loss's own scale (unnormalised targets) makes the
  gradient large in every layer too, but does not make it grow with depth;
- spatial: the first hidden layer's gradient stays SPATIAL_THRESHOLD times above the last hidden
  layer's (persistently, as for vanishing gradients).

The fix follows the evidence: the initialisation when the blow-up is there from the first step
and level across layers, clipping when it comes in spikes, the learning rate when the updates are
large while the gradients are not (that alone is lr_too_high's, not this detector's).
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
from analysis.detectors._vanishing import RELU_LIKE, SATURATING
from analysis.detectors._view import (
    MAX_SERIES_ROWS,
    TraceView,
    fmt,
    layer_norms,
    margin_confidence,
    nanmedian,
    persistent_onset,
    pooled_norm,
)
from analysis.detectors.lr_too_high import HIGH_RATIO, LOSS_IMPROVED
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
# An applied update this large is a learning rate too high (lr_too_high's threshold, one value
# for both detectors).
HIGH_UPDATE_RATIO = HIGH_RATIO
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
# Size: the median over hidden layers of ||grad|| / ||W|| per step. Scale-free (both norms grow
# as sqrt(numel), so width and depth cancel). Healthy training moves the weights by ~1e-3 of
# their size per step (Karpathy's rule of thumb), so its gradient sits well below the weights.
# Measured (`report --stats`, column `size`, run medians over all 102 scenarios): healthy runs
# <= 0.47 (held2_ste_quantizer_custom_function), bugs that are not exploding <= 0.63; the
# uniform_(-1, 1) MLP 25, the std=1 MLP 5e10. The one healthy run above it, Adam on unscaled
# regression targets (7e3), is the loss's scale: hence the growth below is required as well.
SIZE_RATIO = 1.0
# Backward growth per layer, from the output back: the geometric mean over successive layers of
# the bias-gradient RMS ratio (a layer's bias gradient is its backward delta summed over the
# batch; RMS = norm / sqrt(numel) makes layers of different widths comparable). A layer that
# keeps the signal's scale passes ~1 (Glorot & Bengio 2010, He et al. 2015: what an init aims
# for); 1.5 per layer compounds to 7.6x over 5 layers. Measured (`report --stats`, column
# `growth`, run medians; 24 scenarios have a chain of >= 4 layers with biases): healthy <= 1.04
# (single rows up to 1.57, transient), bugs that are not exploding <= 0.96 (single rows up to
# 3.7); the uniform_(-1, 1) MLP 2.25 (sqrt(128 / 3 / 2) = 4.6 per ReLU layer in theory, the
# head pulls the mean down), the std=1 MLP 2.74. Both the geometric mean and the median step
# must reach it, persistently: growth at most layers on most steps, not one jump.
GROWTH_PER_LAYER = 1.5
# Growth counts only over at least this many successive layer pairs (4 layers with biases): an
# explosion compounds over depth; a 2-layer head can have any ratio it learned. (Ours.)
MIN_GROWTH_STEPS = 3
# The loss improved when it fell by lr_too_high.LOSS_IMPROVED (5 %): a gradient 1e3x the
# weights (GRAD_WEIGHT_RATIO) that the optimizer turned into sane steps while the loss fell and
# nothing went non-finite (Adam on an unscaled regression target) is the loss's scale, not a
# blow-up; the size route then needs the growth over depth as well.
# First/last hidden-layer ratio above which gradients grow toward the input. AUTOTRAINER uses
# 70; the prototype measured 0.7-14 on healthy nets, so 100 leaves a 7x margin.
SPATIAL_THRESHOLD = 1e2


def detect(view: TraceView) -> list[Finding]:
    findings = []
    for actor in view.actors:
        finding = _temporal(view, actor) or _size(view, actor) or _spatial(view, actor)
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
    if huge.any() and _loss_scale_only(view, actor, rows, total):
        huge[:] = False
    # The norm overflowed float32 while every element was finite: the gradient is beyond
    # 3.4e38, not NaN (a NaN element is non_finite's business).
    elements_ok = ~np.any(view.steps.grad_nonfinite[np.ix_(rows, params)] > 0, axis=1)
    overflow = np.isposinf(total) & elements_ok
    # A one-step jump counts only when the loss confirms it (a clipped spike does not) and it
    # lands at or above the gradient's early scale: a fitted run's gradient and loss jump by
    # decades on one batch far below where training started (a blind check: 1.5e-7 -> 1.1e-3).
    jumped = _jumps(total)
    for i in np.flatnonzero(jumped):
        jumped[i] = total[i] >= baseline and _loss_rose(view, rows, int(i))
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


def _loss_scale_only(view: TraceView, actor: int, rows: np.ndarray, total: np.ndarray) -> bool:
    """Large gradients that hurt nothing: the loss fell LOSS_IMPROVED, nothing went non-finite
    and the backward signal does not grow with depth (the loss's scale, not the network's)."""
    loss = view.loss_trend(view.rows_of(actor))
    if loss is None or loss.nonfinite or loss.rel_drop < LOSS_IMPROVED:
        return False
    if not np.all(np.isfinite(total)):
        return False
    depth = _depth_profile(view, actor, rows)
    return depth is None or not np.any(depth.growth >= GROWTH_PER_LAYER)


class _Depth:
    """Per-layer norms on the judged rows: the size and backward-growth evidence."""

    def __init__(self, layers, grad, weight, bias_rms, growth, median_step):
        self.layers = layers  # the actor's layers, forward order, head last
        self.grad = grad  # [rows, layers] gradient norm (before clipping)
        self.weight = weight  # [rows, layers] weight norm
        self.bias_rms = bias_rms  # [rows, chain] bias-gradient RMS of the layers with a bias
        self.growth = growth  # [rows] geometric-mean growth per layer from the output back
        self.median_step = median_step  # [rows] median successive ratio, output back
        with np.errstate(all="ignore"):
            ratio = grad / weight
        hidden = ratio[:, :-1] if len(layers) > 1 else ratio
        self.ratio = ratio  # [rows, layers] gradient / weight norm
        self.size = nanmedian(hidden, axis=1) if hidden.size else np.full(len(grad), np.nan)


def _depth_profile(view: TraceView, actor: int, rows: np.ndarray) -> _Depth | None:
    layers = view.layers(actor)
    if not layers:
        return None
    s = view.steps
    params = view.params_of(actor)
    biases: dict[str, list[int]] = {}
    for p in params[~view.is_matrix[params] & view.ever_graded[params]]:
        param = view.trace.params[int(p)]
        if param.name.rsplit(".", 1)[-1].startswith("bias"):
            biases.setdefault(param.module, []).append(int(p))
    grad = layer_norms(s.fresh_grad_norm, rows, [layer.params for layer in layers])
    weight = layer_norms(s.weight_norm, rows, [layer.params for layer in layers])
    chain = [np.array(biases[layer.module]) for layer in layers if layer.module in biases]
    growth = np.full(rows.size, np.nan)
    median_step = np.full(rows.size, np.nan)
    bias_rms = np.empty((rows.size, 0))
    if len(chain) > MIN_GROWTH_STEPS:
        sizes = np.array([view.numel[c].sum() for c in chain], dtype=np.float64)
        bias_rms = layer_norms(s.fresh_grad_norm, rows, chain) / np.sqrt(sizes)
        with np.errstate(all="ignore"):
            steps = np.log(bias_rms[:, :-1] / bias_rms[:, 1:])  # each layer over the next one
        ok = np.all(np.isfinite(steps), axis=1)
        growth[ok] = np.exp(steps[ok].mean(axis=1))
        median_step[ok] = np.exp(np.median(steps[ok], axis=1))
    return _Depth(layers, grad, weight, bias_rms, growth, median_step)


def _size(view: TraceView, actor: int) -> Finding | None:
    """Every hidden layer's gradient as large as its weights, growing from the output back."""
    all_rows = view.rows_of(actor)
    rows = view.sample(all_rows)
    depth = _depth_profile(view, actor, rows)
    if depth is None or len(depth.layers) < 2:
        return None
    with np.errstate(invalid="ignore"):
        bad = (
            (depth.size >= SIZE_RATIO)
            & (depth.growth >= GROWTH_PER_LAYER)
            & (depth.median_step >= GROWTH_PER_LAYER)
        )
    onset = persistent_onset(bad, all_rows.size)
    if onset is None:
        return None
    after = slice(onset, None)
    size = float(nanmedian(depth.size[after]))
    growth = float(nanmedian(depth.growth[after]))
    onset_step = view.step_of(int(rows[onset]))
    from_start = onset == 0
    update = _update_ratio(view, actor, rows[after])
    names = [view.describe(layer.module) for layer in depth.layers]
    ratio = nanmedian(depth.ratio[after], axis=0)
    grad = nanmedian(depth.grad[after], axis=0)
    bias_rms = nanmedian(depth.bias_rms[after], axis=0)
    shown = _ends(list(range(len(names))))
    per_layer = ", ".join(
        "..." if i is None else f"{names[i]} {fmt(float(grad[i]))} ({fmt(float(ratio[i]))}x)"
        for i in shown
    )
    causes = likely_causes(view, actor)
    summary = (
        f"From step {onset_step} on, every hidden layer's gradient is about {fmt(size)} times "
        f"the size of its weights (gradient norm and its ratio to the weights, input to output: "
        f"{per_layer}), and the backward signal grows {fmt(growth)}x per layer from the output "
        f"back (the biases' gradient, RMS {fmt(float(bias_rms[-1]))} at the output layer, "
        f"{fmt(float(bias_rms[0]))} at the first). Each step changes the weights by "
        f"{fmt(update)} of their size. Likely cause: {causes[0]}."
    )
    kind = "init" if from_start else ("lr" if update >= HIGH_UPDATE_RATIO else "clip")
    finding = _finding(
        view,
        actor,
        summary,
        Evidence(
            statistic="median over hidden layers of gradient norm / weight norm, with the "
            "backward signal growing per layer",
            value=size,
            threshold=SIZE_RATIO,
            comparison=">=",
            modules=tuple(layer.module for layer in depth.layers),
            steps=tuple(view.step_of(int(r)) for r in rows[onset:][bad[onset:]][:20]),
            onset_step=onset_step,
            counterfactual=(
                "healthy training keeps each layer's gradient below half its weights (our healthy "
                "runs: <= 0.47) and the backward signal about level across layers (~1x)"
            ),
            details={
                "actor": view.actor_name(actor),
                "layers": [
                    {
                        "layer": names[i],
                        "grad_norm": float(grad[i]),
                        "grad_to_weight": float(ratio[i]),
                    }
                    for i in range(len(names))
                ],
                "growth_per_layer": growth,
                "growth_threshold": GROWTH_PER_LAYER,
                "bias_grad_rms_input_to_output": [float(x) for x in bias_rms],
                # Each layer with a bias over the next one: the growth from the output back.
                "growth_each_layer_input_to_output": [
                    float(a / b) for a, b in zip(bias_rms[:-1], bias_rms[1:], strict=True)
                ],
                "update_to_weight": update,
                "from_first_step": from_start,
                "likely_causes": causes,
            },
        ),
        margin_confidence(size, SIZE_RATIO, decades_full=2.0),
        fix=_fix(kind, view),
    )
    return finding


def _ends(idx: list[int], k: int = 3) -> list[int | None]:
    """The first and last k of a list, with None standing for what is left out."""
    return idx if len(idx) <= 2 * k else [*idx[:k], None, *idx[-k:]]


def _update_ratio(view: TraceView, actor: int, rows: np.ndarray) -> float:
    """Median over these rows of the applied update / weights (median over layers)."""
    judged = judged_params(view, actor)
    if judged.size == 0 or rows.size == 0:
        return math.nan
    per_row = row_update_ratio(view, rows, judged)
    return float(nanmedian(per_row))


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


def _finding(view, actor, summary, evidence, confidence, fix: Fix | None = None) -> Finding:
    return Finding(
        code=CODE,
        severity=Severity.ERROR,
        title="Exploding gradients",
        summary=summary,
        evidence=evidence,
        fix=fix or _fix(_kind(view, actor, evidence.onset_step), view),
        glossary=(
            "exploding-gradient",
            "gradient-clipping",
            "learning-rate",
            "weight-initialization",
        ),
        confidence=confidence,
    )


def _kind(view: TraceView, actor: int, onset_step: int | None) -> str:
    """Which fix the evidence points to: "init" when the blow-up is there from the first step
    and the weights were initialised too large, else "clip" (a blow-up that came later)."""
    rows = view.rows_of(actor)
    params = view.params_of(actor)
    gain = view.init_gain(params[view.is_matrix[params]])
    from_start = rows.size > 0 and onset_step == view.step_of(int(rows[0]))
    return "init" if from_start and gain is not None and gain > LARGE_INIT_GAIN else "clip"


_CLIP = "torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)\n"
FIXES = {
    "init": Fix(
        text=(
            "The blow-up is there from the first step and in every layer: the initialisation "
            "is too large. Re-initialise with He (ReLU) or Xavier (tanh) scaling, or keep "
            "PyTorch's default; clipping only hides it."
        ),
        code=(
            "for m in model.modules():\n"
            "    if isinstance(m, torch.nn.Linear):\n"
            "        torch.nn.init.kaiming_normal_(m.weight, nonlinearity='relu')\n"
            "        torch.nn.init.zeros_(m.bias)"
        ),
    ),
    "clip": Fix(
        text=(
            "Clip the gradient norm before the optimizer step, and check the learning rate, the "
            "initialisation scale (He/Xavier, not std=1) and normalisation layers."
        ),
        code=f"loss.backward()\n{_CLIP}optimizer.step()\noptimizer.zero_grad()",
    ),
    "lr": Fix(
        text=(
            "Each step moves the weights by a large share of their size: lower the learning rate "
            "(or add warm-up), and clip the gradient norm while you search."
        ),
        code=(
            "optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)\n"
            f"loss.backward()\n{_CLIP}optimizer.step()"
        ),
    ),
}


def _fix(kind: str, view: TraceView | None = None) -> Fix:
    fix = FIXES[kind]
    if kind == "init" and view is not None and _saturating_only(view):
        # He init is for ReLU; Xavier with the tanh gain keeps a tanh/sigmoid layer's gain near 1
        tanh = "xavier_uniform_(m.weight, gain=torch.nn.init.calculate_gain('tanh'))"
        code = fix.code.replace("kaiming_normal_(m.weight, nonlinearity='relu')", tanh)
        return Fix(text=fix.text.replace("He (ReLU) or Xavier (tanh)", "Xavier"), code=code)
    return fix


def _saturating_only(view: TraceView) -> bool:
    """The net's activations are all tanh/sigmoid (none ReLU-like)."""
    acts = {m.activation for m in view.trace.modules if m.activation}
    return bool(acts & set(SATURATING)) and not acts & set(RELU_LIKE)
