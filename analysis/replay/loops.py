"""Loop bugs verified from what was recorded, without a re-run: the event order and the fresh
and accumulated gradient norms already say what the fixed loop would have done.

- ``missing_zero_grad``: the step used the accumulated ``.grad`` (``grad_norm``) where a cleared
  one would be the fresh gradient (``fresh_grad_norm``): after the fix, their ratio is 1.
- ``grads_cleared_before_step``: a CLEAR between the last BACKWARD and the STEP left the step
  nothing; moved before the backward, the step sees the fresh gradient.
- ``not_in_optimizer``: parameters with fresh gradients and no update; in the optimizer, each
  would move by its learning rate times its gradient.
"""

from __future__ import annotations

import math

import numpy as np

from traces.model import EventKind, Trace

LOOP_CODES = ("missing_zero_grad", "grads_cleared_before_step", "not_in_optimizer")
HOW = "verified from the recorded event order and gradient norms (no re-run)"


def verify_loop(trace: Trace, finding: dict) -> list[dict]:
    code = finding["code"]
    if code == "missing_zero_grad":
        return [_missing_zero_grad(trace)]
    if code == "grads_cleared_before_step":
        return [_cleared_before_step(trace)]
    if code == "not_in_optimizer":
        return [_not_in_optimizer(trace, finding)]
    return []


def _entry(code: str, fix: str, title: str, verdict: str, before: dict, after: dict, diff: str):
    return {
        "finding": code,
        "fix": fix,
        "title": f"{title} ({HOW})",
        "verdict": verdict,
        "before": before,
        "after": after,
        "diff": diff,
        "verified_by": "recorded_events",
    }


def _median_ratio(top: np.ndarray, bottom: np.ndarray) -> float | None:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = top / bottom
    ratio = ratio[np.isfinite(ratio) & (bottom > 0)]
    return float(np.median(ratio)) if ratio.size else None


def _missing_zero_grad(trace: Trace) -> dict:
    steps = trace.steps
    stale_rows = steps.stale_grad.any(axis=1)
    ratio = _median_ratio(steps.grad_norm[stale_rows], steps.fresh_grad_norm[stale_rows])
    windows = int(stale_rows.sum())
    before = {
        "windows_without_clear": windows,
        "accumulated_over_fresh_grad": ratio,
        "rows": trace.num_rows,
    }
    after = {"windows_without_clear": 0, "accumulated_over_fresh_grad": 1.0}
    verdict = "resolves" if windows else "no_effect"
    diff = "in the training loop, before loss.backward():\n+ optimizer.zero_grad()"
    return _entry(
        "missing_zero_grad",
        "zero_grad_each_step",
        "clear gradients every step",
        verdict,
        before,
        after,
        diff,
    )


def _cleared_before_step(trace: Trace) -> dict:
    kinds, rows = trace.events.kind, trace.events.row
    bad = 0
    for row in range(trace.num_rows):
        window = kinds[rows == row]
        backward = np.flatnonzero(window == EventKind.BACKWARD)
        step = np.flatnonzero(window == EventKind.STEP)
        if backward.size and step.size:
            between = window[backward[-1] : step[-1]]
            bad += int(np.any(between == EventKind.CLEAR))
    steps = trace.steps
    ratio = _median_ratio(np.nan_to_num(steps.grad_norm, nan=0.0), steps.fresh_grad_norm)
    before = {"steps_after_a_clear": bad, "grad_at_step_over_fresh": ratio, "rows": trace.num_rows}
    after = {"steps_after_a_clear": 0, "grad_at_step_over_fresh": 1.0}
    diff = (
        "move optimizer.zero_grad() from between loss.backward() and optimizer.step()\n"
        "to before loss.backward()"
    )
    return _entry(
        "grads_cleared_before_step",
        "clear_before_backward",
        "clear gradients before backward, not before the step",
        "resolves" if bad else "no_effect",
        before,
        after,
        diff,
    )


def _not_in_optimizer(trace: Trace, finding: dict) -> dict:
    steps = trace.steps
    outside = [i for i, p in enumerate(trace.params) if p.trainable and p.optimizer is None]
    fresh = steps.fresh_grad_norm[:, outside] if outside else np.zeros((0, 0))
    with_grad = [
        trace.params[i].name for k, i in enumerate(outside) if np.isfinite(fresh[:, k]).any()
    ]
    lr = float(np.nanmedian(steps.lr)) if steps.lr.size and np.isfinite(steps.lr).any() else None
    grad = float(np.nanmedian(fresh)) if fresh.size and np.isfinite(fresh).any() else None
    before = {"params_with_grad_not_updated": len(with_grad), "update_norm": 0.0}
    expected = (
        lr * grad if lr is not None and grad is not None and math.isfinite(lr * grad) else None
    )
    after = {"params_with_grad_not_updated": 0, "update_norm_first_step": expected}
    shown = ", ".join(with_grad[:4]) + (" …" if len(with_grad) > 4 else "")
    diff = (
        "build the optimizer over every trained parameter:\n"
        f"+ optimizer = torch.optim.{trace.optimizers[0].type if trace.optimizers else 'SGD'}"
        f"(model.parameters(), ...)  # now includes {shown or 'the missing parameters'}"
    )
    return _entry(
        "not_in_optimizer",
        "add_to_optimizer",
        "give the optimizer every trained parameter",
        "resolves" if with_grad else "no_effect",
        before,
        after,
        diff,
    )
