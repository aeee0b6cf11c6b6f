"""Shared, cached views of a Trace that several detectors need (pure numpy, no I/O).

An *actor* is whoever changes the weights: an optimizer index, or -1 for manual updates
(``p.data -= lr * p.grad``). Detectors reason per actor so that a GAN's generator and
discriminator, or a manual-SGD loop, are judged on their own rows and their own parameters.

Large traces: per-layer time series are computed on at most ``MAX_SERIES_ROWS`` evenly spaced
rows. Medians, onsets and persistence windows are statistics of the run's shape; sampling keeps
their cost and memory constant however long the run was (see bench/diagnose.py).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from traces.model import EventKind, Trace

# Rows used for per-layer time series on long runs. 2048 evenly spaced rows resolve an onset to
# 0.05 % of the run, far finer than the persistence windows below. (Our choice, for speed.)
MAX_SERIES_ROWS = 2048

# A problem "persists" from its onset when it holds on at least this share of the rows from the
# onset to the end of the run (ours: tolerates the odd good batch without dating a transient).
PERSIST_SHARE = 0.8
# ... and for at least this many rows (and this share of the actor's rows): a single bad batch
# is never a finding. (Ours.)
PERSIST_MIN_ROWS = 3
PERSIST_MIN_SHARE = 0.2

# The loss at the start of a run: the median over its first 10 % of rows (at least 2). Early
# enough that a blow-up a few steps in does not inflate it. (Ours.)
LOSS_INITIAL_SHARE = 0.1

# The batch-to-batch noise of a loss, sigma: 1.4826 x the median absolute step-to-step change,
# over sqrt(2) (1.4826 turns a median absolute deviation into a Gaussian sigma; a difference of
# two draws has sqrt(2) sigma). Differences, not deviations from the median, so a falling trend
# is not counted as noise. A median over n draws has a standard error of sqrt(pi/2) sigma /
# sqrt(n) (its efficiency against the mean): MEDIAN_SE.
MAD_TO_SIGMA = 1.4826
MEDIAN_SE = math.sqrt(math.pi / 2)

# Module types whose parameters are lookup tables, not layers of a depth chain.
EMBEDDING_TYPES = ("Embedding", "EmbeddingBag")
NORM_TYPE_MARKERS = ("Norm",)  # BatchNorm1d/2d, LayerNorm, GroupNorm, RMSNorm, InstanceNorm


@dataclass(frozen=True)
class Layer:
    module: str  # owning module path
    params: np.ndarray  # int indices of its >=2-D trainable weights
    order: float  # forward order


class TraceView:
    def __init__(self, trace: Trace, peers: tuple[Trace, ...] = ()):
        self.trace = trace
        self.peers = peers  # the other ranks of a distributed run (ranks_disagree)
        self.memo: dict = {}  # results several detectors share (e.g. update statistics)
        self.steps = trace.steps
        self.S = trace.num_rows
        self.P = len(trace.params)
        self.M = len(trace.modules)

    # ---- static facts ------------------------------------------------------------------
    @cached_property
    def module_by_path(self) -> dict[str, int]:
        return {m.path: i for i, m in enumerate(self.trace.modules)}

    @cached_property
    def module_order(self) -> np.ndarray:
        """Forward order of each module; modules that never ran take their nearest ancestor's."""
        out = np.full(self.M, np.inf)
        for i, m in enumerate(self.trace.modules):
            out[i] = self._order_of_path(m.path)
        return out

    @cached_property
    def roots(self) -> set[str]:
        """Top-level module paths: "" for one model, "G", "D", ... when several were found."""
        if "" in self.module_by_path:
            return {""}
        return {m.path for m in self.trace.modules if "." not in m.path}

    def root_of(self, path: str) -> str:
        if "" in self.roots:
            return ""
        return path.split(".", 1)[0]

    def _order_of_path(self, path: str, *, up_to_root: bool = True) -> float:
        """Forward order of a module; when it never ran itself (an attention block's out_proj,
        whose weight its parent uses directly), its nearest ancestor's that did. A root always
        runs, so it only counts with ``up_to_root``."""
        while True:
            i = self.module_by_path.get(path)
            is_root = path in self.roots
            if i is not None and self.trace.modules[i].order >= 0 and (up_to_root or not is_root):
                return float(self.trace.modules[i].order)
            if not path or is_root:
                return math.inf
            path = path.rpartition(".")[0]

    @cached_property
    def param_order(self) -> np.ndarray:
        return np.array([self._order_of_path(p.module) for p in self.trace.params], dtype=float)

    @cached_property
    def param_ran(self) -> np.ndarray:
        """The owning module, or an ancestor below the top-level model, ran in a forward pass
        (the top-level model always runs, so it proves nothing about an unused branch)."""
        return np.array(
            [
                math.isfinite(self._order_of_path(p.module, up_to_root=p.module in self.roots))
                for p in self.trace.params
            ],
            dtype=bool,
        )

    @cached_property
    def param_in_training(self) -> np.ndarray | None:
        """bool[P]: the parameter takes part in training — an optimizer holds it, or its module
        (or an ancestor) ran forward with autograd on before some optimizer step. A copy loaded
        after training, an evaluation under no_grad, an EMA or teacher network updated by hand
        do not. None when the trace does not say (written before modules carried grad_step)."""
        modules = self.trace.modules
        if not modules or any(m.grad_step is None for m in modules):
            return None
        steps_taken = max(self.trace.run.total_steps, int(self.steps.step[-1]) + 1 if self.S else 0)
        trained = {m.path for m in modules if 0 <= m.grad_step < steps_taken}
        return np.array(
            [
                p.optimizer is not None
                or any(path in trained for path in _lineage(p.module, self.module_by_path))
                for p in self.trace.params
            ],
            dtype=bool,
        )

    @cached_property
    def numel(self) -> np.ndarray:
        return np.array([math.prod(p.shape) for p in self.trace.params], dtype=np.int64)

    @cached_property
    def is_matrix(self) -> np.ndarray:
        return np.array([len(p.shape) >= 2 for p in self.trace.params], dtype=bool)

    @cached_property
    def trainable(self) -> np.ndarray:
        return np.array([p.trainable for p in self.trace.params], dtype=bool)

    @cached_property
    def param_actor(self) -> np.ndarray:
        return np.array(
            [-1 if p.optimizer is None else p.optimizer for p in self.trace.params], dtype=np.int64
        )

    @cached_property
    def param_group(self) -> np.ndarray:
        return np.array(
            [-1 if p.group is None else p.group for p in self.trace.params], dtype=np.int64
        )

    def describe(self, path: str) -> str:
        """A module as people read it, the same in every finding: ``encoder.0 (Linear)``;
        ``(model)`` for the top level. A single model's paths are bare indices ("0") when it is
        an nn.Sequential, so they are shown as attributes of the model: ``model.0 (Linear)``."""
        kind = self.module_type(path)
        name = self.qualified(path) or "(model)"
        return f"{name} ({kind})" if kind else name

    def qualified(self, name: str) -> str:
        """A module path or parameter name, never a bare index: "0.weight" → "model.0.weight"."""
        return f"model.{name}" if "" in self.roots and name[:1].isdigit() else name

    def describe_list(self, paths, *, limit: int = 5) -> str:
        """ "model.0 (Linear), model.2 (Linear) and 3 more"."""
        paths = tuple(paths)
        more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
        return ", ".join(self.describe(p) for p in paths[:limit]) + more

    def init_gain(self, params: np.ndarray) -> float | None:
        """Median over weight matrices of ||W|| / sqrt(numel) * sqrt(fan_in) at the first row:
        1/sqrt(3) = 0.577 for PyTorch's default Linear init, 1.41 for He, ~1 for Xavier."""
        if self.S == 0:
            return None
        gains = []
        for p in params:
            shape = self.trace.params[p].shape
            fan_in = math.prod(shape[1:])
            w = float(self.steps.weight_norm[0, p])
            if len(shape) >= 2 and fan_in > 0 and math.isfinite(w) and self.numel[p] > 0:
                gains.append(w / math.sqrt(self.numel[p]) * math.sqrt(fan_in))
        return float(np.median(gains)) if gains else None

    def module_type(self, path: str) -> str:
        i = self.module_by_path.get(path)
        return self.trace.modules[i].type if i is not None else ""

    @cached_property
    def is_embedding(self) -> np.ndarray:
        return np.array(
            [self.module_type(p.module) in EMBEDDING_TYPES for p in self.trace.params], dtype=bool
        )

    @cached_property
    def has_norm_layers(self) -> bool:
        return any(any(k in m.type for k in NORM_TYPE_MARKERS) for m in self.trace.modules)

    @cached_property
    def summed_backward_count(self) -> np.ndarray:
        """int[S]: backward passes whose gradients add up into the step's ``.grad`` — a pass
        after a clear starts over (an LBFGS closure clears and recomputes at every evaluation of
        its line search: five passes, nothing summed). Rows whose events were capped keep
        ``backward_count``."""
        counts = self.steps.backward_count.astype(np.int64)
        if self.S == 0:
            return counts
        ev = self.trace.events
        keep = np.isin(ev.kind, (EventKind.BACKWARD, EventKind.CLEAR, EventKind.STEP))
        kind, row = ev.kind[keep], ev.row[keep]
        is_backward = kind == EventKind.BACKWARD
        # a backward right after another backward of the same row (no clear between) adds to it
        after_backward = np.zeros_like(is_backward)
        after_backward[1:] = is_backward[1:] & is_backward[:-1] & (row[1:] == row[:-1])
        valid = (row >= 0) & (row < self.S)
        recorded = np.bincount(row[is_backward & valid], minlength=self.S)[: self.S]
        summed = np.bincount(row[after_backward & valid], minlength=self.S)[: self.S]
        summed = summed + (recorded > 0)
        return np.where(recorded == counts, summed, counts)

    # ---- per-parameter summaries over the whole run (one pass over each array) -----------
    @cached_property
    def ever_graded(self) -> np.ndarray:
        """A gradient with a finite, non-zero norm arrived in at least one window."""
        fresh = self.steps.fresh_grad_norm
        if self.S == 0:
            return np.zeros(self.P, dtype=bool)
        return np.any(fresh > 0, axis=0)

    @cached_property
    def ever_grad_present(self) -> np.ndarray:
        """``.grad`` existed (was measured) in at least one window, possibly all zeros."""
        if self.S == 0:
            return np.zeros(self.P, dtype=bool)
        fresh_seen = ~np.all(np.isnan(self.steps.fresh_grad_norm), axis=0)
        grad_seen = ~np.all(np.isnan(self.steps.grad_norm), axis=0)
        return fresh_seen | grad_seen

    @cached_property
    def weights_changed(self) -> np.ndarray:
        """Something changed the weights at least once (an optimizer or a manual update)."""
        if self.S == 0:
            return np.zeros(self.P, dtype=bool)
        updated = np.any(self.steps.update_norm > 0, axis=0)
        w = self.steps.weight_norm
        # fmin/fmax skip NaN (not measured) without copying the [rows, params] array.
        lo = np.fmin.reduce(w, axis=0)
        hi = np.fmax.reduce(w, axis=0)
        with np.errstate(invalid="ignore"):
            # float32 norms: a relative change above 1e-6 is a real change, not rounding.
            drift = np.nan_to_num(hi - lo, nan=0.0) > 1e-6 * np.nan_to_num(hi, nan=0.0)
        return updated | drift

    @cached_property
    def lr_zero_group(self) -> np.ndarray:
        """Param groups whose learning rate was 0 on every row (a deliberate freeze)."""
        lr = self.steps.lr
        if lr.size == 0:
            return np.zeros(len(self.trace.groups), dtype=bool)
        return np.all(np.nan_to_num(lr, nan=0.0) == 0, axis=0)

    # ---- actors -------------------------------------------------------------------------
    @cached_property
    def actors(self) -> list[int]:
        return sorted(int(a) for a in np.unique(self.steps.optimizer))

    def rows_of(self, actor: int) -> np.ndarray:
        return np.flatnonzero(self.steps.optimizer == actor)

    def params_of(self, actor: int) -> np.ndarray:
        """Trainable parameters this actor updates (manual: trainable, in no optimizer, changed)."""
        mask = self.trainable & (self.param_actor == actor)
        if actor >= 0:
            groups = self.param_group
            frozen_by_lr = np.zeros(self.P, dtype=bool)
            has_group = groups >= 0
            frozen_by_lr[has_group] = self.lr_zero_group[groups[has_group]]
            mask &= ~frozen_by_lr
        else:
            mask &= self.weights_changed
        return np.flatnonzero(mask)

    def actor_name(self, actor: int) -> str:
        if actor < 0:
            return "manual updates"
        opt = self.trace.optimizers[actor]
        return f"optimizer {actor} ({opt.type})" if len(self.trace.optimizers) > 1 else opt.type

    def cached(self, name: str, actor: int, compute):
        """``compute(self, actor)``, computed once per view (shared by several detectors)."""
        key = (name, actor)
        if key not in self.memo:
            self.memo[key] = compute(self, actor)
        return self.memo[key]

    def hidden_layers(self, actor: int) -> list[Layer]:
        """The actor's layers without the output head: including it drags healthy nets'
        first/last ratio down to 0.03-0.33 (prototype measurement, issue 4)."""
        return self.layers(actor)[:-1]

    def layers(self, actor: int) -> list[Layer]:
        return self.cached("layers", actor, TraceView._layers)

    def _layers(self, actor: int) -> list[Layer]:
        """The actor's layers with >=2-D weights, in forward order, the output head last.

        A layer is a module; its weight matrices are pooled (an LSTM's ih/hh). Embeddings are
        left out (their gradient follows token frequency, not depth).
        """
        idx = self.params_of(actor)
        idx = idx[self.is_matrix[idx] & ~self.is_embedding[idx] & self.param_ran[idx]]
        idx = idx[self.ever_graded[idx]]
        if idx.size == 0:
            return []
        by_module: dict[str, list[int]] = {}
        for i in idx:
            by_module.setdefault(self.trace.params[i].module, []).append(int(i))
        layers = [
            Layer(module=m, params=np.array(ps), order=float(self.param_order[ps[0]]))
            for m, ps in by_module.items()
        ]
        layers.sort(key=lambda layer: (layer.order, int(layer.params[0])))
        return layers

    # ---- rows ---------------------------------------------------------------------------
    @staticmethod
    def sample(rows: np.ndarray, limit: int = MAX_SERIES_ROWS) -> np.ndarray:
        if rows.size <= limit:
            return rows
        pick = np.linspace(0, rows.size - 1, limit).round().astype(np.int64)
        return rows[np.unique(pick)]

    def step_of(self, row: int) -> int:
        return int(self.steps.step[row])

    @cached_property
    def skipped_in_window(self) -> np.ndarray:
        """bool[S]: a GradScaler skipped a step inside this row's window."""
        ev = self.trace.events
        out = np.zeros(self.S, dtype=bool)
        rows = ev.row[ev.kind == EventKind.SKIPPED_STEP]
        out[rows] = True
        return out

    def loss_trend(self, rows: np.ndarray) -> LossTrend | None:
        loss = self.steps.loss[rows]
        finite = np.isfinite(loss)
        if finite.sum() < 4:
            return None
        good = loss[finite]
        n_first = max(2, math.ceil(LOSS_INITIAL_SHARE * good.size))
        n_last = max(2, good.size // 4)
        # The start: the first loss, unless the first 10 % are lower (a noisy first batch). A
        # blow-up on step 1 must not inflate it.
        first = float(min(good[0], np.median(good[:n_first])))
        last = float(np.median(good[-n_last:]))
        scale = max(abs(first), 1e-12)
        seen = ~np.isnan(loss)
        sigma = MAD_TO_SIGMA * float(np.median(np.abs(np.diff(good)))) / math.sqrt(2)
        return LossTrend(
            first=first,
            last=last,
            peak=float(good.max()),
            rel_drop=(first - last) / scale,
            spike=float(good.max()) / scale,
            nonfinite=int((seen & ~finite).sum()),
            drop_se=MEDIAN_SE * sigma * math.sqrt(1 / n_first + 1 / n_last),
        )


@dataclass(frozen=True)
class LossTrend:
    first: float  # the start: min(first loss, median of the first LOSS_INITIAL_SHARE)
    last: float  # median of the last quarter
    peak: float
    rel_drop: float  # (first - last) / |first|: 0.3 = the loss fell by 30 %
    spike: float  # peak / |first|: 1e4 = the loss blew up at some point
    nonfinite: int  # rows whose loss was seen and was NaN/Inf
    # The standard error of first - last that batch-to-batch noise alone gives (0: no noise).
    drop_se: float = 0.0

    def within_noise(self, z: float) -> bool:
        """The fall from the start to the last quarter is less than z standard errors of the
        loss's own batch-to-batch noise: sampling, not learning, could have made it."""
        return self.first - self.last < z * self.drop_se


def persistent_onset(bad: np.ndarray, total_rows: int | None = None) -> int | None:
    """Index of the first element from which ``bad`` holds on PERSIST_SHARE of what follows.

    ``bad`` is a time-ordered bool series. Returns None when no such onset leaves at least
    PERSIST_MIN_ROWS rows and PERSIST_MIN_SHARE of the series after it.
    """
    n = bad.size
    if n == 0:
        return None
    suffix_bad = np.cumsum(bad[::-1])[::-1]
    suffix_len = np.arange(n, 0, -1)
    min_rows = max(PERSIST_MIN_ROWS, math.ceil(PERSIST_MIN_SHARE * (total_rows or n)))
    ok = bad & (suffix_bad >= PERSIST_SHARE * suffix_len) & (suffix_len >= min_rows)
    hits = np.flatnonzero(ok)
    return int(hits[0]) if hits.size else None


def margin_confidence(value: float, threshold: float, *, decades_full: float = 2.0) -> float:
    """0.6 just past the threshold, rising to 0.97 at ``decades_full`` decades beyond it."""
    if not (value > 0 and threshold > 0) or not math.isfinite(value):
        return 0.9
    decades = abs(math.log10(value / threshold))
    return round(0.6 + 0.37 * min(1.0, decades / decades_full), 3)


def fmt(x: float | None) -> str:
    """A number as people read it: 3 significant digits, scientific when far from 1."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    x = float(x)
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e4:
        return f"{x:.3g}"
    return f"{x:.2e}"


def layer_norms(array: np.ndarray, rows: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """float64[len(rows), len(groups)]: ``pooled_norm`` of each column group, in one gather."""
    if not groups:
        return np.empty((rows.size, 0))
    cols = np.concatenate(groups)
    starts = np.cumsum([0] + [g.size for g in groups[:-1]])
    block = array[np.ix_(rows, cols)].astype(np.float64)
    seen = ~np.isnan(block)
    np.nan_to_num(block, copy=False, nan=0.0, posinf=np.inf)
    block *= block
    total = np.sqrt(np.add.reduceat(block, starts, axis=1))
    counted = np.add.reduceat(seen, starts, axis=1)
    total[counted == 0] = np.nan
    return total


def nanmedian(x: np.ndarray, axis: int | None = None):
    """np.nanmedian without the all-NaN RuntimeWarning (an all-NaN slice is simply NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(x, axis=axis)


def row_nanmedian(x: np.ndarray) -> np.ndarray:
    """Median of each row ignoring NaN (NaN for an all-NaN row); a sort, no masked arrays."""
    if x.shape[1] == 0:
        return np.full(x.shape[0], np.nan)
    srt = np.sort(x, axis=1)  # NaN sorts last
    k = np.sum(~np.isnan(x), axis=1)
    lo = np.clip((k - 1) // 2, 0, None)
    hi = np.clip(k // 2, 0, None)
    idx = np.arange(x.shape[0])
    hi = np.minimum(hi, x.shape[1] - 1)
    out = (srt[idx, lo] + srt[idx, hi]) / 2.0
    out[k == 0] = np.nan
    return out


def persistent_onsets(bad: np.ndarray, total_rows: int | None = None) -> np.ndarray:
    """``persistent_onset`` for each column of a [rows, columns] bool array (-1: none)."""
    n = bad.shape[0]
    if n == 0:
        return np.full(bad.shape[1], -1)
    suffix_bad = np.cumsum(bad[::-1], axis=0)[::-1]
    suffix_len = np.arange(n, 0, -1)[:, None]
    min_rows = max(PERSIST_MIN_ROWS, math.ceil(PERSIST_MIN_SHARE * (total_rows or n)))
    ok = bad & (suffix_bad >= PERSIST_SHARE * suffix_len) & (suffix_len >= min_rows)
    return np.where(ok.any(axis=0), np.argmax(ok, axis=0), -1)


def pooled_norm(array: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """float64[len(rows)]: the L2 norm of the concatenated columns (norm of norms) per row.

    NaN entries (not measured) are left out; a row with nothing measured is NaN.
    """
    if cols.size == 0:
        return np.full(rows.size, np.nan)
    return layer_norms(array, rows, [cols])[:, 0]


def _lineage(path: str, known: dict[str, int] | None = None) -> list[str]:
    """A module path and its ancestors' ("a.b.c", "a.b", "a", "").

    A second copy of a model (built again, or loaded from a checkpoint) has its paths written
    with a "#n" suffix (SCHEMA.md): "model.encoder#1" belongs to "model#1", not to the trained
    "model", when the trace has such a module."""
    base, sep, suffix = path.rpartition("#")
    if sep and suffix.isdigit():
        out = []
        for ancestor in _lineage(base):
            copy = f"{ancestor}#{suffix}" if ancestor else ""
            out.append(copy if known is None or copy in known or not ancestor else ancestor)
        return out
    parts = path.split(".") if path else []
    return [".".join(parts[:n]) for n in range(len(parts), -1, -1)]
