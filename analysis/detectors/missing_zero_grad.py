"""missing_zero_grad: ``.grad`` is not cleared between optimizer steps, so gradients pile up.

Statistic, per actor and parameter: the share of the actor's rows (after its first) whose first
backward pass found ``.grad`` still holding a previous window's values (``steps.stale_grad``).
Parameters in no optimizer are never counted here: they keep accumulating under
``optimizer.zero_grad()`` by design of that call, which is ``not_in_optimizer``'s business.
"""

from __future__ import annotations

import numpy as np

from analysis.detectors._registry import Detector
from analysis.detectors._view import TraceView, fmt, nanmedian, pooled_norm
from analysis.findings import Evidence, Finding, Fix, Severity

CODE = "missing_zero_grad"

# A parameter is accumulating by accident when at least half of its steps start stale. Every
# correct clearing style (optimizer.zero_grad, model.zero_grad, p.grad = None,
# set_to_none=False) gives 0 %; a loop that never clears gives 100 %; clearing every other step
# (also a bug) gives 50 %. (Ours, from the definition of the recorded flag.)
STALE_SHARE = 0.5
# Two steps at least: the first step of a run can never be stale.
MIN_ROWS = 2


def stale_share(view: TraceView, actor: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(params, share of stale rows per param, rows judged) for the actor's graded params."""
    params = view.params_of(actor)
    params = params[view.ever_graded[params]]
    rows = view.sample(view.rows_of(actor)[1:])
    if params.size == 0 or rows.size < MIN_ROWS:
        return params, np.zeros(params.size), rows
    share = view.steps.stale_grad[np.ix_(rows, params)].mean(axis=0)
    return params, share, rows


def detect(view: TraceView) -> list[Finding]:
    findings = []
    for actor in view.actors:
        params, share, rows = stale_share(view, actor)
        flagged = params[share >= STALE_SHARE]
        if flagged.size == 0:
            continue
        stale_rows = rows[view.steps.stale_grad[np.ix_(rows, flagged)].any(axis=1)]
        used = pooled_norm(view.steps.grad_norm, stale_rows, flagged)
        fresh = pooled_norm(view.steps.fresh_grad_norm, stale_rows, flagged)
        with np.errstate(all="ignore"):
            inflation = float(nanmedian(used / fresh)) if stale_rows.size else float("nan")
        last = stale_rows[-1] if stale_rows.size else None
        names = tuple(view.trace.params[i].name for i in flagged)
        modules = tuple(dict.fromkeys(view.trace.params[i].module for i in flagged))
        frac_params = flagged.size / params.size
        counterfactual = ""
        if last is not None and np.isfinite(used[-1]) and np.isfinite(fresh[-1]):
            counterfactual = (
                f"at step {view.step_of(int(last))} the optimizer used a gradient of norm "
                f"{fmt(float(used[-1]))}; with zero_grad each step it would have been about "
                f"{fmt(float(fresh[-1]))} (that step's own gradient)"
            )
        accum = int(np.median(view.steps.backward_count[view.rows_of(actor)]))
        who = view.actor_name(actor)
        summary = (
            f"{flagged.size} of {params.size} parameters updated by {who} still held the previous "
            f"steps' gradients when a new backward pass began, on {fmt(100 * float(share.max()))}% "
            f"of steps: every step adds to the sum of all earlier gradients"
            + (
                f" (median gradient {fmt(inflation)}x the step's own)"
                if np.isfinite(inflation)
                else ""
            )
            + "."
        )
        findings.append(
            Finding(
                code=CODE,
                severity=Severity.ERROR,
                title="Gradients are never cleared: zero_grad() is missing",
                summary=summary,
                evidence=Evidence(
                    statistic="share of steps that began with stale .grad (max over parameters)",
                    value=float(share.max()),
                    threshold=STALE_SHARE,
                    comparison=">=",
                    modules=modules[:20],
                    params=names[:20],
                    steps=tuple(view.step_of(int(r)) for r in stale_rows[:10]),
                    onset_step=view.step_of(int(stale_rows[0])) if stale_rows.size else None,
                    counterfactual=counterfactual,
                    details={
                        "actor": who,
                        "stale_params": int(flagged.size),
                        "graded_params": int(params.size),
                        "share_of_params": frac_params,
                        "median_inflation": inflation,
                        "backward_passes_per_step": accum,
                    },
                ),
                fix=Fix(
                    text=(
                        "Clear the gradients once per optimizer step, before the backward pass "
                        "(or right after optimizer.step()). For intended accumulation, clear "
                        "every accum_steps backward passes and step at the same time."
                    ),
                    code=(
                        "for x, y in loader:\n"
                        "    optimizer.zero_grad(set_to_none=True)\n"
                        "    loss = loss_fn(model(x), y)\n"
                        "    loss.backward()\n"
                        "    optimizer.step()"
                    ),
                ),
                glossary=("zero-grad", "gradient-accumulation", "optimizer"),
                confidence=round(
                    min(0.99, 0.7 + 0.3 * float(share.max()) * min(1.0, frac_params * 2)), 3
                ),
            )
        )
    return findings


# First among the causes: stale gradients pile up into oversized updates that look like a
# learning rate too high, then explode.
DETECTOR = Detector(
    code=CODE, detect=detect, cause_rank=10, suppresses=("lr_too_high", "exploding_gradients")
)
