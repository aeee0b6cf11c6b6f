"""not_in_optimizer: a parameter receives gradients but nothing ever updates it.

A trainable parameter in no optimizer's param groups whose gradient is computed (it reaches
``.grad``) while its weights never change. Parameters updated by hand (``p.data -= ...``) change,
so they are not reported; frozen parameters (``requires_grad=False``) get no gradient and are
not reported either.

A layer replaced after the optimizer was built leaves the optimizer holding the old layer's
tensors, which no module of the model owns any more and no gradient reaches; they are named here
as part of the same bug (no_gradient leaves them to this finding).

Severity: a block of missing parameters that runs before every optimized parameter the forward
pass uses (a backbone when only the head was given to the optimizer) is probably meant frozen:
info. Anything else, including an optimizer that updates nothing the forward pass uses, is an
error: those parameters were meant to learn.
"""

from __future__ import annotations

import re

import numpy as np

from analysis.detectors._registry import Detector
from analysis.detectors._view import TraceView, fmt, pooled_norm
from analysis.findings import Evidence, Finding, Fix, Severity

CODE = "not_in_optimizer"

# The recorder's name for a tensor it met only in a param group, never under a module of the
# model (traces/recorder/writer.py: a model's parameters are renamed from the module tree).
OPTIMIZER_ONLY_NAME = re.compile(r"optimizer\d+\.group\d+\.\d+")


def missing(view: TraceView) -> np.ndarray:
    """bool[P]: trainable, in no param group, reached by a gradient, weights never changed."""
    if view.S == 0:
        return np.zeros(view.P, dtype=bool)
    return view.trainable & (view.param_actor < 0) & view.ever_graded & ~view.weights_changed


def outside_model(view: TraceView) -> np.ndarray:
    """bool[P]: tensors an optimizer holds that no module of the model owns (with a model to
    own them): after ``model.head = nn.Linear(...)`` the optimizer keeps the old head's."""
    if view.M == 0:
        return np.zeros(view.P, dtype=bool)
    return np.array(
        [
            p.optimizer is not None
            and p.module == ""
            and bool(OPTIMIZER_ONLY_NAME.fullmatch(p.name))
            for p in view.trace.params
        ],
        dtype=bool,
    )


def reached(view: TraceView) -> np.ndarray:
    """bool[P]: a gradient reached the parameter at least once; a NaN/Inf one counts (its norm
    is NaN, which ``ever_graded``'s "> 0" reads as none)."""
    if view.S == 0:
        return np.zeros(view.P, dtype=bool)
    return view.ever_graded | np.any(view.steps.grad_nonfinite > 0, axis=0)


def orphaned(view: TraceView) -> np.ndarray:
    """bool[P]: optimizer-held tensors outside the model that no gradient ever reached."""
    return outside_model(view) & view.trainable & ~reached(view)


def detect(view: TraceView) -> list[Finding]:
    idx = np.flatnonzero(missing(view))
    if idx.size == 0:
        return []
    names = tuple(view.trace.params[i].name for i in idx)
    modules = tuple(dict.fromkeys(view.trace.params[i].module for i in idx))
    # What the optimizer updates that the forward pass uses: its parameters a gradient reached.
    # The tensors of a layer replaced after it was built are never reached, so they do not count.
    used = (view.param_actor >= 0) & reached(view)
    optimized = np.flatnonzero(used)
    # A leading block (every missing parameter runs before every optimized one) is how a
    # backbone looks when only the head was given to the optimizer: probably meant frozen.
    leading = bool(
        optimized.size
        and np.isfinite(view.param_order[idx]).all()
        and view.param_order[idx].max() < np.nanmin(view.param_order[optimized])
    )
    old = np.flatnonzero(orphaned(view))
    old_names = [view.trace.params[i].name for i in old]
    rows = view.sample(np.arange(view.S))
    grad_now = pooled_norm(view.steps.grad_norm, rows[-1:], idx)[0]
    stale = float(view.steps.stale_grad[np.ix_(rows, idx)].mean()) if rows.size > 1 else 0.0
    if leading:
        severity = Severity.INFO
        title = "Gradients are computed for parameters no optimizer updates (a frozen backbone?)"
        tail = (
            " They all come before the optimized layers, like a backbone meant to be frozen: "
            "set requires_grad=False on them to skip computing these gradients."
        )
    else:
        severity = Severity.ERROR
        title = "Parameters get gradients but are in no optimizer: they never learn"
        tail = (
            " They are missing from every param group, so optimizer.step() never touches them"
            " (typically a layer added or replaced after the optimizer was built)."
        )
        if not optimized.size:
            tail += (
                " The optimizer updates nothing the forward pass uses: none of the parameters"
                " that get gradients is in it."
            )
    if old.size:
        tail += (
            f" The optimizer still holds {old.size} tensor(s) that no module of the model owns"
            f" ({_shapes(view, old)}) and that no gradient ever reaches: the old copy of a layer"
            " replaced after the optimizer was built, kept in the new one's place."
        )
    summary = (
        f"{idx.size} trainable parameter(s) in {view.describe_list(modules)} received gradients but their "
        f"weights never changed in {view.S} steps." + tail
    )
    return [
        Finding(
            code=CODE,
            severity=severity,
            title=title,
            summary=summary,
            evidence=Evidence(
                statistic="trainable parameters with gradients, in no param group, never changed",
                value=float(idx.size),
                threshold=0.0,
                comparison=">",
                modules=modules[:20],
                params=names[:20],
                counterfactual=(
                    f"their .grad keeps growing under optimizer.zero_grad(): norm "
                    f"{fmt(float(grad_now))} at the last step, stale on "
                    f"{round(100 * stale)}% of steps"
                ),
                details={
                    "leading_block": leading,
                    "stale_share": stale,
                    "orphaned_tensors": old_names[:20],
                },
            ),
            fix=Fix(
                text=(
                    "Build the optimizer after the model is complete and pass it every parameter "
                    "that should learn; freeze the others with requires_grad_(False)."
                ),
                code=(
                    "model.head = nn.Linear(512, num_classes)   # replace layers first\n"
                    "optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)  # then build\n"
                    "# or, to keep a backbone fixed:\n"
                    "for p in model.backbone.parameters():\n"
                    "    p.requires_grad_(False)"
                ),
            ),
            glossary=("optimizer", "computational-graph"),
            confidence=0.7 if leading else 0.95,
        )
    ]


DETECTOR = Detector(code=CODE, detect=detect, cause_rank=30)


def _shapes(view: TraceView, idx: np.ndarray) -> str:
    shown = ["x".join(str(d) for d in view.trace.params[i].shape) or "scalar" for i in idx[:5]]
    more = f" and {idx.size - 5} more" if idx.size > 5 else ""
    return "shapes " + ", ".join(shown) + more
