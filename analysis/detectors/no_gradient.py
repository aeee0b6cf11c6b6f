"""no_gradient: a trainable parameter never receives a gradient.

A parameter with ``requires_grad`` whose ``.grad`` stayed None (or all zeros) in every window.
Frozen parameters (``requires_grad=False``) are not counted, nor are parameters in a group with
learning rate 0, nor parameters no optimizer holds (a teacher or target network). The cause is told apart by whether the owning module ran: a module that never
ran is an unused branch; one that ran without a gradient reaching it sits behind a break in
the graph (``.detach()``, ``.item()``, ``.data``, ``torch.no_grad()``, a numpy round trip).

A NaN/Inf gradient is a gradient: backprop reached the parameter (non_finite reports it). Tensors
an optimizer holds that no module of the model owns never ran in any forward pass; when the model
has parameters missing from the optimizer they are the old copy of a replaced layer, and
not_in_optimizer tells that bug whole.
"""

from __future__ import annotations

import numpy as np

from analysis.detectors import not_in_optimizer
from analysis.detectors._registry import Detector
from analysis.detectors._view import TraceView
from analysis.findings import Evidence, Finding, Fix, Severity

CODE = "no_gradient"

# Share of a model's trainable parameters without gradient at which nothing learns at all.
# (Ours: then the loss is cut off from the model, an error rather than a warning.)
ALL_CUT_SHARE = 0.99
# Dead ReLU layers give exactly-zero gradients to the layer before them; an all-zero gradient
# is only counted when the dead-unit statistic does not explain it (share of input columns with
# zero gradient below this). (Ours.)
DEAD_EXPLAINS = 0.99


def detect(view: TraceView) -> list[Finding]:
    if view.S == 0 or not np.any(view.steps.backward_count > 0):
        return []
    # Only parameters something is meant to train: in an optimizer, or any trainable one when
    # the loop has no optimizer at all (manual SGD). A teacher, target or EMA network used under
    # torch.no_grad() is trainable by flag but in no optimizer: not a finding.
    # Without an optimizer, only what took part in training: a copy loaded after training and
    # evaluated under no_grad is trainable by flag but never meant to get a gradient.
    in_optimizer = view.param_actor >= 0
    if len(view.trace.optimizers):
        candidates = view.trainable & in_optimizer
    elif view.param_in_training is not None:
        candidates = view.trainable & view.param_in_training
    else:
        candidates = view.trainable.copy()
    groups = view.param_group
    has_group = groups >= 0
    candidates[has_group] &= ~view.lr_zero_group[groups[has_group]]
    never = candidates & ~not_in_optimizer.reached(view)
    outside = not_in_optimizer.outside_model(view)
    if not_in_optimizer.missing(view).any():
        never &= ~outside  # a replaced layer's old tensors: not_in_optimizer's finding
    if not never.any():
        return []
    zero_but_present = never & view.ever_grad_present
    if zero_but_present.any():
        dead_in = np.nan_to_num(np.fmax.reduce(view.steps.grad_dead_in_frac, axis=0), nan=0.0)
        never &= ~(zero_but_present & (dead_in >= DEAD_EXPLAINS))
        if _model_has_dead_units(view):
            never &= ~zero_but_present
    idx = np.flatnonzero(never)
    if idx.size == 0:
        return []
    names = tuple(view.trace.params[i].name for i in idx)
    modules = tuple(dict.fromkeys(view.trace.params[i].module for i in idx))
    ran = view.param_ran[idx] & ~outside[idx]
    old = tuple(view.trace.params[i].name for i in idx[outside[idx]])
    unused = tuple(dict.fromkeys(view.trace.params[i].module for i in idx[~ran & ~outside[idx]]))
    cut = tuple(dict.fromkeys(view.trace.params[i].module for i in idx[ran]))
    share = idx.size / max(1, int(candidates.sum()))
    all_cut = share >= ALL_CUT_SHARE
    parts = []
    if cut:
        parts.append(
            f"{view.describe_list(cut)} ran in the forward pass but no gradient reached "
            f"{'it' if len(cut) == 1 else 'them'}: the graph is broken between "
            f"{'it' if len(cut) == 1 else 'them'} and the loss (.detach(), .item(), .data, "
            "torch.no_grad(), a numpy round trip, or a non-differentiable op such as argmax)"
        )
    if old:
        parts.append(
            f"{view.describe_list(old)} {'is' if len(old) == 1 else 'are'} held by the optimizer but owned by "
            "no module of the model, so no forward pass uses "
            f"{'it' if len(old) == 1 else 'them'}: typically the old copy of a layer replaced or "
            "removed after the optimizer was built"
        )
    if unused:
        parts.append(
            f"{view.describe_list(unused)} never ran in a forward pass: an unused branch or a layer defined "
            "but not called"
        )
    summary = (
        f"{idx.size} trainable parameter(s) never received a gradient in {view.S} steps. "
        + "; ".join(parts)
        + "."
    )
    return [
        Finding(
            code=CODE,
            severity=Severity.ERROR if all_cut or cut else Severity.WARNING,
            title=(
                "No gradient reaches the model"
                if all_cut
                else "Some parameters never get a gradient"
            ),
            summary=summary,
            evidence=Evidence(
                statistic="trainable parameters whose .grad stayed None or zero on every step",
                value=float(idx.size),
                threshold=0.0,
                comparison=">",
                modules=modules[:20],
                params=names[:20],
                details={
                    "share_of_trainable": share,
                    "modules_that_ran": list(cut),
                    "modules_that_never_ran": list(unused),
                    "outside_model": list(old),
                    "steps_seen": view.S,
                },
            ),
            fix=Fix(
                text=(
                    "Keep the path from these parameters to the loss in autograd: no .detach(), "
                    ".item(), .data or torch.no_grad() in forward; call every layer you define. "
                    "If they are meant to stay fixed, freeze them explicitly."
                ),
                code=(
                    "out = self.encoder(x)            # not self.encoder(x).detach()\n"
                    "loss = loss_fn(self.head(out), y)  # not torch.tensor(loss.item())\n"
                    "# meant to be fixed? say so:\n"
                    "for p in self.unused_branch.parameters():\n"
                    "    p.requires_grad_(False)"
                ),
            ),
            glossary=("computational-graph", "optimizer"),
            confidence=0.95 if not zero_but_present[idx].any() else 0.75,
        )
    ]


DETECTOR = Detector(code=CODE, detect=detect, cause_rank=40)


def _model_has_dead_units(view: TraceView) -> bool:
    frac = view.steps.act_dead_frac
    if frac.size == 0 or np.all(np.isnan(frac)):
        return False
    return bool(np.nanmax(frac) >= DEAD_EXPLAINS)
