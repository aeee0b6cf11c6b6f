"""grads_cleared_before_step: gradients are cleared between ``backward()`` and ``step()``.

Statistic, per optimizer: the share of its steps where the backward passes produced a gradient
(``fresh_grad_norm`` > 0) but ``.grad`` was None or all zeros when the step ran, so the step
used nothing. The event order (a CLEAR after the last BACKWARD of the window) is reported as
corroboration.
"""

from __future__ import annotations

import numpy as np

from analysis.detectors._registry import Detector
from analysis.detectors._view import TraceView, pooled_norm
from analysis.findings import Evidence, Finding, Fix, Severity
from traces.model import EventKind

CODE = "grads_cleared_before_step"

# Half the steps or more used an empty gradient while backward had produced one (ours: the bug
# gives 100 %; a correct loop 0 %; skipped or conditional steps stay well below half).
EMPTY_STEP_SHARE = 0.5


def detect(view: TraceView) -> list[Finding]:
    findings = []
    for actor in view.actors:
        if actor < 0:
            continue  # manual updates with an empty gradient change nothing and leave no row
        params = view.params_of(actor)
        params = params[view.ever_graded[params]]
        rows = view.sample(view.rows_of(actor))
        if params.size == 0 or rows.size == 0:
            continue
        fresh = pooled_norm(view.steps.fresh_grad_norm, rows, params)
        used = pooled_norm(view.steps.grad_norm, rows, params)
        produced = np.isfinite(fresh) & (fresh > 0)
        empty = produced & (np.isnan(used) | (used == 0))
        if produced.sum() == 0:
            continue
        share = float(empty.sum() / produced.sum())
        if share < EMPTY_STEP_SHARE:
            continue
        late_clears = _late_clear_steps(view, actor)
        who = view.actor_name(actor)
        first = rows[empty][0]
        findings.append(
            Finding(
                code=CODE,
                severity=Severity.ERROR,
                title="Gradients are cleared before optimizer.step(): the step uses nothing",
                summary=(
                    f"On {round(100 * share)}% of {who}'s steps, backward() produced a gradient "
                    f"but .grad was empty when step() ran: zero_grad() (or grad = None) sits "
                    f"between loss.backward() and optimizer.step(), so the weights never learn "
                    f"from the loss."
                ),
                evidence=Evidence(
                    statistic="share of steps whose .grad was empty at step time although "
                    "backward produced a gradient",
                    value=share,
                    threshold=EMPTY_STEP_SHARE,
                    comparison=">=",
                    steps=tuple(view.step_of(int(r)) for r in rows[empty][:10]),
                    onset_step=view.step_of(int(first)),
                    counterfactual=(
                        f"at step {view.step_of(int(first))} backward produced a gradient of "
                        f"norm {float(fresh[rows == first][0]):.3g}; the step used 0"
                    ),
                    details={"actor": who, "steps_with_clear_after_backward": late_clears},
                ),
                fix=Fix(
                    text="Clear the gradients before backward() (or after step()), never between.",
                    code=(
                        "optimizer.zero_grad()\n"
                        "loss = loss_fn(model(x), y)\n"
                        "loss.backward()\n"
                        "optimizer.step()"
                    ),
                ),
                glossary=("zero-grad", "optimizer", "computational-graph"),
                confidence=round(0.8 + 0.19 * share, 3),
            )
        )
    return findings


# A step on an emptied gradient barely moves the weights (looks like a learning rate too low)
# and sees no gradient at all.
DETECTOR = Detector(
    code=CODE, detect=detect, cause_rank=20, suppresses=("lr_too_low", "no_gradient")
)


def _late_clear_steps(view: TraceView, actor: int) -> int:
    """Steps of ``actor`` whose window had a CLEAR after its last BACKWARD."""
    ev = view.trace.events
    idx = np.arange(ev.kind.size)
    backward_at = np.where(ev.kind == EventKind.BACKWARD, idx, -1)
    clear_at = np.where(
        (ev.kind == EventKind.CLEAR) & ((ev.optimizer == actor) | (ev.optimizer == -1)), idx, -1
    )
    last_backward = np.maximum.accumulate(backward_at) if idx.size else backward_at
    last_clear = np.maximum.accumulate(clear_at) if idx.size else clear_at
    steps = (ev.kind == EventKind.STEP) & (ev.optimizer == actor)
    window_start = np.searchsorted(ev.row, ev.row, side="left")
    late = steps & (last_clear > last_backward) & (last_backward >= window_start)
    return int(late.sum())
