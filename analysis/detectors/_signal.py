"""The forward signal through depth: how the std of each hidden layer's output compares with the
layers before it (from the recorded per-module activation statistics).

A layer multiplies the std of its input by a gain that its weight scale sets (std(W) x
sqrt(fan_in), times what the activation keeps: ~1 for tanh near 0, 1/sqrt(2) for ReLU). Gains
well below 1 compound: 8 tanh layers at 0.16 leave 0.16^8 ~ 1e-6 of the signal. The same
weights carry the backward signal, so every weight gradient (delta x input activation) is
shrunk by that product, whether the shrink sits in the delta (layers before the collapse) or in
the activation (layers after it). A normalisation layer restores the scale, so a collapse can
only compound between two of them.

Statistic, per row: the *drawdown*, min over layers j of std_j / max(std_i, i <= j) within a
run of layers not separated by normalisation: how far the signal fell below the widest point
before it. Scale-free (a rescaled input cancels) and per layer (the span and per-layer gain of
the deepest fall are reported).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.detectors._view import NORM_TYPE_MARKERS, Layer, TraceView


@dataclass(frozen=True)
class Signal:
    layers: list[Layer]  # hidden layers whose output std was recorded, forward order
    rows: np.ndarray  # rows judged (sampled)
    std: np.ndarray  # float64[R, L]: each layer's output std
    segment: np.ndarray  # int[L]: layers with the same number have no normalisation between
    drawdown: np.ndarray  # float64[R]: min_j std_j / max_{i<=j} std_i (1 = no fall)
    top: np.ndarray  # int[R]: index (into layers) of the widest point before the deepest fall
    bottom: np.ndarray  # int[R]: index of the narrowest point of the deepest fall


def forward_signal(view: TraceView, actor: int) -> Signal | None:
    return view.cached("forward_signal", actor, _forward_signal)


def _forward_signal(view: TraceView, actor: int) -> Signal | None:
    rows = view.sample(view.rows_of(actor))
    cols, layers = [], []
    for layer in view.hidden_layers(actor):
        m = view.module_by_path.get(layer.module)
        if m is not None:
            cols.append(m)
            layers.append(layer)
    if len(layers) < 2 or rows.size == 0:
        return None
    std = view.steps.act_std[np.ix_(rows, cols)].astype(np.float64)
    seen = np.isfinite(std).all(axis=0)  # modules without statistics (non-leaf) are left out
    if seen.sum() < 2:
        return None
    layers = [layer for layer, ok in zip(layers, seen, strict=True) if ok]
    std = std[:, seen]
    segment = _segments(view, layers)
    with np.errstate(divide="ignore"):
        fall, top, bottom = deepest_fall(np.log(std), segment)
    return Signal(
        layers=layers,
        rows=rows,
        std=std,
        segment=segment,
        drawdown=np.exp(fall),
        top=top,
        bottom=bottom,
    )


def deepest_fall(logs: np.ndarray, segment: np.ndarray):
    """Per row of log-stds [R, L]: the deepest fall below an earlier layer of the same segment
    (log ratio <= 0; -inf for a constant output), the index of that earlier, widest layer and
    of the narrowest one."""
    rows, n = logs.shape
    best = logs.copy()
    arg = np.tile(np.arange(n), (rows, 1))
    for j in range(1, n):
        if segment[j] != segment[j - 1]:
            continue  # a normalisation layer between restarts the comparison
        keep = best[:, j - 1] >= best[:, j]
        best[keep, j] = best[keep, j - 1]
        arg[keep, j] = arg[keep, j - 1]
    with np.errstate(invalid="ignore"):
        fall = logs - best
    fall = np.where(np.isnan(fall), 0.0, fall)
    bottom = np.argmin(fall, axis=1)
    r = np.arange(rows)
    return fall[r, bottom], arg[r, bottom], bottom


def _segments(view: TraceView, layers: list[Layer]) -> np.ndarray:
    """Segment number of each layer: it grows at each normalisation layer that ran between two
    consecutive layers (forward order)."""
    norms = sorted(
        m.order
        for m in view.trace.modules
        if m.order >= 0 and any(k in m.type for k in NORM_TYPE_MARKERS)
    )
    orders = np.array([layer.order for layer in layers])
    return np.searchsorted(np.array(norms, dtype=float), orders, side="left")
