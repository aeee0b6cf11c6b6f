"""gradient_accumulation (info): k backward passes per optimizer step, cleared every step.

The nanoGPT-style loop (``loss / accum_steps`` backward k times, then step, then zero_grad). It
is intended, so it is an ``info`` finding, and only when gradients are cleared every step (the
missing_zero_grad rule does not fire for the actor).
"""

from __future__ import annotations

import numpy as np

from analysis.detectors import missing_zero_grad
from analysis.detectors._registry import Detector
from analysis.detectors._view import TraceView
from analysis.findings import Evidence, Finding, Fix, Severity

CODE = "gradient_accumulation"

# Most steps must take two or more backward passes: a few (a GradScaler's skipped step leaves
# two backward passes in the next window) are not a pattern. (Ours.)
ACCUM_ROW_SHARE = 0.5


def detect(view: TraceView) -> list[Finding]:
    findings = []
    for actor in view.actors:
        rows = view.rows_of(actor)
        if rows.size == 0:
            continue
        counts = view.summed_backward_count[rows]
        share = float(np.mean(counts >= 2))
        if share < ACCUM_ROW_SHARE:
            continue
        _, stale, _ = missing_zero_grad.stale_share(view, actor)
        if stale.size and stale.max() >= missing_zero_grad.STALE_SHARE:
            continue
        k = int(np.median(counts))
        who = view.actor_name(actor)
        findings.append(
            Finding(
                code=CODE,
                severity=Severity.INFO,
                title=f"Gradient accumulation over {k} backward passes per step",
                summary=(
                    f"{who} steps once every {k} backward passes (on {round(100 * share)}% of "
                    f"steps) and the gradients are cleared after each step: this is gradient "
                    f"accumulation, an effective batch {k}x the micro-batch. Make sure each "
                    f"micro-batch loss is divided by {k} so the step size does not grow with k."
                ),
                evidence=Evidence(
                    statistic="median backward passes per optimizer step",
                    value=float(k),
                    threshold=2.0,
                    comparison=">=",
                    steps=tuple(view.step_of(int(r)) for r in rows[:5]),
                    details={"actor": who, "share_of_steps": share},
                ),
                fix=Fix(
                    text="Nothing to fix if intended. Scale each micro-batch loss by 1/k.",
                    code=(
                        "for i, (x, y) in enumerate(loader):\n"
                        "    loss = loss_fn(model(x), y) / accum_steps\n"
                        "    loss.backward()\n"
                        "    if (i + 1) % accum_steps == 0:\n"
                        "        optimizer.step()\n"
                        "        optimizer.zero_grad(set_to_none=True)"
                    ),
                ),
                glossary=("gradient-accumulation", "zero-grad"),
                confidence=0.9,
            )
        )
    return findings


DETECTOR = Detector(code=CODE, detect=detect, cause_rank=120)
