"""The update actually applied: ||W_after - W_before|| / ||W_before|| per step (shared by the LR
detectors). Judging the learning rate by the applied update, not by lr x grad, makes the rule
hold for Adam (scale-invariant), momentum, schedulers and manual SGD alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.detectors._view import LossTrend, TraceView, row_nanmedian

# The early window over which blow-ups are judged: the first quarter of the actor's rows, at
# least 3. (Ours: the prototype saw ratios >= 0.15 "in early steps" on runs that blew up.)
EARLY_SHARE = 0.25
EARLY_MIN_ROWS = 3


@dataclass(frozen=True)
class UpdateStats:
    actor: int
    rows: np.ndarray  # rows judged (sampled)
    per_row: np.ndarray  # float64[R]: median update/weight ratio over the actor's layers
    typical: float  # median of per_row over the run
    early: float  # median of per_row over the early window
    moving: float  # like typical, over the cells whose weights moved (NaN: nothing moved)
    loss: LossTrend | None
    weights_nonfinite: bool
    params: int


def update_stats(view: TraceView, actor: int) -> UpdateStats | None:
    return view.cached("update_stats", actor, _update_stats)


def _update_stats(view: TraceView, actor: int) -> UpdateStats | None:
    params = view.params_of(actor)
    params = params[view.ever_graded[params]]
    matrices = params[view.is_matrix[params]]
    if matrices.size:
        params = matrices
    rows = view.sample(view.rows_of(actor))
    if params.size == 0 or rows.size < EARLY_MIN_ROWS:
        return None
    s = view.steps
    upd = s.update_norm[np.ix_(rows, params)].astype(np.float64)
    w = s.weight_norm[np.ix_(rows, params)].astype(np.float64)
    g = s.grad_norm[np.ix_(rows, params)]
    # Only cells where the optimizer had a gradient to apply: a missing gradient is another
    # detector's business, not the learning rate's.
    with np.errstate(all="ignore"):
        ratio = np.where((g > 0) & (w > 0), upd / w, np.nan)
    per_row = row_nanmedian(ratio)
    # Layers whose update float32 absorbed entirely (lr x gradient below eps x ||W||, as in
    # early layers whose gradient vanished) say nothing about the learning rate's size.
    with np.errstate(all="ignore"):
        moved = row_nanmedian(np.where(upd > 0, ratio, np.nan))
    moved = moved[np.isfinite(moved)]
    finite = np.isfinite(per_row)
    if finite.sum() < EARLY_MIN_ROWS:
        return None
    n_early = max(EARLY_MIN_ROWS, int(np.ceil(EARLY_SHARE * rows.size)))
    early_vals = per_row[:n_early][np.isfinite(per_row[:n_early])]
    weight_bad = bool(np.any(s.weight_nonfinite[np.ix_(view.rows_of(actor), params)] > 0))
    return UpdateStats(
        actor=actor,
        rows=rows,
        per_row=per_row,
        typical=float(np.median(per_row[finite])),
        early=float(np.median(early_vals)) if early_vals.size else float("nan"),
        moving=float(np.median(moved)) if moved.size else float("nan"),
        loss=view.loss_trend(view.rows_of(actor)),
        weights_nonfinite=weight_bad,
        params=int(params.size),
    )


def judged_params(view: TraceView, actor: int) -> np.ndarray:
    """The actor's parameters that got a gradient; their weight matrices when it has any."""
    params = view.params_of(actor)
    params = params[view.ever_graded[params]]
    matrices = params[view.is_matrix[params]]
    return matrices if matrices.size else params


def row_update_ratio(view: TraceView, rows: np.ndarray, params: np.ndarray) -> np.ndarray:
    """float64[len(rows)]: median over ``params`` of ||update|| / ||weights||, counting only
    cells whose gradient was finite and non-zero (NaN where there is none). Unlike
    ``update_stats`` it needs no minimum number of rows: a run that blew up at step 1 and
    then died still has its first rows."""
    s = view.steps
    upd = s.update_norm[np.ix_(rows, params)].astype(np.float64)
    w = s.weight_norm[np.ix_(rows, params)].astype(np.float64)
    g = s.grad_norm[np.ix_(rows, params)]
    with np.errstate(all="ignore"):
        ratio = np.where(np.isfinite(g) & (g > 0) & (w > 0), upd / w, np.nan)
    return row_nanmedian(ratio)
