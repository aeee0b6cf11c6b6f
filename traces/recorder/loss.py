"""The loss function, named from the autograd graph between the loss and the model's output
(the program chunk's ``loss``, SCHEMA.md section 7), with its options and a summary of the
target read from the node's saved values before backward frees them."""

from __future__ import annotations

import contextlib
import math

import torch

from traces.recorder.tensors import tensor_summary

# How far back from the loss the autograd walk looks for a known loss node (loss = ce + 0.01*reg).
LOSS_WALK_DEPTH = 4

# autograd node class name -> loss name
_LOSS_NODES = {
    "MseLossBackward0": "mse",
    "SmoothL1LossBackward0": "smooth_l1",
    "HuberLossBackward0": "smooth_l1",
    "BinaryCrossEntropyBackward0": "bce",
    "BinaryCrossEntropyWithLogitsBackward0": "bce_with_logits",
    "L1LossBackward0": "l1",
}
_NLL_NODES = ("NllLossBackward0", "NllLoss2DBackward0", "NllLoss2dBackward0")


def identify_loss(loss: torch.Tensor) -> dict:
    """The loss function, from the autograd graph between the loss and the model's output, with
    its options and a summary of the target (read from the node's saved tensors before
    backward frees them)."""
    frontier = [(loss.grad_fn, 0)]
    seen = 0
    while frontier and seen < 64:
        node, depth = frontier.pop(0)
        seen += 1
        if node is None:
            continue
        name = type(node).__name__
        found = _loss_of(node, name)
        if found is not None:
            found["direct"] = depth == 0
            return found
        if depth < LOSS_WALK_DEPTH and name in (
            "AddBackward0",
            "MulBackward0",
            "DivBackward0",
            "SumBackward0",
            "MeanBackward0",
        ):
            frontier.extend((child, depth + 1) for child, _ in node.next_functions)
    return {"kind": "unknown", "direct": False, "node": type(loss.grad_fn).__name__}


def _loss_of(node, name: str) -> dict | None:
    if name == "AddBackward0":
        return _label_smoothed(node)
    if name in _NLL_NODES:
        parents = [type(child).__name__ for child, _ in node.next_functions if child is not None]
        kind = "cross_entropy" if "LogSoftmaxBackward0" in parents else "nll"
        options = {"ignore_index": _saved(node, "_saved_ignore_index")}
    elif name in _LOSS_NODES:
        kind = _LOSS_NODES[name]
        options = {"beta": _saved(node, "_saved_beta")} if kind == "smooth_l1" else {}
    elif name == "MeanBackward0" and _is_l1(node):
        return {"kind": "l1", "reduction": "mean", "options": {}, "target": None}
    else:
        return None
    target = getattr(node, "_saved_target", None)
    reduction = {0: "none", 1: "mean", 2: "sum"}.get(_saved(node, "_saved_reduction"), "mean")
    return {
        "kind": kind,
        "reduction": reduction,
        "options": {k: v for k, v in options.items() if v is not None},
        "target": tensor_summary(target) if isinstance(target, torch.Tensor) else None,
    }


def _label_smoothed(node) -> dict | None:
    """``F.cross_entropy(x, y, label_smoothing=s)`` (class-index targets) is, in autograd,
    ``(1 - s) * nll(log_softmax(x)) + (s / C) * smoothing_term``, the smoothing term a sum over
    the classes of that same log_softmax. ``s`` is read from the first factor and must agree with
    the second (C from the class sum's saved sizes); when it cannot be read it is recorded as
    None (smoothed, value unknown), never guessed."""
    branches = [child for child, _ in node.next_functions if child is not None]
    if len(branches) != 2 or any(type(b).__name__ != "MulBackward1" for b in branches):
        return None
    for nll_side, smooth_side in (branches, branches[::-1]):
        nll = _only_child(nll_side)
        log_softmax = _log_softmax_under(nll) if type(nll).__name__ in _NLL_NODES else None
        classes = _smoothing_classes(smooth_side, log_softmax) if log_softmax else None
        if classes is None:
            continue
        found = _loss_of(nll, type(nll).__name__)
        keep = _saved(nll_side, "_saved_other")
        share = _saved(smooth_side, "_saved_other")
        smoothing = None
        if keep is not None and share is not None and classes > 0:
            value = 1.0 - float(keep)
            if 0.0 <= value <= 1.0 and math.isclose(share * classes, value, abs_tol=1e-9):
                smoothing = float(f"{value:.12g}")  # 1 - 0.9 is 0.09999999999999998
        found["kind"] = "cross_entropy"
        found["options"]["label_smoothing"] = smoothing
        return found
    return None


def _only_child(node):
    children = [child for child, _ in node.next_functions if child is not None]
    return children[0] if len(children) == 1 else None


def _log_softmax_under(nll):
    """The LogSoftmax node an NllLoss reads (through the view NllLoss2d's callers insert)."""
    child = _only_child(nll)
    if child is not None and type(child).__name__ == "ViewBackward0":
        child = _only_child(child)
    return child if child is not None and type(child).__name__ == "LogSoftmaxBackward0" else None


# the smoothing term's nodes between its factor and the class sum (mean, ignore_index mask,
# negation) and between the class sum and the log_softmax (class weights)
_SMOOTHING_PATH = {
    "DivBackward0",
    "SumBackward0",
    "MeanBackward0",
    "MaskedFillBackward0",
    "NegBackward0",
    "MulBackward0",
}


def _smoothing_classes(node, log_softmax) -> int | None:
    """The class count C when ``node`` is the smoothing term of ``log_softmax``'s loss: a short
    chain reaching the class sum (SumBackward1) of that very node; else None. 0: the chain is
    right but C cannot be read."""
    classes = None
    for _ in range(8):
        node = _only_child(node)
        name = type(node).__name__ if node is not None else None
        if node is log_softmax:
            return classes if classes is not None else 0
        if name == "SumBackward1" and classes is None:
            classes = 0
            with contextlib.suppress(Exception):
                (dim,) = node._saved_dim
                classes = int(node._saved_self_sym_sizes[dim])
        elif name not in _SMOOTHING_PATH:
            return None
    return None


def _is_l1(node) -> bool:
    """``F.l1_loss`` is ``(input - target).abs().mean()`` in autograd."""
    children = [child for child, _ in node.next_functions if child is not None]
    if len(children) != 1 or type(children[0]).__name__ != "AbsBackward0":
        return False
    inner = [child for child, _ in children[0].next_functions if child is not None]
    return len(inner) == 1 and type(inner[0]).__name__ == "SubBackward0"


def _saved(node, attribute: str):
    with contextlib.suppress(Exception):
        value = signed(getattr(node, attribute))
        if isinstance(value, bool | int | float) and math.isfinite(float(value)):
            return value
    return None


def signed(value):
    """A saved int64 autograd hands back as unsigned (-1 as 2**64 - 1), signed again."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 2**63:
        return value - 2**64
    return value
