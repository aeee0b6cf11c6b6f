"""A loss written by hand, as a program (the program chunk's ``loss.program``, SCHEMA.md
section 7): when the loss is none of the known kinds (``traces.recorder.loss``), the autograd
graph from the loss back to the model's output is written as a small declarative graph in the
forward program's format, each autograd node class mapped to an allowlisted ATen op with its
arguments read from the node's saved attributes (before backward frees them).

Leaves are the model's outputs (by their index among its flattened outputs), targets (tensors
that do not require grad: shape, dtype and summary statistics only, never their values) and
small constants (a tensor whose elements are all equal is its one number). An operand that
autograd does not keep (the other side of an add or a sub) is recovered as the result minus the
kept side, when both are known. Anything else (an unknown node, a parameter of another module,
a view whose result shape is not known) makes the whole loss ``unknown``, with the reason.
"""

from __future__ import annotations

import contextlib
import math

import torch

from traces.recorder.loss import signed
from traces.recorder.tensors import DTYPE_NAMES, tensor_summary

LOSS_PROGRAM_VERSION = 1
# A hand-written loss is a few ops; a longer path is not a loss but more model.
MAX_LOSS_NODES = 64
# Classes of a one-hot target at most (a float target whose rows are 0/1 with one 1).
MAX_ONE_HOT = 4096
# The parameters of a head between the model's output and the loss, kept whole, at most (float32).
MAX_HEAD_BYTES = 16 * 2**20


class LossUnexpressible(Exception):
    """The path from the loss to the model's output cannot be written as data."""


def _int_list(value) -> list[int]:
    return [signed(int(v)) for v in (value if isinstance(value, list | tuple) else [value])]


class _Walk:
    def __init__(self, loss: torch.Tensor, outputs: dict, param_index: dict[int, int]):
        # id(grad_fn of a model output) -> (index, tensor)
        self.outputs = outputs
        self.values: dict[int, torch.Tensor] = {}
        self.shapes: dict[int, tuple] = {}  # results whose shape only is known
        self.names: dict[int, str] = {}
        self.placeholders: list[dict] = []
        self.nodes: list[dict] = []
        self.inputs: list[dict] = []
        self.loss = loss
        self.seen_output = False
        self.param_index = param_index  # id(parameter) -> the trace's parameter index
        self.weights: dict[str, torch.Tensor] = {}  # a head's parameters, as at the first step
        self.params: dict[int, str] = {}  # id(parameter) -> its placeholder

    # ------------------------------------------------------------ values we know

    def collect_values(self) -> None:
        """Each autograd node's result where something keeps it: a model output, the node's own
        saved result, or a parent's saved input."""
        self.values[id(self.loss.grad_fn)] = self.loss.detach()
        frontier, seen = [self.loss.grad_fn], set()
        while frontier:
            node = frontier.pop()
            if node is None or id(node) in seen:
                continue
            seen.add(id(node))
            if len(seen) > MAX_LOSS_NODES * 4:
                raise LossUnexpressible("the path from the loss to the model's output is too long")
            if id(node) in self.outputs:
                self.values[id(node)] = self.outputs[id(node)][1].detach()
                continue
            result = _saved(node, "_saved_result")
            if isinstance(result, torch.Tensor):
                self.values.setdefault(id(node), result.detach())
            children = [c for c, _ in node.next_functions]
            name = type(node).__name__
            kept = []
            if name in _UNARY_SELF or name.startswith(("Pow", "Clamp")):
                kept = [(children[0] if children else None, _saved(node, "_saved_self"))]
            elif name == "AddmmBackward0" and len(children) == 3:
                kept = [
                    (children[k], _saved(node, a))
                    for k, a in ((1, "_saved_mat1"), (2, "_saved_mat2"))
                ]
            elif name in ("MulBackward0", "DivBackward0") and len(children) == 2:
                kept = [
                    (children[0], _saved(node, "_saved_self")),
                    (children[1], _saved(node, "_saved_other")),
                ]
            for child, value in kept:
                if child is not None and isinstance(value, torch.Tensor):
                    self.values.setdefault(id(child), value.detach())
            # the operand's shape: the node's own for shape-preserving ops, else its saved sizes
            shape = self.shape_of(node) if name in _SAME_SHAPE else None
            sizes = _saved(node, "_saved_self_sym_sizes")
            if shape is None and isinstance(sizes, tuple | list):
                with contextlib.suppress(TypeError, ValueError):
                    shape = tuple(int(n) for n in sizes)
            if children and children[0] is not None and shape is not None:
                self.shapes.setdefault(id(children[0]), shape)
            frontier.extend(c for c in children if c is not None)

    def shape_of(self, node) -> tuple | None:
        """The shape of ``node``'s result, where its value or a like-shaped neighbour is known."""
        value = self.values.get(id(node))
        return tuple(value.shape) if value is not None else self.shapes.get(id(node))

    # ------------------------------------------------------------ the program

    def emit(self, node) -> dict:
        """The reference to ``node``'s result, its ops written first (post-order)."""
        if id(node) in self.names:
            return {"node": self.names[id(node)]}
        if len(self.nodes) >= MAX_LOSS_NODES:
            raise LossUnexpressible(f"the loss has more than {MAX_LOSS_NODES} ops")
        if id(node) in self.outputs:
            index, tensor = self.outputs[id(node)]
            name = f"output_{index}"
            self.placeholders.append({"name": name, "kind": "placeholder", **_shape_of(tensor)})
            self.inputs.append({"node": name, "kind": "output", "index": index})
            self.names[id(node)] = name
            self.seen_output = True
            return {"node": name}
        name = type(node).__name__
        if name == "AccumulateGrad":
            return self.parameter(node)
        handler = _HANDLERS.get(name)
        if handler is None:
            raise LossUnexpressible(f"the loss uses {name}, which a replay does not rebuild")
        children = [c for c, _ in node.next_functions]
        op, args = handler(self, node, children)
        out = f"l{len(self.nodes)}"
        entry = {"name": out, "kind": "call_function", "op": op, "args": args, "kwargs": {}}
        value = self.values.get(id(node))
        if value is not None:
            entry.update(_shape_of(value))
        self.nodes.append(entry)
        self.names[id(node)] = out
        return {"node": out}

    def parameter(self, node) -> dict:
        """A parameter of another module between the model's output and the loss (a head the
        optimizer trains): an input of the loss program, its initial value kept as weights."""
        variable = _saved(node, "variable")
        index = self.param_index.get(id(variable)) if variable is not None else None
        if index is None or not variable.is_floating_point():
            raise LossUnexpressible("the loss reads a parameter outside the model's output")
        if id(variable) in self.params:
            return {"node": self.params[id(variable)]}
        held = sum(t.numel() for t in self.weights.values()) + variable.numel()
        if held * 4 > MAX_HEAD_BYTES:
            raise LossUnexpressible("the parameters between the model and the loss are too large")
        name = f"param_{len(self.params)}"
        target = f"loss.{name}"
        self.placeholders.append({"name": name, "kind": "placeholder", **_shape_of(variable)})
        self.inputs.append({"node": name, "kind": "parameter", "param": index, "target": target})
        self.weights[target] = variable.detach().to("cpu", torch.float32).clone()
        self.params[id(variable)] = name
        return {"node": name}

    def operand(self, child, saved, node):
        """A tensor operand: the child's result when it requires grad, else the saved tensor
        as a constant or a target."""
        if child is not None:
            return self.emit(child)
        if not isinstance(saved, torch.Tensor):
            raise LossUnexpressible(f"an operand of {type(node).__name__} is not recorded")
        return self.leaf(saved)

    def leaf(self, value: torch.Tensor, *, constant: bool = True):
        """A constant (every element the same number) or a target (its summary only)."""
        value = value.detach()
        if value.numel() == 0:
            raise LossUnexpressible("an empty operand")
        same = value.is_floating_point() and bool((value == value.reshape(-1)[0]).all())
        if constant and (value.dim() == 0 or same):
            return self.constant(float(value.reshape(-1)[0]))
        if value.dtype not in DTYPE_NAMES:
            raise LossUnexpressible(f"an operand of dtype {value.dtype}")
        name = f"target_{sum(i['kind'] == 'target' for i in self.inputs)}"
        summary = tensor_summary(value)
        summary.update(_form(value))
        self.placeholders.append({"name": name, "kind": "placeholder", "shape": summary["shape"]})
        self.inputs.append({"node": name, "kind": "target", **summary})
        return {"node": name}

    def constant(self, number: float) -> dict:
        """A number as a 0-d tensor (a node: the ATen ops take tensor operands)."""
        if not math.isfinite(number):
            raise LossUnexpressible("a non-finite constant")
        name = f"l{len(self.nodes)}"
        self.nodes.append(
            {
                "name": name,
                "kind": "call_function",
                "op": "aten.scalar_tensor.default",
                "args": [number],
                "kwargs": {},
                "shape": [],
                "dtype": "float32",
            }
        )
        return {"node": name}

    def index(self, value) -> dict | None:
        """An index tensor: ``arange(n)`` (a node of its own) or a target."""
        if value is None:
            return None
        if not isinstance(value, torch.Tensor) or value.dtype not in (torch.int64, torch.int32):
            raise LossUnexpressible("an index that is not an integer tensor")
        flat = value.reshape(-1)
        if value.dim() == 1 and torch.equal(flat, torch.arange(flat.numel(), dtype=flat.dtype)):
            name = f"l{len(self.nodes)}"
            self.nodes.append(
                {
                    "name": name,
                    "kind": "call_function",
                    "op": "aten.arange.default",
                    "args": [flat.numel()],
                    "kwargs": {"dtype": {"dtype": "int64"}},
                    "shape": [flat.numel()],
                    "dtype": "int64",
                }
            )
            return {"node": name}
        return self.leaf(value)


def _form(value: torch.Tensor) -> dict:
    """What a replay needs to draw a like target: class labels (integers) or one-hot rows."""
    if not value.is_floating_point() or value.dim() < 1:
        return {}
    classes = value.shape[-1]
    if 1 < classes <= MAX_ONE_HOT and bool(((value == 0) | (value == 1)).all()):
        if bool((value.sum(-1) == 1).all()):
            return {"form": "one_hot"}
    return {}


def _shape_of(value: torch.Tensor) -> dict:
    return {"shape": list(value.shape), "dtype": DTYPE_NAMES.get(value.dtype, str(value.dtype))}


def _saved(node, attribute: str):
    with contextlib.suppress(Exception):
        return signed(getattr(node, attribute))
    return None


def _number(value) -> float | int | bool:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise LossUnexpressible("a non-finite constant")
        return value
    raise LossUnexpressible("a constant that is not a number")


def _dims(node, keep: bool):
    dim = _saved(node, "_saved_dim")
    if dim is None:
        raise LossUnexpressible(f"{type(node).__name__} without its dimension")
    out = _int_list(dim)
    if keep:
        return out, bool(_saved(node, "_saved_keepdim"))
    return out


def _unary(op):
    return lambda walk, node, kids: (op, [walk.emit(_first(node, kids))])


def _first(node, kids):
    if not kids or kids[0] is None:
        raise LossUnexpressible(f"{type(node).__name__} on a tensor that needs no gradient")
    return kids[0]


def _binary(op):
    def handle(walk, node, kids):
        if len(kids) != 2:
            raise LossUnexpressible(f"{type(node).__name__} with {len(kids)} operands")
        a = walk.operand(kids[0], _saved(node, "_saved_self") if kids[0] is None else None, node)
        b = walk.operand(kids[1], _saved(node, "_saved_other") if kids[1] is None else None, node)
        return op, [a, b]

    return handle


def _add_sub(op: str):
    """``a + b`` / ``a - b``; autograd keeps neither operand, so one that needs no gradient is
    recovered from the result and the other side (add: result - other; sub: result + b or
    a - result)."""

    def handle(walk, node, kids):
        if len(kids) != 2 or (kids[0] is None and kids[1] is None):
            raise LossUnexpressible(f"{type(node).__name__} without a gradient")
        alpha = _number(_saved(node, "_saved_alpha") or 1)
        if alpha != 1:
            raise LossUnexpressible(f"{type(node).__name__} with alpha {alpha}")
        sub = op.startswith("aten.sub")
        if kids[0] is None:
            return op, [_recover(walk, node, kids[1], plus=sub), walk.emit(kids[1])]
        a = walk.emit(kids[0])
        if kids[1] is None:
            return op, [a, _recover(walk, node, kids[0], plus=False, negate=sub)]
        return op, [a, walk.emit(kids[1])]

    return handle


def _recover(walk, node, kept, *, plus: bool, negate: bool = False):
    """result + kept (plus) or result - kept, negated when asked, as a constant or a target."""
    result, other = walk.values.get(id(node)), walk.values.get(id(kept))
    if result is None or other is None:
        raise LossUnexpressible(f"an operand of {type(node).__name__} that autograd does not keep")
    with torch.no_grad():
        value = result + other if plus else result - other
        return walk.leaf(-value if negate else value)


def _softmax(op):
    def handle(walk, node, kids):
        (dim,) = _dims(node, False)
        return op, [walk.emit(_first(node, kids)), dim, False]

    return handle


def _reduce(op):
    def handle(walk, node, kids):
        dims, keep = _dims(node, True)
        return op, [walk.emit(_first(node, kids)), dims, keep]

    return handle


def _scalar(op):
    def handle(walk, node, kids):
        return op, [walk.emit(_first(node, kids)), _number(_saved(node, "_saved_other"))]

    return handle


def _pow(walk, node, kids):
    return "aten.pow.Tensor_Scalar", [
        walk.emit(_first(node, kids)),
        _number(_saved(node, "_saved_exponent")),
    ]


def _clamp(walk, node, kids):
    low, high = _saved(node, "_saved_min"), _saved(node, "_saved_max")
    low = None if low is None else _number(low)
    high = None if high is None else _number(high)
    return "aten.clamp.default", [walk.emit(_first(node, kids)), low, high]


def _clamp_min(walk, node, kids):
    return "aten.clamp_min.default", [
        walk.emit(_first(node, kids)),
        _number(_saved(node, "_saved_min")),
    ]


def _gather(walk, node, kids):
    (dim,) = _dims(node, False)
    index = walk.index(_saved(node, "_saved_index"))
    return "aten.gather.default", [walk.emit(_first(node, kids)), dim, index]


def _index(walk, node, kids):
    indices = _saved(node, "_saved_indices")
    if not isinstance(indices, list | tuple) or not indices:
        raise LossUnexpressible("an index without its indices")
    source = walk.emit(_first(node, kids))
    return "aten.index.Tensor", [source, [walk.index(i) for i in indices]]


def _slice(walk, node, kids):
    names = ("dim", "start", "end", "step")
    dim, start, end, step = (_saved(node, f"_saved_{k}") for k in names)
    if not all(isinstance(v, int) for v in (dim, start, step)) or not isinstance(end, int):
        raise LossUnexpressible("a slice whose bounds are not recorded")
    end = min(end, 2**62)
    return "aten.slice.Tensor", [walk.emit(_first(node, kids)), dim, start, end, step]


def _select(walk, node, kids):
    dim, index = _saved(node, "_saved_dim"), _saved(node, "_saved_index")
    if not isinstance(dim, int) or not isinstance(index, int):
        raise LossUnexpressible("a select whose index is not recorded")
    return "aten.select.int", [walk.emit(_first(node, kids)), dim, index]


def _unsqueeze(walk, node, kids):
    dim = _saved(node, "_saved_dim")
    if not isinstance(dim, int):
        raise LossUnexpressible("an unsqueeze without its dimension")
    return "aten.unsqueeze.default", [walk.emit(_first(node, kids)), dim]


def _view(walk, node, kids):
    """A view or reshape: the result's shape is read from whatever keeps the result."""
    shape = walk.shape_of(node)
    if shape is None:
        raise LossUnexpressible(f"a {type(node).__name__} whose result shape is not recorded")
    return "aten.reshape.default", [walk.emit(_first(node, kids)), list(shape)]


def _addmm(walk, node, kids):
    """A linear layer's ``bias + x @ w.t()`` (a head's parameters are the loss's inputs)."""
    if len(kids) != 3:
        raise LossUnexpressible("an addmm without its three operands")
    for name in ("_saved_alpha", "_saved_beta"):
        if _number(_saved(node, name) if _saved(node, name) is not None else 1) != 1:
            raise LossUnexpressible("an addmm with scaled terms")
    args = [walk.operand(k, _saved(node, s), node) for k, s in zip(kids, _ADDMM, strict=True)]
    return "aten.addmm.default", args


_ADDMM = ("_saved_self", "_saved_mat1", "_saved_mat2")


def _mm(walk, node, kids):
    saved = ("_saved_self", "_saved_mat2")
    if len(kids) != 2:
        raise LossUnexpressible("an mm without its two operands")
    return "aten.mm.default", [
        walk.operand(k, _saved(node, s), node) for k, s in zip(kids, saved, strict=True)
    ]


def _known_loss(op: str):
    """A known loss function's node on a path through a head: the function with its target."""

    def handle(walk, node, kids):
        reduction = _saved(node, "_saved_reduction")
        target = _saved(node, "_saved_target")
        if not isinstance(reduction, int) or not isinstance(target, torch.Tensor):
            raise LossUnexpressible(f"{type(node).__name__} without its target")
        args = [walk.emit(_first(node, kids)), walk.leaf(target, constant=False)]
        if op == "aten.nll_loss.default":
            ignore = _saved(node, "_saved_ignore_index")
            weight = _saved(node, "_saved_weight")
            if isinstance(weight, torch.Tensor) or not isinstance(ignore, int):
                raise LossUnexpressible("an nll_loss with class weights")
            return op, [*args, None, reduction, ignore]
        return op, [*args, reduction]

    return handle


# ops whose result has their (first) operand's shape
_SAME_SHAPE = {
    "SoftmaxBackward0",
    "LogSoftmaxBackward0",
    "LogBackward0",
    "ExpBackward0",
    "NegBackward0",
    "SqrtBackward0",
    "AbsBackward0",
    "SigmoidBackward0",
    "TanhBackward0",
    "CloneBackward0",
}
_UNARY_SELF = {"LogBackward0", "SqrtBackward0", "AbsBackward0", "Log1PBackward0"}
_HANDLERS = {
    "LogBackward0": _unary("aten.log.default"),
    "ExpBackward0": _unary("aten.exp.default"),
    "NegBackward0": _unary("aten.neg.default"),
    "SqrtBackward0": _unary("aten.sqrt.default"),
    "AbsBackward0": _unary("aten.abs.default"),
    "SigmoidBackward0": _unary("aten.sigmoid.default"),
    "TanhBackward0": _unary("aten.tanh.default"),
    "MeanBackward0": _unary("aten.mean.default"),
    "SumBackward0": _unary("aten.sum.default"),
    "CloneBackward0": _unary("aten.clone.default"),
    "SoftmaxBackward0": _softmax("aten._softmax.default"),
    "LogSoftmaxBackward0": _softmax("aten._log_softmax.default"),
    "MeanBackward1": _reduce("aten.mean.dim"),
    "SumBackward1": _reduce("aten.sum.dim_IntList"),
    "MulBackward0": _binary("aten.mul.Tensor"),
    "DivBackward0": _binary("aten.div.Tensor"),
    "MulBackward1": _scalar("aten.mul.Scalar"),
    "DivBackward1": _scalar("aten.div.Scalar"),
    "AddBackward0": _add_sub("aten.add.Tensor"),
    "SubBackward0": _add_sub("aten.sub.Tensor"),
    "PowBackward0": _pow,
    "AddmmBackward0": _addmm,
    "MmBackward0": _mm,
    "TBackward0": _unary("aten.t.default"),
    "MseLossBackward0": _known_loss("aten.mse_loss.default"),
    "NllLossBackward0": _known_loss("aten.nll_loss.default"),
    "ClampBackward1": _clamp,
    "ClampMinBackward0": _clamp_min,
    "GatherBackward0": _gather,
    "IndexBackward0": _index,
    "SliceBackward0": _slice,
    "SelectBackward0": _select,
    "UnsqueezeBackward0": _unsqueeze,
    "ViewBackward0": _view,
    "ReshapeAliasBackward0": _view,
    "UnsafeViewBackward0": _view,
}


def loss_program(loss: torch.Tensor, outputs: dict, param_index: dict[int, int]) -> tuple:
    """The loss as a program over one model's outputs: (program, weights, ids of the parameters
    it reads). ``outputs``: id(grad_fn) of each of the model's flattened outputs -> (its index,
    the tensor); ``param_index``: id(parameter) -> the trace's index. Raises LossUnexpressible."""
    if loss.numel() != 1 or not loss.is_floating_point():
        raise LossUnexpressible("the loss is not one floating-point number")
    walk = _Walk(loss, outputs, param_index)
    walk.collect_values()
    result = walk.emit(loss.grad_fn)
    if not walk.seen_output:
        raise LossUnexpressible("the loss does not reach the model's output")
    nodes = walk.placeholders + walk.nodes
    nodes.append({"name": "loss", "kind": "output", "args": [result]})
    program = {"version": LOSS_PROGRAM_VERSION, "nodes": nodes, "inputs": walk.inputs}
    return program, walk.weights, set(walk.params)


def loss_programs(loss: torch.Tensor, model_outputs: dict[int, list], param_index: dict) -> dict:
    """For each top-level model seen in this step (id -> its flattened outputs), the loss as a
    program over its outputs, or why it cannot be one (which model is exported is known only
    at the optimizer's step)."""
    out: dict = {}
    for module, leaves in model_outputs.items():
        outputs = {
            id(tensor.grad_fn): (index, tensor)
            for index, tensor in enumerate(leaves)
            if isinstance(tensor, torch.Tensor) and tensor.grad_fn is not None
        }
        try:
            with torch.no_grad():
                out[module] = loss_program(loss, outputs, param_index)
        except LossUnexpressible as exc:
            out[module] = str(exc)[:300]
        except Exception as exc:  # noqa: BLE001 - a bug of ours must not stop the recording
            out[module] = f"the loss program failed ({type(exc).__name__}: {exc})"[:300]
    return out


def loss_of_module(loss: dict | None, module) -> tuple[dict, dict]:
    """The loss entry written for the exported ``module`` (None: no program) and the initial
    weights of the head its loss program reads. A known loss keeps its name (the replay's
    stand-in) unless a head lies between the model's output and it; a loss none of the known
    kinds names is ``program`` when it could be written as one, else ``unknown`` with why."""
    if loss is None:
        return {"kind": "unknown", "direct": False}, {}
    loss = dict(loss)
    programs = loss.pop("_programs", None) or {}
    found = programs.get(id(module)) if module is not None else None
    if isinstance(found, tuple) and found[2] & {id(p) for p in module.parameters()}:
        found = "the loss reads the model's own parameters (a regulariser)"
    if isinstance(found, tuple):
        program, weights, _ = found
        arrays = {k: v.numpy() for k, v in weights.items()}
        if loss["kind"] == "unknown":
            return {"kind": "program", "direct": False, "program": program}, arrays
        if weights:  # a head between the model and a known loss
            entry = {"kind": "program", "direct": False, "program": program}
            return entry | {"stands_for": loss["kind"]}, arrays
        return loss, {}
    if loss["kind"] == "unknown":
        if found is None and len(programs) == 1:
            found = next(iter(programs.values()))
        why = found if isinstance(found, str) else "the loss does not reach the model's output"
        loss["why"] = why
    return loss, {}
