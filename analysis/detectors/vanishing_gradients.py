"""vanishing_gradients: gradient norms shrink by orders of magnitude toward the input layers.

Statistic, per actor (optimizer): the ratio of the first to the last *hidden* layer's gradient
norm (the gradient each window's backward passes produced), per row. Scale-free (a loss scaled
by 1000 or a GradScaler cancels out) and temporal: the ratio must stay below the threshold on
PERSIST_SHARE of the rows from an onset step to the end of the run, or stay a decade below it
over the first half of the run (median) without ever recovering to healthy values.

A second route reads the forward signal (``_signal.py``): when a too-small init makes every
layer shrink its input, the std of the hidden layers' outputs falls by orders of magnitude
through depth and *every* weight gradient shrinks with it (delta x activation: one of the two
crosses the shrinking layers), so the first/last ratio stays level (~0.1) while training
stalls. A persistent collapse with a stalled run is vanishing gradients caused by the init, not
a learning rate too low.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.detectors import lr_too_low
from analysis.detectors._registry import Detector
from analysis.detectors._signal import Signal, deepest_fall, forward_signal
from analysis.detectors._updates import update_stats
from analysis.detectors._view import (
    TraceView,
    fmt,
    layer_norms,
    margin_confidence,
    nanmedian,
    persistent_onset,
)
from analysis.findings import Evidence, Finding, Fix, Severity

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
# Weight scale x sqrt(fan_in) at the first step. PyTorch's default Linear/Conv init gives
# 1/sqrt(3) = 0.577, He (Kaiming normal, ReLU) 1.41, Xavier about 1 for square layers. Below
# these the backward signal shrinks at every ReLU / tanh layer (He et al. 2015; Glorot 2010).
RELU_GAIN_NEEDED = 1.0
TANH_GAIN_NEEDED = 0.7
# Deep enough that per-layer shrinkage compounds into decades (ours: 0.5^6 = 1.6e-2).
DEEP_LAYERS = 6

# A run can vanish for most of its length and then creep just above RATIO_THRESHOLD once the
# output layer has fitted the mean (ours, a measurement: 12 Linear+Sigmoid layers went from
# 1.7e-10 at step 0 to 1.3e-3 by the end, the first layers never moving, the loss flat at ln 2).
# So a run whose ratio is a decade under the threshold over its first half (median) vanished,
# provided the run as a whole stays a decade under the tanh grey zone (0.1, issue 4's prototype):
# a net that recovers to healthy ratios is not reported.
EARLY_RATIO_THRESHOLD = 1e-4
EARLY_SHARE = 0.5
RUN_RATIO_CEILING = 1e-2

# An update this large before a later onset is named as the cause (lr_too_high's threshold).
LARGE_UPDATE = 0.1

# Forward-signal collapse: the narrowest hidden layer's output std over the widest one before it
# (no normalisation layer between), below which the signal has collapsed through depth. "Orders
# of magnitude": three decades. Theory: PyTorch's default init with its biases bottoms out at
# >= 2e-2 of the first layer's std for fan_in up to 4096 (bias floor sqrt(1.2 / (3 fan_in))
# against ~0.58); Xavier/He keep ~1. Ours (`python -m tests.scenarios.report --stats`, column
# "collapse", run medians): healthy scenarios >= 0.35 (every row >= 0.27), non-vanishing bugs
# >= 1.4e-2 (saturated sigmoid, unnormalised pixels: a huge first layer), collapsed runs: N(0,
# 0.02) tanh 1.1e-4, zero-bias default-init ReLU 7.3e-4, 1e-3-scaled ReLU 4e-8.
COLLAPSE_RATIO = 1e-3
# ... an error from six decades on (ERROR_RATIO's scale).
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

SATURATING = ("sigmoid", "tanh")
RELU_LIKE = ("relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu")


def detect(view: TraceView) -> list[Finding]:
    findings = []
    for actor in view.actors:
        finding = _detect_actor(view, actor)
        if finding is not None:
            findings.append(finding)
    return findings


# A vanished gradient barely moves the weights: it looks like a learning rate too low.
DETECTOR = Detector(code=CODE, detect=detect, cause_rank=60, suppresses=("lr_too_low",))


def _detect_actor(view: TraceView, actor: int) -> Finding | None:
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
    ratio = norms[:, 0] / norms[:, -1]
    onset = persistent_onset(ratio < RATIO_THRESHOLD, view.rows_of(actor).size)
    statistic = "median first/last hidden-layer gradient-norm ratio from the onset on"
    threshold = RATIO_THRESHOLD
    if onset is not None:
        after = slice(onset, None)
    else:
        onset, after = _early_onset(ratio)
        if onset is None:
            return _collapse_finding(view, actor, layers)
        statistic = "median first/last hidden-layer gradient-norm ratio over the first half"
        threshold = EARLY_RATIO_THRESHOLD
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
    causes, cause_facts = _likely_causes(view, actor, layers, signal_collapse(view, actor))
    blow_up = _large_update_before(view, actor, int(view.steps.step[rows[onset]]))
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
        fix=_fix(cause_facts),
        glossary=_glossary(cause_facts),
        confidence=margin_confidence(med_ratio, RATIO_THRESHOLD, decades_full=3.0),
    )


def _early_onset(
    series: np.ndarray,
    early_threshold: float = EARLY_RATIO_THRESHOLD,
    onset_threshold: float = RATIO_THRESHOLD,
    run_ceiling: float = RUN_RATIO_CEILING,
) -> tuple[int | None, slice]:
    """A series far below its threshold over the first half of the run, never recovering to
    healthy values: the onset is the first row under ``onset_threshold``, the window the
    first half."""
    n_early = max(2, int(np.ceil(EARLY_SHARE * series.size)))
    early = series[:n_early]
    if not (np.median(early) < early_threshold and np.median(series) < run_ceiling):
        return None, slice(0, 0)
    return int(np.argmax(early < onset_threshold)), slice(0, n_early)


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


def _large_update_before(view: TraceView, actor: int, onset_step: int) -> str:
    """Gradients that vanish only after a huge update: the update broke the network."""
    st = update_stats(view, actor)
    if st is None or onset_step <= view.step_of(int(st.rows[0])):
        return ""
    upto = view.steps.step[st.rows] <= onset_step
    ratios = np.where(upto & np.isfinite(st.per_row), st.per_row, 0.0)
    if ratios.max() < LARGE_UPDATE:
        return ""
    i = int(np.argmax(ratios))
    return (
        f"a learning rate too high: the update at step {view.step_of(int(st.rows[i]))} moved "
        f"the weights by {fmt(float(ratios[i]))} of their size, just before the decay began"
    )


def _likely_causes(
    view: TraceView, actor: int, layers, collapse: Collapse | None, *, signal: bool = True
) -> tuple[list[str], dict]:
    lo, hi = layers[0].order, layers[-1].order
    acts = [
        m.activation
        for m in view.trace.modules
        if m.activation and 0 <= m.order and lo <= m.order <= hi + 1
    ]
    saturating = sorted({a for a in acts if a in SATURATING})
    relu_like = sorted({a for a in acts if a in RELU_LIKE})
    gain = view.init_gain(np.concatenate([layer.params for layer in layers]))
    needed = TANH_GAIN_NEEDED if saturating and not relu_like else RELU_GAIN_NEEDED
    small_init = gain is not None and gain < needed
    depth = len(layers) + 1
    causes = []
    if collapse is not None:
        # The signal sits near 0, where tanh is linear: the init, not saturation, shrinks it
        # (sigmoid still multiplies by at most 0.25 there).
        causes.append(_init_cause(view, collapse, gain, relu_like, signal=signal))
        saturating_cause = [a for a in saturating if a == "sigmoid"]
    else:
        saturating_cause = saturating
    if saturating_cause:
        causes.append(
            f"saturating {'/'.join(saturating_cause)} activations (their derivative is at most "
            f"{'0.25' if 'sigmoid' in saturating_cause else '1'} and multiplies at every layer)"
        )
    if small_init and collapse is None:
        causes.append(
            f"weights initialised too small for the activation (scale x sqrt(fan_in) = "
            f"{fmt(gain)}; He init gives 1.41 for ReLU, Xavier about 1 for tanh)"
        )
    if depth >= DEEP_LAYERS and not view.has_norm_layers:
        causes.append(f"depth: {depth} layers without normalisation layers or shortcuts")
    if not causes:
        causes.append(f"depth: {depth} layers whose per-layer gains multiply")
    facts = {
        "activations": saturating + relu_like,
        "init_gain": gain,
        "small_init": small_init or collapse is not None,
        "depth": depth,
        "has_normalization": view.has_norm_layers,
        "signal_collapse": collapse is not None,
    }
    return causes, facts


def _init_cause(
    view: TraceView, collapse: Collapse, gain: float | None, relu_like, *, signal: bool = True
) -> str:
    wanted = "He init gives 1.41 for ReLU" if relu_like else "Xavier gives about 1 for tanh"
    scale = f"weight scale x sqrt(fan_in) = {fmt(gain)}; {wanted}" if gain is not None else ""
    if not signal:  # the finding's summary already describes the signal
        return f"the initialisation ({scale})" if scale else "the initialisation"
    top = view.describe(collapse.signal.layers[collapse.top].module)
    bottom = view.describe(collapse.signal.layers[collapse.bottom].module)
    return (
        f"the initialisation: each layer multiplies the forward signal by about "
        f"{fmt(collapse.per_layer)}, so the output std of {bottom} is {fmt(collapse.value)} of "
        f"{top}'s" + (f" ({scale})" if scale else "")
    )


# ---- the forward-signal route --------------------------------------------------------------


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
        onset, window = _early_onset(
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


def _stall(view: TraceView, actor: int) -> str:
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


def _collapse_finding(view: TraceView, actor: int, layers) -> Finding | None:
    collapse = signal_collapse(view, actor)
    if collapse is None:
        return None
    stall = _stall(view, actor)
    if not stall:
        return None
    sig = collapse.signal
    onset_step = view.step_of(int(sig.rows[collapse.onset]))
    fallen = [layer.module for layer in sig.layers[collapse.top : collapse.bottom + 1]]
    causes, cause_facts = _likely_causes(view, actor, layers, collapse, signal=False)
    blow_up = _large_update_before(view, actor, onset_step)
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
        fix=_fix(cause_facts),
        glossary=_glossary(cause_facts),
        confidence=margin_confidence(collapse.value, COLLAPSE_RATIO, decades_full=3.0),
    )


def _fix(facts: dict) -> Fix:
    if facts.get("signal_collapse"):
        return _init_fix(facts)
    lines = []
    if facts.get("after_large_update"):
        lines.append("Lower the learning rate (and warm it up): the gradients vanished after it")
    if "sigmoid" in facts["activations"] or "tanh" in facts["activations"]:
        lines.append("Use ReLU/GELU in the hidden layers instead of sigmoid/tanh")
    if facts["small_init"] or not lines:
        lines.append("initialise with He (Kaiming) init for ReLU, Xavier for tanh")
    if not facts["has_normalization"]:
        lines.append("add normalisation (BatchNorm/LayerNorm) or residual connections")
    text = "; ".join(lines) + "."
    code = (
        "class Block(nn.Module):\n"
        "    def __init__(self, width):\n"
        "        super().__init__()\n"
        "        self.linear = nn.Linear(width, width)\n"
        "        self.norm = nn.LayerNorm(width)\n"
        "        nn.init.kaiming_normal_(self.linear.weight, nonlinearity='relu')\n"
        "        nn.init.zeros_(self.linear.bias)\n"
        "\n"
        "    def forward(self, x):\n"
        "        return x + torch.relu(self.linear(self.norm(x)))  # residual: gradients skip ahead\n"
    )
    return Fix(text=text, code=code)


def _init_fix(facts: dict) -> Fix:
    """The collapse is the init's: re-initialise for the activation, or renormalise."""
    relu = any(a in RELU_LIKE for a in facts["activations"])
    lines = []
    if facts.get("after_large_update"):
        lines.append("Lower the learning rate (and warm it up): the signal collapsed after it")
    lines.append(
        "Initialise the weights for the activation: nn.init.kaiming_normal_ (He) for ReLU, "
        "nn.init.xavier_uniform_ with the tanh gain for tanh/sigmoid (PyTorch's default init, "
        "gain 0.58 with non-zero biases, is enough for a few layers)"
    )
    if not facts["has_normalization"]:
        lines.append("or add LayerNorm/BatchNorm between the layers to restore the scale")
    text = "; ".join(lines) + ". Raising the learning rate does not fix a collapsed signal."
    init = (
        "nn.init.kaiming_normal_(m.weight, nonlinearity='relu')"
        if relu
        else "nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain('tanh'))"
    )
    other = (
        "# tanh/sigmoid: nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain('tanh'))"
        if relu
        else "# ReLU: nn.init.kaiming_normal_(m.weight, nonlinearity='relu')"
    )
    code = (
        "for m in model.modules():\n"
        "    if isinstance(m, (nn.Linear, nn.Conv2d)):\n"
        f"        {init}\n"
        f"        {other}\n"
        "        if m.bias is not None:\n"
        "            nn.init.zeros_(m.bias)\n"
    )
    return Fix(text=text, code=code)


def _glossary(facts: dict) -> tuple[str, ...]:
    slugs = ["vanishing-gradient"]
    for a in ("sigmoid", "tanh"):
        if a in facts["activations"]:
            slugs.append(a)
    if not facts.get("signal_collapse") and (
        "sigmoid" in facts["activations"] or "tanh" in facts["activations"]
    ):
        slugs.append("saturation")
    slugs += ["weight-initialization", "residual-connection", "batch-normalization"]
    return tuple(slugs)
