"""lr_too_high: each step moves the weights by a large fraction of their size and the loss does
not improve (or diverges).

Statistic, per actor: the median over its layers of ||update|| / ||weights|| per step; its
median over the early window or over the run (the larger) against HIGH_RATIO, confirmed by the
loss: not improving, rising, or non-finite. Without a loss, a stricter ratio alone.

Adam-family optimizers are also judged by their first steps, whatever the loss did: they move
every weight by about the learning rate whatever its gradient, so those steps' ratio is the
learning rate over the weights' size (see _rewritten).
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
    pooled_norm,
)
from analysis.findings import Evidence, Finding, Fix, Severity

CODE = "lr_too_high"

# Update/weight ratio per step. Karpathy's heuristic puts healthy training near 1e-3;
# DeepDiagnosis flags lr*||dW||/||W|| above 1e-1; the prototype saw 1e-3..1e-1 learn and >= 0.15
# in early steps come with blow-ups. We take DeepDiagnosis's bound, confirmed by the loss.
HIGH_RATIO = 0.1
# The ratio the advice aims for: the healthy centre (Karpathy's ~1e-3, the value lr_too_low
# aims for too). One factor, stat / TARGET_RATIO, derived once and used by the counterfactual
# and the fix alike (at least MIN_FACTOR: below it the run is too close to call a number).
TARGET_RATIO = 1e-3
MIN_FACTOR = 3.0
# What healthy runs do, as the findings say it. Measured (`report --stats`, columns `upd early` /
# `upd run`): the healthy scenarios' run medians lie between 1e-3 and 5e-2 (a GRU with clipping
# under Adam: 0.05), their early windows up to 0.12; Karpathy's heuristic centre is 1e-3.
HEALTHY_RANGE = "healthy runs move them by about 1e-3 to a few 1e-2 per step"
# Without any loss to confirm, only a ratio this high is reported (a third of the weights'
# size per step; ours, 3x HIGH_RATIO).
HIGH_RATIO_NO_LOSS = 0.3
# The loss "improved" when it fell by at least this share from the start of the run to its last
# quarter. (Ours, measured with `python -m tests.scenarios.report --stats`: the too-high runs
# changed by -155 % to -4 %, healthy runs fell by 2-100 %; only runs whose updates already exceed
# HIGH_RATIO are judged by it.)
LOSS_IMPROVED = 0.05
# A loss that rose by this share, or went non-finite, diverged: an error, not a warning. (Ours.)
LOSS_DIVERGED = 0.5
# A loss that spiked this many times above its starting value blew up at some point, even if it
# came back down (often to chance level, with the units dead or the attention collapsed).
# (Ours, `python -m tests.scenarios.report --stats`: every run that was not too-high peaked at
# most 2.75x its start; the too-high runs peaked at 15x, 309x and 7e14x. The held-out
# Transformer at lr=0.3, which peaked at 15x, was missed with the first value of 100.)
LOSS_SPIKE = 10.0
# An early blow-up: a step whose update reaches HIGH_RATIO, followed within BLOW_UP_WITHIN rows
# by the loss rising LOSS_SPIKE-fold or the gradient norm GRAD_JUMP-fold (3 decades, as
# exploding_gradients' growth threshold). Ours, a measurement: SGD at lr 0.9 on an MLP moved the
# weights by 10-3677x at step 0, the loss went 8.7e3 -> 1.3e12 and every ReLU died; the run's
# medians then see only zeros.
BLOW_UP_WITHIN = 3
GRAD_JUMP = 1e3

# Weights rewritten at the start. Adam and its kin (bias-corrected moments: their param groups
# carry `betas`: Adam, AdamW, NAdam, RAdam, Adamax, Lion, 8-bit and fused variants) move each
# weight by about lr at their first steps (m_hat / sqrt(v_hat) = +-1 at step 1) whatever the
# gradient, so a weight matrix's ratio there is lr / rms(W). At REWRITE_RATIO, a third of the
# weights' size per step, the initialisation is gone in a few steps and the weights then grow
# until lr is small beside them, which is why the run's median ratio looks normal afterwards and
# the loss may still fall. SGD (its step shrinks with the gradient), LBFGS and RMSprop (no bias
# correction: its first steps are ~10x lr by design) are left to the rules above.
# Measured (first REWRITE_ROWS rows, median over weight matrices): healthy Adam-family runs
# 0.004-0.13 (scenarios and bench/realworld.py: nanoGPT 0.06, HF Trainer 0.06, sigmoid output
# with lr 0.02: 0.13); the same programs at 100x their LR 0.55-0.69.
REWRITE_RATIO = 0.3
REWRITE_ROWS = 3
# ... confirmed by the weights' growth over the run (median over the matrices of last / first
# ||W||): the 100x runs grew 4-33x; healthy Adam-family runs 1.0-3.5.
REWRITE_GROWTH = 2.0
# Matrices that start far below the scale their fan-in calls for (std x sqrt(fan_in): 0.58 for
# PyTorch's default init, ~1 Xavier, 1.41 He, 0.13-0.55 GPT-2's N(0, 0.02) at widths 48-768) are
# growing into their size on purpose (zero-init projections, LoRA's B, tiny-init experiments): a
# large relative update there is not the learning rate's fault. (Ours: 10x below the default.)
MIN_INIT_GAIN = 0.1
# The ratio healthy Adam-family runs make at their first steps (the median of the measurements
# above): the target of the advice for this case.
FIRST_STEPS_RATIO = 1e-2
ADAPTIVE_MARKER = "betas"


def detect(view: TraceView) -> list[Finding]:
    findings = []
    for actor in view.actors:
        finding = _judge(view, actor) or _early_blow_up(view, actor) or _rewritten(view, actor)
        if finding is not None:
            findings.append(finding)
    return findings


# A too-high rate blows the weights up until each update is small beside them: a low update
# ratio late in such a run is its symptom, not a second, opposite problem (engine 1.6.0;
# word_language_model at 100x its LR got both).
DETECTOR = Detector(code=CODE, detect=detect, cause_rank=80, suppresses=("lr_too_low",))


def _judge(view: TraceView, actor: int) -> Finding | None:
    st = update_stats(view, actor)
    if st is None:
        return None
    stat = max(v for v in (st.early, st.typical) if not math.isnan(v))
    loss = st.loss
    diverged = st.weights_nonfinite or (
        loss is not None
        and (loss.nonfinite > 0 or loss.rel_drop <= -LOSS_DIVERGED or loss.spike >= LOSS_SPIKE)
    )
    if loss is None and not st.weights_nonfinite:
        if stat < HIGH_RATIO_NO_LOSS:
            return None
        confirmation = "no loss was recorded to confirm it"
    else:
        if stat < HIGH_RATIO:
            return None
        if not diverged and loss is not None and loss.rel_drop >= LOSS_IMPROVED:
            return None
        if diverged:
            confirmation = _divergence(st, loss)
        else:
            confirmation = (
                f"the loss did not improve ({fmt(loss.first)} at the start, "
                f"{fmt(loss.last)} over the last quarter)"
            )
    who = view.actor_name(actor)
    return Finding(
        code=CODE,
        severity=Severity.ERROR if diverged else Severity.WARNING,
        title="Learning rate too high",
        summary=(
            f"Each step of {who} changes the weights by about {fmt(stat)} of their size "
            f"({HEALTHY_RANGE}), and {confirmation}."
        ),
        evidence=Evidence(
            statistic="median ||update|| / ||weights|| per step (early window or run)",
            value=stat,
            threshold=HIGH_RATIO,
            comparison=">=",
            steps=tuple(view.step_of(int(r)) for r in st.rows[:3]),
            onset_step=view.step_of(int(st.rows[0])),
            counterfactual=_counterfactual(stat),
            details={
                "actor": who,
                "early_ratio": st.early,
                "run_ratio": st.typical,
                "loss_start": loss.first if loss else None,
                "loss_last_quarter": loss.last if loss else None,
                "loss_peak": loss.peak if loss else None,
                "diverged": diverged,
            },
        ),
        fix=_fix(stat),
        glossary=("learning-rate", "optimizer", "exploding-gradient"),
        confidence=margin_confidence(stat, HIGH_RATIO, decades_full=1.0)
        if loss is not None
        else 0.6,
    )


def _early_blow_up(view: TraceView, actor: int) -> Finding | None:
    """A huge update in the first steps that blew the loss or the gradient up by decades.

    After such a blow-up the net is often dead (every ReLU off, updates 0) or NaN, so the run's
    medians see nothing; the steps before it still tell. Judged on rows whose gradient was
    finite: an update made huge by an already-overflowing gradient is exploding_gradients'.
    """
    params = judged_params(view, actor)
    rows = view.rows_of(actor)
    if params.size == 0 or rows.size < 2:
        return None
    # The first rows themselves, not a sample: a blow-up is one step. Capped like every series.
    n_early = min(MAX_SERIES_ROWS, max(EARLY_MIN_ROWS, math.ceil(EARLY_SHARE * rows.size)))
    per_row = row_update_ratio(view, rows[:n_early], params)
    big = np.flatnonzero(np.isfinite(per_row) & (per_row >= HIGH_RATIO))
    if big.size == 0:
        return None
    i = int(big[0])
    confirmation = _blown_up_after(view, rows, i, params)
    if not confirmation:
        return None
    stat = float(per_row[i])
    step = view.step_of(int(rows[i]))
    who = view.actor_name(actor)
    return Finding(
        code=CODE,
        severity=Severity.ERROR,
        title="Learning rate too high",
        summary=(
            f"At step {step} the update of {who} moved the weights by {fmt(stat)} of their "
            f"size ({HEALTHY_RANGE}), and {confirmation}. What "
            "follows (dead units, zero or NaN gradients) is the aftermath of that blow-up."
        ),
        evidence=Evidence(
            statistic="median ||update|| / ||weights|| over layers, at a step in the early window",
            value=stat,
            threshold=HIGH_RATIO,
            comparison=">=",
            steps=tuple(view.step_of(int(r)) for r in rows[big][:10]),
            onset_step=step,
            counterfactual=_counterfactual(stat),
            details={"actor": who, "blow_up_step": step, "diverged": True},
        ),
        fix=_fix(stat),
        glossary=("learning-rate", "optimizer", "exploding-gradient"),
        confidence=margin_confidence(stat, HIGH_RATIO, decades_full=1.0),
    )


def _rewritten(view: TraceView, actor: int) -> Finding | None:
    """An Adam-family optimizer whose first steps moved most weight matrices by REWRITE_RATIO
    of their size or more, after which the weights grew REWRITE_GROWTH-fold: the learning rate
    overwrote the initialisation, even when the loss still fell."""
    if not _adaptive(view, actor):
        return None
    rows = view.rows_of(actor)
    params = judged_params(view, actor)
    # embeddings: only the rows a batch looks up get a gradient, so their ratio is not lr's
    params = _at_working_scale(view, params[~view.is_embedding[params]], rows)
    if params.size == 0 or rows.size < 2 * REWRITE_ROWS:
        return None
    # the first rows whose ratio could be read (a few more than needed, for rows without one)
    per_row = row_update_ratio(view, rows[: 4 * REWRITE_ROWS], params)
    first = per_row[np.isfinite(per_row)][:REWRITE_ROWS]
    if first.size < REWRITE_ROWS:
        return None
    stat = float(np.median(first))
    w = view.steps.weight_norm
    with np.errstate(all="ignore"):
        growth = float(nanmedian(w[rows[-1], params] / w[rows[0], params]))
    if stat < REWRITE_RATIO or not growth >= REWRITE_GROWTH:
        return None
    who = view.actor_name(actor)
    loss = view.loss_trend(rows)
    after = (
        f"; the loss still fell ({fmt(loss.first)} at the start, {fmt(loss.last)} over the last "
        "quarter), but weights set by the learning rate rather than by the data make training "
        "noisy and unstable as it goes on"
        if loss is not None and loss.rel_drop > 0
        else ""
    )
    return Finding(
        code=CODE,
        severity=Severity.WARNING,
        title="Learning rate too high",
        summary=(
            f"At its first steps {who} moved the weights by {fmt(stat)} of their size per step "
            f"({HEALTHY_RANGE}). {view.trace.optimizers[actor].type} moves every weight by "
            "about the learning rate whatever its gradient, so the learning rate is about "
            f"{fmt(stat)} of a typical weight: the initialisation was overwritten within a few "
            f"steps, and the weights grew {fmt(growth)}x until the rate was small beside them"
            f"{after}."
        ),
        evidence=Evidence(
            statistic=(
                f"median ||update|| / ||weights|| over weight matrices, first {REWRITE_ROWS} steps"
            ),
            value=stat,
            threshold=REWRITE_RATIO,
            comparison=">=",
            steps=tuple(view.step_of(int(r)) for r in rows[:REWRITE_ROWS]),
            onset_step=view.step_of(int(rows[0])),
            counterfactual=_counterfactual(stat, FIRST_STEPS_RATIO),
            details={
                "actor": who,
                "first_steps_ratio": stat,
                "weight_growth": growth,
                "matrices": int(params.size),
                "loss_start": loss.first if loss else None,
                "loss_last_quarter": loss.last if loss else None,
                "diverged": False,
            },
        ),
        fix=_fix(stat, FIRST_STEPS_RATIO),
        glossary=("learning-rate", "optimizer"),
        confidence=margin_confidence(stat, REWRITE_RATIO, decades_full=1.0),
    )


def _adaptive(view: TraceView, actor: int) -> bool:
    """The actor is an Adam-family optimizer: every one of its param groups carries betas."""
    if actor < 0:
        return False
    groups = view.trace.optimizers[actor].groups
    return bool(groups) and all(ADAPTIVE_MARKER in view.trace.groups[g].hyperparams for g in groups)


def _at_working_scale(view: TraceView, params: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The weight matrices whose first recorded weights are at least MIN_INIT_GAIN of the scale
    their fan-in calls for (std x sqrt(fan_in))."""
    if rows.size == 0:
        return params[:0]
    keep = []
    for p in params:
        shape = view.trace.params[p].shape
        w0 = float(view.steps.weight_norm[rows[0], p])
        if len(shape) < 2 or not (math.isfinite(w0) and w0 > 0):
            continue
        gain = w0 / math.sqrt(view.numel[p]) * math.sqrt(math.prod(shape[1:]))
        if gain >= MIN_INIT_GAIN:
            keep.append(p)
    return np.array(keep, dtype=np.int64)


def _blown_up_after(view: TraceView, rows: np.ndarray, i: int, params: np.ndarray) -> str:
    """How the run blew up right after row i: the loss rising LOSS_SPIKE-fold, or the gradient
    norm jumping GRAD_JUMP-fold, over the next BLOW_UP_WITHIN rows. '' when it did not."""
    after = rows[i : i + 1 + BLOW_UP_WITHIN]
    loss = view.steps.loss[after].astype(np.float64)
    if np.isfinite(loss[0]) and loss[0] > 0:
        later = loss[1:][np.isfinite(loss[1:])]
        if later.size and later.max() >= LOSS_SPIKE * loss[0]:
            return (
                f"the loss blew up from {fmt(float(loss[0]))} to {fmt(float(later.max()))} "
                f"within {after.size - 1} step(s)"
            )
    norm = pooled_norm(view.steps.fresh_grad_norm, after, params)
    if np.isfinite(norm[0]) and norm[0] > 0:
        later = norm[1:][~np.isnan(norm[1:])]
        if later.size and later.max() >= GRAD_JUMP * norm[0]:
            return (
                f"the gradient norm jumped from {fmt(float(norm[0]))} to "
                f"{fmt(float(later.max())) if np.isfinite(later.max()) else 'overflow'} right after"
            )
    return ""


def _factor(stat: float, target: float = TARGET_RATIO) -> float:
    return max(MIN_FACTOR, stat / target)


def _counterfactual(stat: float, target: float = TARGET_RATIO) -> str:
    return (
        f"a learning rate about {fmt(_factor(stat, target))}x smaller would bring the ratio to "
        f"~{target:.0e}".replace("e-0", "e-")
    )


def _fix(stat: float, target: float = TARGET_RATIO) -> Fix:
    return Fix(
        text=(
            f"Divide the learning rate by about {fmt(_factor(stat, target))} (try a range "
            "around it), "
            "add warm-up, and clip gradients while you search."
        ),
        code=(
            "optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)\n"
            "scheduler = torch.optim.lr_scheduler.LinearLR(\n"
            "    optimizer, start_factor=0.1, total_iters=100)  # warm-up"
        ),
    )


def _divergence(st, loss) -> str:
    if st.weights_nonfinite:
        return "the weights became non-finite"
    if loss is not None and loss.nonfinite:
        return "the loss became non-finite"
    if loss is not None and loss.spike >= LOSS_SPIKE:
        return (
            f"the loss blew up from {fmt(loss.first)} to {fmt(loss.peak)} "
            f"(ending at {fmt(loss.last)})"
        )
    return f"the loss rose from {fmt(loss.first)} to {fmt(loss.last)}"
