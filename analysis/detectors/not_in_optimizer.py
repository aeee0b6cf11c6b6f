"""not_in_optimizer: a parameter receives gradients but nothing ever updates it.

A trainable parameter in no optimizer's param groups whose gradient is computed (it reaches
``.grad``) while its weights never change. Parameters updated by hand (``p.data -= ...``) change,
so they are not reported; frozen parameters (``requires_grad=False``) get no gradient and are
not reported either.
"""

from __future__ import annotations

import numpy as np

from analysis.detectors._view import TraceView, fmt, pooled_norm
from analysis.findings import Evidence, Finding, Fix, Severity

CODE = "not_in_optimizer"


def detect(view: TraceView) -> list[Finding]:
    if view.S == 0:
        return []
    missing = view.trainable & (view.param_actor < 0) & view.ever_graded & ~view.weights_changed
    idx = np.flatnonzero(missing)
    if idx.size == 0:
        return []
    names = tuple(view.trace.params[i].name for i in idx)
    modules = tuple(dict.fromkeys(view.trace.params[i].module for i in idx))
    optimized = np.flatnonzero(view.param_actor >= 0)
    # A leading block (every missing parameter runs before every optimized one) is how a
    # backbone looks when only the head was given to the optimizer: probably meant frozen.
    leading = bool(
        optimized.size
        and np.isfinite(view.param_order[idx]).all()
        and view.param_order[idx].max() < np.nanmin(view.param_order[optimized])
    )
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
    summary = (
        f"{idx.size} trainable parameter(s) in {_list(modules)} received gradients but their "
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
                details={"leading_block": leading, "stale_share": stale},
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


def _list(items: tuple[str, ...]) -> str:
    shown = [m or "(top)" for m in items[:5]]
    more = f" and {len(items) - 5} more" if len(items) > 5 else ""
    return ", ".join(shown) + more
