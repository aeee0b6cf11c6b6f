"""lr_too_low: each step moves the weights by a tiny fraction of their size and the loss is flat.

Statistic, per actor: the run's median of the per-step median (over layers) of
||update|| / ||weights||, against LOW_RATIO, confirmed by a flat loss. Without a loss, a
stricter ratio alone. A short, noisy run whose loss seems to fall while its weights barely moved
at all (STILL_TOTAL) is flat too when the fall is within the loss's own noise.
"""

from __future__ import annotations

import math

import numpy as np

from analysis.detectors._registry import Detector
from analysis.detectors._updates import update_stats
from analysis.detectors._view import LossTrend, TraceView, fmt, margin_confidence
from analysis.findings import Evidence, Finding, Fix, Severity

CODE = "lr_too_low"

# The prototype saw the loss stay flat below 1e-4 and learning from 1e-3 up; Karpathy's
# heuristic puts healthy updates near 1e-3. 1e-4 is a decade below that. (Our scenarios: healthy
# runs 4e-4 to 5e-2, too-low runs 4e-7 to 8e-7.)
LOW_RATIO = 1e-4
# Without a loss to confirm: DeepDiagnosis's lower bound on lr*||dW||/||W||.
LOW_RATIO_NO_LOSS = 1e-5
# Flat: the loss fell by less than this share from the start of the run to its last quarter.
# (Ours, `python -m tests.scenarios.report --stats`: the too-low runs changed by -2 % to -1 %;
# healthy runs fell by 2-100 %, and their updates sit 4-400x above LOW_RATIO anyway.)
LOSS_FLAT = 0.05
# The weights' whole journey: the sum over the run's steps of the per-step ratio bounds how far
# the typical layer moved from where it started (triangle inequality). A network whose layers
# all moved by under 1 % of their size computes nearly what it computed at the start: its
# relative change is bounded by the product of its layers' (1 + relative change) - 1 (Bernstein
# et al. 2020, "deep relative trust"). Then a loss that seems to fall by LOSS_FLAT or more is
# batch noise, when the fall is also within NOISE_Z standard errors of the loss's own
# batch-to-batch noise. (Ours, measured on bench/realworld.py: LR /1000 runs moved 2e-4 to 2e-3
# in total over 24-40 steps, healthy runs 0.24 to 0.84; Lightning at /1000, 30 batches of an MSE
# whose batch-to-batch noise is 1.0, "fell" by 25 % = 1.4 standard errors; healthy runs fell by
# 2.5 to 880 standard errors.)
STILL_TOTAL = 1e-2
NOISE_Z = 2.0
# A learning rate that ends the recorded run this many times higher than it began is a warm-up
# still in progress: small updates are the schedule's intent, not a wrong setting. (Ours.)
WARMUP_GROWTH = 2.0
# The learning rate is read from the updates of the parameters a gradient reaches. When most of
# the actor's weights (by element count) never get a non-zero gradient (ReLUs dead from the
# start, a cut graph), the few that do are not the model: a larger learning rate leaves the rest
# at exactly 0, so a small update there says nothing about the rate (dead_relu or no_gradient
# names the cause). (Ours: half. A ReLU MLP with every bias at -5 under Adam at lr 1e-3 got a
# gradient only on its output bias, 3 of 9k weights, whose update was 5e-5 of its size.)
MIN_GRADED_SHARE = 0.5


def detect(view: TraceView) -> list[Finding]:
    findings = []
    for actor in view.actors:
        st = update_stats(view, actor)
        if st is None:
            continue
        if _warming_up(view, actor) or _graded_share(view, actor) < MIN_GRADED_SHARE:
            continue
        loss = st.loss
        if loss is None:
            if not st.typical < LOW_RATIO_NO_LOSS:
                continue
            confirmation = "no loss was recorded to confirm it"
            threshold = LOW_RATIO_NO_LOSS
        else:
            confirmation = _flat(view, actor, loss) if st.typical < LOW_RATIO else None
            if confirmation is None:
                continue
            threshold = LOW_RATIO
        who = view.actor_name(actor)
        # A median of exactly 0 means most layers' updates vanished below float32 precision;
        # the layers that did move tell the learning rate's size. None moved: say so, no ratio.
        moved = st.typical if st.typical > 0 else st.moving
        if math.isfinite(moved) and moved > 0:
            factor = 1e-3 / moved
            change = f"changes the weights by only {fmt(moved)} of their size"
            counterfactual = (
                f"a learning rate about {fmt(factor)}x larger would bring the ratio to ~1e-3"
            )
            raise_by = f"Raise the learning rate by about {fmt(min(factor, 1e4))}x (try a range"
        else:
            change = "leaves the weights unchanged (every update is below float32 precision)"
            counterfactual = "a larger learning rate would bring the ratio toward ~1e-3"
            raise_by = "Raise the learning rate (try a range"
        findings.append(
            Finding(
                code=CODE,
                severity=Severity.WARNING,
                title="Learning rate too low",
                summary=(
                    f"Each step of {who} {change} (healthy training is near 1e-3), and "
                    f"{confirmation}."
                ),
                evidence=Evidence(
                    statistic="median ||update|| / ||weights|| per step over the run",
                    value=moved if math.isfinite(moved) else st.typical,
                    threshold=threshold,
                    comparison="<",
                    steps=tuple(view.step_of(int(r)) for r in st.rows[:3]),
                    counterfactual=counterfactual,
                    details={
                        "actor": who,
                        "loss_start": loss.first if loss else None,
                        "loss_last_quarter": loss.last if loss else None,
                    },
                ),
                fix=Fix(
                    text=(f"{raise_by}: a learning-rate finder sweeps it in one short run)."),
                    code="optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)",
                ),
                glossary=("learning-rate", "optimizer"),
                confidence=margin_confidence(moved, threshold, decades_full=2.0),
            )
        )
    return findings


DETECTOR = Detector(code=CODE, detect=detect, cause_rank=90)


def _flat(view: TraceView, actor: int, loss: LossTrend) -> str | None:
    """How the loss shows that the run did not learn, in words; None when it learned."""
    if loss.rel_drop < LOSS_FLAT:
        return (
            f"the loss barely moved ({fmt(loss.first)} at the start, "
            f"{fmt(loss.last)} over the last quarter)"
        )
    journey = total_movement(view, actor)
    if journey < STILL_TOTAL and loss.within_noise(NOISE_Z):
        return (
            f"over the whole run the weights moved by only {fmt(journey)} of their size, too "
            f"little to change what the model computes: the loss's change ({fmt(loss.first)} at "
            f"the start, {fmt(loss.last)} over the last quarter) is within its batch-to-batch noise"
        )
    return None


def total_movement(view: TraceView, actor: int) -> float:
    """How far the typical layer moved over the run, as a share of its size: the sum over the
    actor's optimizer steps of the per-step median ratio (steps sampled out or not recorded
    counted at the recorded rows' mean)."""
    st = update_stats(view, actor)
    finite = st.per_row[np.isfinite(st.per_row)] if st is not None else np.empty(0)
    steps = view.rows_of(actor).size * max(1, view.trace.run.every)
    return float(finite.mean()) * steps if finite.size else math.inf


def _graded_share(view: TraceView, actor: int) -> float:
    """Share of the actor's weights (by element count) that ever got a non-zero gradient."""
    params = view.params_of(actor)
    total = int(view.numel[params].sum())
    return float(view.numel[params[view.ever_graded[params]]].sum()) / total if total else 1.0


def _warming_up(view: TraceView, actor: int) -> bool:
    if actor < 0:
        return False
    groups = list(view.trace.optimizers[actor].groups)
    rows = view.rows_of(actor)
    lr = view.steps.lr[np.ix_(rows, groups)] if groups and rows.size else None
    if lr is None or not np.isfinite(lr).all():
        return False
    first, last = lr[0], lr[-1]
    return bool(
        np.any((first > 0) & (last >= WARMUP_GROWTH * first)) or np.any((first == 0) & (last > 0))
    )
