"""ranks_disagree: the ranks of a distributed run train different models.

Data-parallel training (DDP, and every launcher that averages gradients across ranks) keeps one
model in N copies: the copies start equal (DDP broadcasts rank 0's weights when it wraps the
model), the all-reduce hands every rank the same averaged gradient, and the same optimizer step
on the same numbers gives the same weights. So at every step the weight norms and the gradient
norms (read after backward, once the all-reduce is done) are equal on every rank, to float
rounding. When they are not, the copies drifted apart: the model was not wrapped (each rank
trains alone on its shard), the forward pass went around the wrapper (``ddp.module(x)``: no
gradient hook fires, no all-reduce), or a rank stepped with other gradients (``no_sync`` left on,
a rank-dependent loss).

Needs the other ranks' traces (``diagnose(trace, peers=...)``: ``run.rank1.trace``, ...); a
single-process trace never gives it. Parameters are compared by name and shape, rows by step
number, so sharded runs (FSDP, ZeRO: each rank holds another slice) are compared only where the
shapes match, and their slices differ by design: a sharded run's traces are not compared
(``SHARDED_SHAPES``).
"""

from __future__ import annotations

import numpy as np

from analysis.detectors._registry import Detector
from analysis.detectors._view import TraceView, fmt
from analysis.findings import Evidence, Finding, Fix, Severity
from traces.model import Trace

CODE = "ranks_disagree"

# Relative difference of a norm between two ranks above which the copies are not the same
# model. Synchronised replicas are equal up to the rounding of an all-reduce whose summation
# order may differ by rank: ~1e-7 relative in float32 per step, growing at most linearly over a
# short run. 1e-3 leaves four orders of magnitude of margin. (Ours, from float32's epsilon.)
REL_TOLERANCE = 1e-3
# A parameter disagrees when most of the compared steps do (one odd step is not a pattern;
# ours, as PERSIST_SHARE elsewhere).
DISAGREE_SHARE = 0.5


def _relative_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    scale = np.fmax(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.abs(a - b) / scale
    return np.where(scale > 0, out, 0.0)


def compare(trace: Trace, peer: Trace) -> dict | None:
    """Per-parameter disagreement of ``peer`` with ``trace`` (None when nothing is comparable)."""
    columns = {(p.name, p.shape): i for i, p in enumerate(peer.params)}
    pairs = [
        (i, columns[(p.name, p.shape)])
        for i, p in enumerate(trace.params)
        if p.trainable and (p.name, p.shape) in columns
    ]
    if not pairs:
        return None
    _, rows, peer_rows = np.intersect1d(trace.steps.step, peer.steps.step, return_indices=True)
    if rows.size == 0:
        return None
    mine, theirs = np.array([i for i, _ in pairs]), np.array([j for _, j in pairs])
    out = {}
    for name in ("weight_norm", "grad_norm"):
        a = getattr(trace.steps, name)[np.ix_(rows, mine)].astype(np.float64)
        b = getattr(peer.steps, name)[np.ix_(peer_rows, theirs)].astype(np.float64)
        measured = np.isfinite(a) & np.isfinite(b)
        rel = np.where(measured, _relative_difference(a, b), np.nan)
        off = np.where(measured, rel > REL_TOLERANCE, False)
        counted = measured.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(counted > 0, off.sum(axis=0) / np.maximum(counted, 1), 0.0)
        first = [int(trace.steps.step[rows[np.argmax(off[:, k])]]) if off[:, k].any() else None
                 for k in range(len(pairs))]  # fmt: skip
        out[name] = {
            "params": [int(i) for i in mine[share >= DISAGREE_SHARE]],
            "max_rel": float(np.nanmax(rel)) if np.isfinite(rel).any() else 0.0,
            "first_step": min((s for s in first if s is not None), default=None),
        }
    return out


def detect(view: TraceView) -> list[Finding]:
    trace = view.trace
    me = trace.extra.get("rank", 0)
    disagreeing: dict[int, dict] = {}
    for peer in view.peers:
        result = compare(trace, peer)
        if result and (result["weight_norm"]["params"] or result["grad_norm"]["params"]):
            disagreeing[int(peer.extra.get("rank", -1))] = result
    if not disagreeing:
        return []
    weights = sorted({i for r in disagreeing.values() for i in r["weight_norm"]["params"]})
    grads = sorted({i for r in disagreeing.values() for i in r["grad_norm"]["params"]})
    flagged = weights or grads
    names = tuple(trace.params[i].name for i in flagged)
    modules = tuple(dict.fromkeys(trace.params[i].module for i in flagged))
    what, column = ("weights", "weight_norm") if weights else ("gradients", "grad_norm")
    worst = max(r[column]["max_rel"] for r in disagreeing.values())
    first = min(
        (s for r in disagreeing.values() if (s := r[column]["first_step"]) is not None),
        default=None,
    )
    ranks = ", ".join(str(r) for r in sorted(disagreeing))
    summary = (
        f"Rank {me} and rank(s) {ranks} hold different {what} for {len(flagged)} parameter(s) "
        f"({view.describe_list(modules)}): the norms differ by up to {fmt(worst)} of their size, "
        f"where data-parallel copies agree to float rounding (~1e-7). "
        + (
            "The copies are no longer the same model: each rank trains its own. "
            if weights
            else "Each rank steps with its own gradients: they were not averaged. "
        )
        + "Typical causes: the model is not wrapped in DistributedDataParallel, or the forward "
        "pass calls the inner module (`ddp_model.module(x)`), so no all-reduce runs, or "
        "`no_sync()` stays on."
    )
    return [
        Finding(
            code=CODE,
            severity=Severity.ERROR,
            title="The ranks train different models"
            if weights
            else "Gradients differ across ranks",
            summary=summary,
            evidence=Evidence(
                statistic=f"largest relative difference of a {column.replace('_', ' ')} between ranks",
                value=worst,
                threshold=REL_TOLERANCE,
                comparison=">",
                modules=modules[:20],
                params=names[:20],
                onset_step=first,
                details={
                    "rank": me,
                    "disagreeing_ranks": sorted(disagreeing),
                    "weights_differ": [trace.params[i].name for i in weights][:20],
                    "gradients_differ": [trace.params[i].name for i in grads][:20],
                },
            ),
            fix=Fix(
                text="Wrap the model once in DistributedDataParallel and call the wrapper in the "
                "forward pass (not `.module`), with the same initial weights on every rank.",
                code=(
                    "model = DistributedDataParallel(model)   # after init_process_group\n"
                    "loss = loss_fn(model(x), y)               # not model.module(x)\n"
                    "loss.backward()                           # all-reduce runs here\n"
                    "optimizer.step()"
                ),
            ),
            glossary=("optimizer",),
            confidence=0.9,
        )
    ]


DETECTOR = Detector(code=CODE, detect=detect, cause_rank=5)
