"""dead_relu: a large share of ReLU units never activate.

Statistic, per ReLU layer: the share of its units that are zero for every sample of the batch
(``act_dead_frac``). Without ReLU modules (``F.relu`` in forward), the same share is read off
the next layer's weight gradient: a unit dead for the whole batch leaves an all-zero input
column in that gradient (``grad_dead_in_frac``; the prototype measured the two equal). The
layer must stay dead from an onset step to the end of the run.
"""

from __future__ import annotations

import numpy as np

from analysis.detectors._registry import Detector
from analysis.detectors._signal_collapse import signal_collapse
from analysis.detectors._updates import judged_params, row_update_ratio
from analysis.detectors._view import TraceView, fmt, persistent_onset, persistent_onsets
from analysis.findings import Evidence, Finding, Fix, Severity

CODE = "dead_relu"

# Share of a layer's units dead for a whole batch. AUTOTRAINER flags >= 70 % zeros; the
# prototype measured healthy layers at 2-19 % (40 % deep in a 20-layer default-init stack) and
# bias -1/-3 or a large-LR spike at 53-82 %: half separates the two.
DEAD_SHARE = 0.5
# A layer nearly all dead is an error: it passes (almost) nothing forward or backward. (Ours.)
ERROR_SHARE = 0.9
RELU_ACTIVATIONS = ("relu", "relu6")
# An update this large (lr_too_high's threshold) before the onset is named as the likely cause.
LARGE_UPDATE = 0.1
LINEAR_TYPES = ("Linear", "LazyLinear", "Bilinear")


def detect(view: TraceView) -> list[Finding]:
    rows = view.sample(np.arange(view.S))
    if rows.size == 0:
        return []
    layers = _module_layers(view, rows) or _gradient_layers(view, rows)
    dead = [layer for layer in layers if layer is not None]
    if not dead:
        return []
    dead.sort(key=lambda d: -d["median_dead_share"])
    worst = dead[0]
    onset = min(d["onset_step"] for d in dead)
    severity = Severity.ERROR if worst["median_dead_share"] >= ERROR_SHARE else Severity.WARNING
    where = ", ".join(
        f"{_describe(view, d['module'])}: {round(100 * d['median_dead_share'])}%" for d in dead[:5]
    )
    cause = _large_update_before(view, onset)
    too_high = bool(cause)
    collapsed = not cause and _after_collapse(view, [d["module"] for d in dead])
    if collapsed:
        cause = collapsed
    elif not cause and onset <= view.step_of(int(rows[0])):
        # Dead before any update could have killed them: the starting point did.
        cause = (
            "the initialisation: the units are dead from the first recorded step, before any "
            "update (negative biases, a weight scale or an input shift that keeps "
            "pre-activations below 0)"
        )
    summary = (
        f"From step {onset} on, {len(dead)} ReLU layer(s) have most of their units dead for the "
        f"whole batch ({where}). A dead unit outputs 0 and passes no gradient"
        + ("." if collapsed else ", so it never recovers.")
        + (f" Likely cause: {cause}." if cause else "")
    )
    return [
        Finding(
            code=CODE,
            severity=severity,
            title="Dead ReLUs: many units never activate",
            summary=summary,
            evidence=Evidence(
                statistic=dead[0]["statistic"],
                value=worst["median_dead_share"],
                threshold=DEAD_SHARE,
                comparison=">=",
                modules=tuple(d["module"] for d in dead),
                steps=(onset,),
                onset_step=onset,
                counterfactual="healthy ReLU layers have about 2-20 % of units dead per batch",
                details={"layers": dead, "likely_cause": cause},
            ),
            fix=Fix(
                text=(
                    (
                        "Re-initialise first (He init for ReLU; see the vanishing gradients "
                        "finding): once the signal keeps its scale these units see varied "
                        "inputs again. "
                        if collapsed
                        else ""
                    )
                    + (
                        "Lower the learning rate (a large step can push units permanently "
                        "negative), or use LeakyReLU/GELU; "
                        if too_high
                        else "Initialise biases at 0 (not negative) with He init, or use "
                        "LeakyReLU/GELU (a larger learning rate cannot revive a unit whose "
                        "gradient is exactly 0); "
                    )
                    + "normalisation before the ReLU also keeps units alive."
                ),
                code=(
                    "nn.init.kaiming_normal_(layer.weight, nonlinearity='relu')\n"
                    "nn.init.zeros_(layer.bias)\n"
                    "act = nn.LeakyReLU(0.01)   # or nn.GELU()"
                ),
            ),
            glossary=("dead-relu", "relu", "learning-rate", "weight-initialization"),
            confidence=round(min(0.98, 0.6 + (worst["median_dead_share"] - DEAD_SHARE) * 1.5), 3),
        )
    ]


DETECTOR = Detector(code=CODE, detect=detect, cause_rank=100)


def _large_update_before(view: TraceView, onset_step: int) -> str:
    """A step that moved the weights by a large fraction of their size, up to the onset."""
    for actor in view.actors:
        params = judged_params(view, actor)
        rows = view.rows_of(actor)
        rows = view.sample(rows[view.steps.step[rows] <= onset_step])
        if params.size == 0 or rows.size == 0:
            continue
        # Per row, not update_stats: a blow-up at step 1 that kills every unit leaves too few
        # rows with a gradient for the run's medians, yet its first rows tell.
        per_row = row_update_ratio(view, rows, params)
        ratios = np.where(np.isfinite(per_row), per_row, 0.0)
        if ratios.max() >= LARGE_UPDATE:
            i = int(np.argmax(ratios >= LARGE_UPDATE))
            return (
                f"a learning rate too high: the update at step {view.step_of(int(rows[i]))} "
                f"moved the weights by {fmt(float(ratios[i]))} of their size, which pushed "
                "units permanently negative"
            )
    return ""


def _after_collapse(view: TraceView, modules: list[str]) -> str:
    """Dead layers past the start of a collapsed forward signal: every sample reaches them
    nearly alike (the input barely survives), so each unit is on for all samples or off for
    all. The units are a symptom of the init, not of their own bias."""
    orders = []
    for module in modules:
        path = module[len("inputs of ") :] if module.startswith("inputs of ") else module
        i = view.module_by_path.get(path)
        if i is not None:
            orders.append(view.module_order[i])
    for actor in view.actors:
        collapse = signal_collapse(view, actor)
        if collapse is None or not orders:
            continue
        top = collapse.signal.layers[collapse.top]
        if max(orders) > top.order:
            return (
                f"the forward signal collapsed from {view.describe(top.module)} on (about "
                f"{fmt(collapse.per_layer)}x per layer): every sample reaches these layers "
                "nearly alike, so each unit is on for all of them or off for all"
            )
    return ""


def _describe(view: TraceView, module: str) -> str:
    if module.startswith("inputs of "):
        return "inputs of " + view.describe(module[len("inputs of ") :])
    return view.describe(module)


def _judge(view: TraceView, rows: np.ndarray, series: np.ndarray, module: str, statistic: str):
    valid = np.isfinite(series)
    if valid.sum() < 2:
        return None
    r, x = rows[valid], series[valid]
    onset = persistent_onset(x >= DEAD_SHARE, view.S)
    if onset is None:
        return None
    return {
        "module": module,
        "median_dead_share": float(np.median(x[onset:])),
        "onset_step": view.step_of(int(r[onset])),
        "statistic": statistic,
        "final_dead_share": float(x[-1]),
    }


def _module_layers(view: TraceView, rows: np.ndarray) -> list:
    out = []
    found_any = False
    for i, m in enumerate(view.trace.modules):
        if m.activation not in RELU_ACTIVATIONS or m.order < 0:
            continue
        series = view.steps.act_dead_frac[rows, i].astype(np.float64)
        if np.isfinite(series).any():
            found_any = True
        out.append(
            _judge(view, rows, series, m.path, "median share of units dead for the whole batch")
        )
    return out if found_any else []


def _gradient_layers(view: TraceView, rows: np.ndarray) -> list:
    """F.relu models: dead inputs of Linear layers that are not the first of their actor."""
    cols = []
    for actor in view.actors:
        params = view.params_of(actor)
        if params.size == 0:
            continue
        first_order = np.nanmin(view.param_order[params])
        for p in params:
            info = view.trace.params[p]
            if (
                len(info.shape) == 2
                and view.param_order[p] > first_order
                and view.module_type(info.module) in LINEAR_TYPES
            ):
                cols.append(int(p))
    if not cols:
        return []
    block = view.steps.grad_dead_in_frac[np.ix_(rows, np.array(cols))].astype(np.float64)
    # One vectorised pass finds the candidates; only those get the per-layer verdict.
    with np.errstate(invalid="ignore"):
        onsets = persistent_onsets(block >= DEAD_SHARE, view.S)
    out = []
    for j in np.flatnonzero(onsets >= 0):
        info = view.trace.params[cols[j]]
        out.append(
            _judge(
                view,
                rows,
                block[:, j],
                f"inputs of {info.module}",
                f"median share of {info.module}'s inputs that were 0 for the whole batch "
                f"(read from {info.name}'s gradient)",
            )
        )
    return out


__all__ = ["detect", "fmt"]
