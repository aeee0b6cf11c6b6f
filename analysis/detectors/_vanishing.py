"""What the two routes of vanishing_gradients share: the first-half window, the likely causes
and the fix.

The ratio rule (``vanishing_gradients.py``) and the forward-signal-collapse rule
(``_signal_collapse.py``) report the same code, name their causes from the same facts (the
activations, the init scale, the depth, a large update before the onset) and give the same fix
for the same facts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from analysis.detectors._updates import update_stats
from analysis.detectors._view import TraceView, fmt
from analysis.findings import Fix

if TYPE_CHECKING:  # _signal_collapse imports this module
    from analysis.detectors._signal_collapse import Collapse

# The first-half route of both rules judges the first half of the run's rows.
EARLY_SHARE = 0.5

# Weight scale x sqrt(fan_in) at the first step. PyTorch's default Linear/Conv init gives
# 1/sqrt(3) = 0.577, He (Kaiming normal, ReLU) 1.41, Xavier about 1 for square layers. Below
# these the backward signal shrinks at every ReLU / tanh layer (He et al. 2015; Glorot 2010).
RELU_GAIN_NEEDED = 1.0
TANH_GAIN_NEEDED = 0.7
# Deep enough that per-layer shrinkage compounds into decades (ours: 0.5^6 = 1.6e-2).
DEEP_LAYERS = 6

# An update this large before a later onset is named as the cause (lr_too_high's threshold).
LARGE_UPDATE = 0.1

SATURATING = ("sigmoid", "tanh")
RELU_LIKE = ("relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu")


def early_onset(
    series: np.ndarray,
    early_threshold: float,
    onset_threshold: float,
    run_ceiling: float,
) -> tuple[int | None, slice]:
    """A series far below its threshold over the first half of the run, never recovering to
    healthy values: the onset is the first row under ``onset_threshold``, the window the
    first half."""
    n_early = max(2, int(np.ceil(EARLY_SHARE * series.size)))
    early = series[:n_early]
    if not (np.median(early) < early_threshold and np.median(series) < run_ceiling):
        return None, slice(0, 0)
    return int(np.argmax(early < onset_threshold)), slice(0, n_early)


def large_update_before(view: TraceView, actor: int, onset_step: int) -> str:
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


def likely_causes(
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


def fix_for(facts: dict) -> Fix:
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


def glossary_for(facts: dict) -> tuple[str, ...]:
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
