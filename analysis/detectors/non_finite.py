"""non_finite: NaN or Inf in the loss, the gradients or the weights.

Isolated steps that a GradScaler skipped (``SKIPPED_STEP`` events) are how mixed precision
finds its loss scale: they are normal and not reported, unless the scaler skips most steps.
Otherwise the first row where a non-finite value shows is named, and where in that step it
started, read from what the row holds (its loss comes from the forward pass, its gradients from
backward on that loss, its weight norms are measured after the step):

- the loss is non-finite: a layer output the recorder sampled in that forward pass was
  non-finite or beyond ~1e19 (the earliest in forward order is named), or else the loss
  computation made it (log of 0, 0/0) and backward carried it into every gradient; the last
  layer's outputs are quoted when they spread WIDE_OUTPUT_STD or more;
- the loss is finite but gradients are not: backward made it, in the operation right after the
  last layer (in forward order) whose gradient is non-finite: layers before it in forward order
  get the NaN through it, layers after it do not;
- a gradient's norm overflowed float32 with finite elements: the earliest such layer;
- only the weights: the optimizer step itself.

A loss that is NaN/Inf while every gradient and weight stays finite (the NaN sits in a part of
the loss whose gradient is masked: ``0.0 * term``, ``masked_fill`` over a NaN, the mean of an
empty selection) is its own finding: an error when it holds on most rows or from some step to
the end, a warning when it is occasional. A NaN loss counts only where the recorder flagged it
(``steps.loss_nan``: the trace's NaN otherwise means "no loss recorded") or, in traces written
before that flag, where the gradients or weights went bad too.
"""

from __future__ import annotations

import numpy as np

from analysis.detectors._registry import Detector
from analysis.detectors._view import TraceView, fmt
from analysis.findings import Evidence, Finding, Fix, Severity
from traces.model import EventKind

CODE = "non_finite"

# A GradScaler that skips at least this share of all steps is not finding a scale: the
# non-finite values come from the model, not from float16 overflow. PyTorch's GradScaler halves
# the scale on every skip, so a healthy run skips a handful of steps early, then ~1 in
# growth_interval (2000); half is far outside that. (PyTorch AMP docs; ours for the share.)
SKIPPED_SHARE = 0.5
# Outputs of the last layer spread this widely make a loss built on exp non-finite: exp
# overflows float32 above 88.7, and a softmax probability underflows to exactly 0 (log 0 = -Inf)
# once its logit sits ~88-104 below its row's maximum; values with this std reach such gaps
# within a batch (about +-2.2 std). (Float32 limits; ours for the std. A log(softmax) on 0..255
# pixel inputs had logits with std 28 and an Inf loss at step 0.)
WIDE_OUTPUT_STD = 20.0
# A loss non-finite (with finite gradients) on at least this share of the rows, or on every row
# from its first non-finite one to the end with at least LOSS_STREAK rows, is a broken loss (an
# error); fewer, isolated rows (a batch whose mask selected nothing) are a warning. (Ours: half is
# "most steps"; 5 rows in a row at the end is a loss that did not recover, not one bad batch.)
LOSS_SHARE = 0.5
LOSS_STREAK = 5


def detect(view: TraceView) -> list[Finding]:
    s = view.steps
    ev = view.trace.events
    skipped = int(np.count_nonzero(ev.kind == EventKind.SKIPPED_STEP))
    taken = view.S
    # NaN loss = "not seen" unless the recorder flagged it (or, in an older trace, corroborated)
    loss_bad = np.isinf(s.loss) | s.loss_nan | (np.isnan(s.loss) & _loss_seen_mask(view))
    grad_bad = np.any(s.grad_nonfinite > 0, axis=1) if view.P else np.zeros(view.S, dtype=bool)
    weight_bad = np.any(s.weight_nonfinite > 0, axis=1) if view.P else np.zeros(view.S, dtype=bool)
    # A row whose window had a skipped step, with finite weights after it, was handled.
    excused = view.skipped_in_window & ~weight_bad
    overflow = _norm_overflow(view)
    bad = (loss_bad | grad_bad | weight_bad | overflow) & ~excused
    if bad.any() and not (grad_bad | weight_bad | overflow)[bad].any():
        return [_loss_only_finding(view, bad, skipped)]
    if bad.any():
        return [_finding(view, bad, grad_bad, weight_bad, loss_bad, skipped, taken, overflow)]
    if skipped and skipped >= SKIPPED_SHARE * (skipped + taken):
        return [_scaler_finding(view, skipped, taken)]
    return []


DETECTOR = Detector(code=CODE, detect=detect, cause_rank=70)


def _norm_overflow(view: TraceView) -> np.ndarray:
    """bool[rows]: a gradient's norm is +Inf while none of its elements is: the norm overflowed
    float32 (above 3.4e38), the first sign of a blow-up before any NaN. Row maxima first, so
    no [rows, params] temporary is made on a healthy run."""
    s = view.steps
    out = np.zeros(view.S, dtype=bool)
    if not view.P or not view.S:
        return out
    for norms in (s.grad_norm, s.fresh_grad_norm):
        rows = np.flatnonzero(np.isposinf(np.fmax.reduce(norms, axis=1)))
        if rows.size:
            out[rows] |= np.any(_overflow_cells(view, norms, rows), axis=1)
    return out


def _overflow_cells(view: TraceView, norms: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return np.isposinf(norms[rows]) & (view.steps.grad_nonfinite[rows] == 0)


def _loss_seen_mask(view: TraceView) -> np.ndarray:
    """Rows whose loss is NaN because it *was* NaN: later finite losses prove it is observed."""
    loss = view.steps.loss
    finite = np.isfinite(loss)
    if not finite.any():
        return np.zeros(view.S, dtype=bool)
    # A NaN loss after the first finite one, in a run where grads or weights also went bad, is a
    # real NaN; without that corroboration NaN means "not seen" (the format's convention).
    first_finite = int(np.argmax(finite))
    corroborated = np.any(view.steps.grad_nonfinite > 0, axis=1) | np.any(
        view.steps.weight_nonfinite > 0, axis=1
    )
    mask = np.zeros(view.S, dtype=bool)
    mask[first_finite:] = True
    return mask & corroborated


def _finding(view, bad, grad_bad, weight_bad, loss_bad, skipped, taken, overflow) -> Finding:
    s = view.steps
    first = int(np.argmax(bad))
    step = view.step_of(first)
    where = []
    overflowed = np.zeros(view.P, dtype=bool)
    if overflow[first]:
        one = np.array([first])
        overflowed = (
            _overflow_cells(view, s.grad_norm, one) | _overflow_cells(view, s.fresh_grad_norm, one)
        )[0]
    params_bad = np.flatnonzero(
        (s.grad_nonfinite[first] > 0) | (s.weight_nonfinite[first] > 0) | overflowed
    )
    if params_bad.size:
        order = np.argsort(view.param_order[params_bad], kind="stable")
        params_bad = params_bad[order]
    names = tuple(view.trace.params[i].name for i in params_bad)
    origin, first_module, cause = _origin(view, first, loss_bad, grad_bad, overflowed, params_bad)
    if loss_bad[first]:
        where.append("the loss")
    if grad_bad[first]:
        where.append(f"the gradients of {len(names)} parameter(s)")
    elif overflowed.any():
        where.append(
            f"the gradient norm of {int(overflowed.sum())} parameter(s), which overflowed "
            "float32 (above 3.4e38) while every element was still finite"
        )
    if weight_bad[first]:
        where.append("the weights")
    weights_lost = bool(weight_bad.any())
    first_weight = view.step_of(int(np.argmax(weight_bad))) if weights_lost else None
    last_finite_loss = s.loss[:first][np.isfinite(s.loss[:first])]
    summary = (
        f"A non-finite value (NaN/Inf) first appears at step {step} in "
        f"{', '.join(where) or 'the recorded values'}."
        + cause
        + (
            f" The weights themselves became non-finite at step {first_weight}: every step after "
            "that is lost."
            if weights_lost
            else ""
        )
        + (
            f" The last finite loss was {last_finite_loss[-1]:.4g}."
            if last_finite_loss.size
            else ""
        )
    )
    return Finding(
        code=CODE,
        severity=Severity.ERROR,
        title=f"NaN/Inf at step {step}",
        summary=summary,
        evidence=Evidence(
            statistic="rows with a non-finite loss, gradient or weight",
            value=float(bad.sum()),
            threshold=0.0,
            comparison=">",
            modules=(first_module,) if first_module is not None else (),
            params=names[:20],
            steps=tuple(view.step_of(int(r)) for r in np.flatnonzero(bad)[:10]),
            onset_step=step,
            details=_details(
                view,
                step,
                origin,
                int(bad.sum()),
                skipped,
                weights_non_finite_from_step=first_weight,
            ),
        ),
        fix=Fix(
            text=(
                "Find the first operation that produces NaN/Inf: log/div/sqrt of 0 or negative "
                "numbers, exp overflow, a learning rate too high. Use numerically safe ops "
                "(log_softmax, BCEWithLogitsLoss, clamp before log), clip gradients, and lower "
                "the learning rate; torch.autograd.detect_anomaly() names the operation."
            ),
            code=(
                "with torch.autograd.detect_anomaly():\n"
                "    loss = loss_fn(model(x), y)   # prefer BCEWithLogitsLoss / log_softmax\n"
                "    loss.backward()\n"
                "torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)\n"
                "assert torch.isfinite(loss), f'non-finite loss at step {step}'"
            ),
        ),
        glossary=("exploding-gradient", "learning-rate", "gradient-clipping", "mixed-precision"),
        confidence=0.99,
    )


def _details(view, step, origin: str, affected: int, skipped: int, **more) -> dict:
    return {
        "first_step": step,
        "first_in": origin,
        "rows_affected": affected,
        "rows_total": view.S,
        **more,
        "skipped_steps": skipped,
        "ended": str(view.trace.run.ended.value),
    }


def _origin(view, first, loss_bad, grad_bad, overflowed, params_bad):
    """(where it started, the module named or None, a sentence saying why) for row ``first``.

    ``params_bad`` are sorted in forward order."""
    s = view.steps
    params = view.trace.params
    if loss_bad[first]:
        # The recorder's std of a sampled output is +Inf when the sample's sum of squares is not
        # finite (NaN/Inf in it, or values beyond ~1e19); a module that did not run is NaN.
        out_bad = np.flatnonzero(np.isposinf(s.act_std[first]))
        if out_bad.size:
            m = int(out_bad[np.argmin(view.module_order[out_bad])])
            path = view.trace.modules[m].path
            return (
                "forward",
                path,
                f" It shows first in the forward pass, in the output of {view.describe(path)}, "
                "before the loss: non-finite, or beyond ~1e19 (the sum of squares of its sampled "
                "values overflowed float32).",
            )
        sampled = bool(np.isfinite(s.act_std[first]).any())
        return (
            "loss",
            None,
            " It starts in the loss: the weights going into that step were finite"
            + (", and so were the layer outputs sampled in its forward pass" if sampled else "")
            + ", so the loss computation made it (log of 0, a division by 0, sqrt of a negative "
            "number, exp overflowing)"
            + (" and backward carried it into the gradients." if grad_bad[first] else ".")
            + _wide_outputs(view, first),
        )
    grads = [i for i in params_bad if s.grad_nonfinite[first, i] > 0]
    if grads:
        path = params[grads[-1]].module
        if np.isfinite(s.loss[first]):
            return (
                "backward",
                path,
                f" The loss was finite, so backward made it: {view.describe(path)} is the last "
                "layer in forward order whose gradient is non-finite, so the operation right "
                "after it has an infinite derivative at a finite value (sqrt or a norm at 0, a "
                "division by a tiny number) and everything before it inherits the NaN.",
            )
        return (
            "gradients",
            path,
            " The loss was not recorded at that step; of the layers whose gradient is non-finite, "
            f"{view.describe(path)} is nearest the loss.",
        )
    if overflowed.any():
        path = params[next(i for i in params_bad if overflowed[i])].module
        return (
            "overflow",
            path,
            f" The earliest such layer in forward order is {path or '(top)'}.",
        )
    if params_bad.size:
        path = params[params_bad[0]].module
        return (
            "update",
            path,
            " The loss and the gradients were finite, so the optimizer step itself made it (an "
            f"update too large for float32, or a division by ~0), earliest in {path or '(top)'}.",
        )
    return ("unknown", None, "")


def _wide_outputs(view: TraceView, row: int) -> str:
    """A sentence about the last layer's outputs on ``row`` when they spread WIDE_OUTPUT_STD or
    more (logits that make exp/softmax overflow or underflow); '' otherwise."""
    std = view.steps.act_std[row]
    paths = [m.path for m in view.trace.modules]
    parents = {p.rpartition(".")[0] for p in paths if p} | ({""} if len(paths) > 1 else set())
    leaf = np.array([p not in parents for p in paths], dtype=bool)  # the recorder's own rule
    ran = np.flatnonzero(np.isfinite(std) & leaf)
    if ran.size == 0:
        return ""
    last = int(ran[np.argmax(view.module_order[ran])])
    if std[last] < WIDE_OUTPUT_STD:
        return ""
    path = view.trace.modules[last].path
    return (
        f" The last layer's outputs, {view.describe(path)}, had std {fmt(float(std[last]))} at "
        "that step: exp or softmax of values that far apart overflows or gives probabilities of "
        "exactly 0 (unscaled inputs or a large init make them so large)."
    )


def _scaler_finding(view, skipped, taken) -> Finding:
    return Finding(
        code=CODE,
        severity=Severity.WARNING,
        title="The GradScaler skips most steps: gradients are non-finite",
        summary=(
            f"The GradScaler skipped {skipped} of {skipped + taken} optimizer steps because the "
            "gradients held NaN/Inf. A few skips while it finds the loss scale are normal; this "
            "many mean the NaN/Inf come from the model itself, not from float16 overflow."
        ),
        evidence=Evidence(
            statistic="share of optimizer steps skipped by the GradScaler",
            value=skipped / (skipped + taken),
            threshold=SKIPPED_SHARE,
            comparison=">=",
            details={"skipped_steps": skipped, "taken_steps": taken},
        ),
        fix=Fix(
            text=(
                "Run a few steps without autocast to see whether the NaN/Inf remain; keep "
                "numerically sensitive ops (softmax, log, losses) in float32."
            ),
            code=(
                "with torch.autocast(device_type='cuda', dtype=torch.float16):\n"
                "    logits = model(x)\n"
                "loss = loss_fn(logits.float(), y)   # loss in float32\n"
                "scaler.scale(loss).backward()\n"
                "scaler.step(optimizer)\n"
                "scaler.update()"
            ),
        ),
        glossary=("mixed-precision", "exploding-gradient"),
        confidence=0.85,
    )


def _loss_only_finding(view: TraceView, bad: np.ndarray, skipped: int) -> Finding:
    """The loss was NaN/Inf on the rows ``bad`` while every gradient and weight stayed finite."""
    loss = view.steps.loss
    rows = np.flatnonzero(bad)
    first = int(rows[0])
    step = view.step_of(first)
    n_inf = int(np.isinf(loss[rows]).sum())
    n_nan = rows.size - n_inf
    word = "Inf" if not n_nan else "NaN" if not n_inf else "NaN/Inf"
    to_end = rows.size >= LOSS_STREAK and rows.size == view.S - first
    broken = rows.size >= LOSS_SHARE * view.S or to_end
    out_bad = np.flatnonzero(np.isposinf(view.steps.act_std[first]))
    module = (
        view.trace.modules[int(out_bad[np.argmin(view.module_order[out_bad])])].path
        if out_bad.size
        else None
    )
    summary = (
        f"The loss passed to backward was {word} at step {step}"
        + (" and on every step after it" if to_end else "")
        + f" ({rows.size} of {view.S} recorded steps), yet every gradient and weight stayed "
        "finite: the NaN/Inf sits in a part of the loss whose gradient is zero or masked (a term "
        "multiplied by 0, 0 · log 0 in a hand-written entropy or KL, masked_fill or torch.where over a NaN, a ReLU or clamp after it, the "
        "mean of an empty selection such as an all-padding batch, or a float16 value that "
        "overflowed only in the forward), so backward never carries it into the weights."
        + (
            f" It shows first in the output of {view.describe(module)}, sampled in that forward "
            "pass, whose gradient is masked on the way to the loss."
            if module is not None
            else ""
        )
        + " Training itself may go on, but the loss you print, average or monitor (epoch loss, "
        "early stopping, ReduceLROnPlateau, picking the best checkpoint) is NaN, and the masked "
        "value is one change away from poisoning the gradients (0 × Inf is NaN)."
    )
    return Finding(
        code=CODE,
        severity=Severity.ERROR if broken else Severity.WARNING,
        title=f"The loss is {word} at {rows.size} of {view.S} steps while the gradients stay "
        "finite",
        summary=summary,
        evidence=Evidence(
            statistic="rows whose loss was non-finite while every gradient and weight was finite",
            value=float(rows.size),
            threshold=0.0,
            comparison=">",
            modules=(module,) if module is not None else (),
            steps=tuple(view.step_of(int(r)) for r in rows[:10]),
            onset_step=step,
            details=_details(
                view,
                step,
                "forward" if module is not None else "loss_value",
                int(rows.size),
                skipped,
                nan_rows=n_nan,
                inf_rows=n_inf,
                to_the_end=bool(to_end),
                gradients_finite=True,
            ),
        ),
        fix=Fix(
            text=(
                "Find the term that is non-finite: check each part of the loss with "
                "torch.isfinite before adding them up. Guard the mean of a selection that can "
                "be empty, mask values *before* log/sqrt/division rather than masking the "
                "result, write p · log p as torch.xlogy(p, p), and leave a term out instead of multiplying it by 0. An assert on the "
                "loss stops the run at the first bad step."
            ),
            code=(
                "for name, term in {'ce': ce, 'aux': aux}.items():   # the parts of your loss\n"
                "    if not torch.isfinite(term).all():\n"
                "        print(f'step {step}: {name} = {term}')\n"
                "loss = per_item[mask].sum() / mask.sum().clamp(min=1)  # not [mask].mean()\n"
                "x = torch.where(mask, x, torch.ones_like(x))   # mask before log/sqrt/div\n"
                "loss = ce + aux if use_aux else ce              # not ce + 0.0 * aux\n"
                "assert torch.isfinite(loss), f'non-finite loss at step {step}'"
            ),
        ),
        glossary=("mixed-precision",),
        confidence=0.95,
    )
