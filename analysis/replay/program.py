"""Loading a trace's program: every node checked against the op allowlist and the caps before
anything runs, then run node by node (an interpreter over plain data: no pickle, no ``eval``,
no Python from the upload).

``load_program(spec, weights)`` returns a ``Program`` or raises ``ProgramError`` with a
one-line reason: an unknown op, a node kind or argument form we do not know, a reference to a
node not defined before (which is also how cycles are refused), a shape or size over the caps,
weights that do not match their placeholders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from analysis.replay.ops import ALLOWED_OPS, SKIPPED_OPS

# Caps on what a replay will run (the sandbox's memory and time caps stand behind them).
MAX_NODES = 20_000
MAX_NAME_CHARS = 200
MAX_STRING_CHARS = 64
MAX_LIST_ITEMS = 4096
MAX_ARG_DEPTH = 4
MAX_NDIM = 8
# Elements of any one tensor (a node's value, a placeholder, a size argument): 64 M float32
# = 256 MiB, under the sandbox's address-space cap.
MAX_ELEMENTS = 2**26
# Parameters of the whole program: 10 M (40 MiB of float32, ~200 steps of Adam in seconds to
# minutes on one core); above, a replay is skipped with the reason.
MAX_PARAMETERS = 10_000_000
# Multiply-adds of one forward pass (estimated from the recorded shapes): 2e9 keeps 200
# training steps (~3x the forward each) within minutes on one core.
MAX_FLOPS_PER_STEP = 2e9

KINDS = ("placeholder", "call_function", "output")
INPUT_KINDS = ("parameter", "buffer", "constant_tensor", "user_input")
DTYPES = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8")
DTYPES += ("uint8", "bool")
MEMORY_FORMATS = ("contiguous_format", "preserve_format", "channels_last")


class ProgramError(ValueError):
    """The program cannot be replayed; the message says why, in one line."""


@dataclass(frozen=True)
class Node:
    name: str
    kind: str
    op: str = ""
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    module: int = -1
    shape: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Input:
    node: str
    kind: str
    target: str | None
    param: int | None
    summary: dict  # user inputs: shape, dtype, statistics


@dataclass(frozen=True)
class Program:
    nodes: tuple[Node, ...]
    inputs: tuple[Input, ...]
    mutations: dict  # output node name -> buffer target
    weights: dict  # target -> np.ndarray (empty: drawn from ``init``)
    init: dict  # target -> {"mean", "std"}
    shapes: dict  # target -> shape of each parameter / buffer
    loss: dict
    optimizer: int
    parameters: int  # elements
    flops: float  # estimated multiply-adds of one forward
    loss_program: object = None  # a LossProgram (analysis.replay.loss_program) or None

    def with_nodes(self, nodes: list[Node]) -> Program:
        """The same program with its nodes rewritten (a candidate fix), checked again."""
        check_nodes(nodes)
        return _replace(self, nodes=tuple(nodes))


def _replace(program: Program, **changes) -> Program:
    import dataclasses

    return dataclasses.replace(program, **changes)


def load_program(spec: object, weights: dict | None = None) -> Program:
    """Check ``spec`` (a trace's ``prog`` JSON) and ``weights`` (its ``wini`` arrays)."""
    if not isinstance(spec, dict):
        raise ProgramError("the program is not a JSON object")
    if spec.get("version") != 1:
        raise ProgramError(f"unknown program version {spec.get('version')!r}")
    if spec.get("status") != "captured":
        why = spec.get("why") if isinstance(spec.get("why"), str) else "no reason given"
        raise ProgramError(f"the recorder could not capture the model's forward: {why[:300]}")
    raw_nodes = _list(spec.get("nodes"), "nodes", MAX_NODES)
    nodes = [_node(raw, i) for i, raw in enumerate(raw_nodes)]
    check_nodes(nodes)
    placeholders = [n.name for n in nodes if n.kind == "placeholder"]
    raw_inputs = _list(spec.get("inputs"), "inputs", MAX_NODES)
    inputs = [_input(raw, i) for i, raw in enumerate(raw_inputs)]
    if [i.node for i in inputs] != placeholders:
        raise ProgramError("inputs do not match the graph's placeholders one to one")
    if not any(i.kind == "user_input" for i in inputs):
        raise ProgramError("the program takes no input")
    weights = dict(weights or {})
    init = spec.get("init") if isinstance(spec.get("init"), dict) else {}
    by_name = {n.name: n for n in nodes}
    shapes, parameters = {}, 0
    for item in inputs:
        if item.kind == "user_input":
            continue
        shape = by_name[item.node].shape
        if shape is None:
            raise ProgramError(f"placeholder {item.node!r} has no shape")
        if item.target in weights:
            if np.size(weights[item.target]) != math.prod(shape):
                raise ProgramError(f"weight {item.target!r} does not match its shape {shape}")
            # safetensors keeps a 0-d tensor (BatchNorm's num_batches_tracked) as [1] or []
            weights[item.target] = np.reshape(weights[item.target], shape)
        elif not _stats(init.get(item.target)):
            raise ProgramError(f"no initial value for {item.target!r}")
        shapes[item.target] = shape
        if item.kind == "parameter":
            parameters += math.prod(shape)
    if parameters > MAX_PARAMETERS:
        raise ProgramError(f"{parameters:,} parameters, over the replay cap of {MAX_PARAMETERS:,}")
    flops = _flops(nodes, by_name)
    if flops > MAX_FLOPS_PER_STEP:
        raise ProgramError(
            f"~{flops:.1e} multiply-adds per forward, over the replay cap of {MAX_FLOPS_PER_STEP:.0e}"
        )
    mutations = spec.get("mutations") or {}
    if not isinstance(mutations, dict) or not all(
        isinstance(k, str) and v in shapes for k, v in mutations.items()
    ):
        raise ProgramError("mutations must map output nodes to buffers")
    loss = spec.get("loss") if isinstance(spec.get("loss"), dict) else {"kind": "unknown"}
    loss_program = None
    if loss.get("kind") == "program":
        from analysis.replay.loss_program import load_loss_program

        loss_program = load_loss_program(loss.get("program"))
        parameters += _head(loss_program, inputs, shapes, weights, set(by_name))
        if parameters > MAX_PARAMETERS:
            raise ProgramError(
                f"{parameters:,} parameters, over the replay cap of {MAX_PARAMETERS:,}"
            )
    optimizer = spec.get("optimizer")
    if not isinstance(optimizer, int) or isinstance(optimizer, bool) or optimizer < 0:
        raise ProgramError("the program names no optimizer")
    return Program(
        nodes=tuple(nodes),
        inputs=tuple(inputs),
        mutations=mutations,
        weights=weights,
        init={k: v for k, v in init.items() if _stats(v)},
        shapes=shapes,
        loss=loss,
        optimizer=optimizer,
        parameters=parameters,
        flops=flops,
        loss_program=loss_program,
    )


def _head(loss_program, inputs: list, shapes: dict, weights: dict, taken: set) -> int:
    """The parameters of a head the loss program reads join the program's inputs (trained with
    the recorded optimizer); each must have its initial value. Their element count."""
    by_name = {n.name: n for n in loss_program.nodes}
    count = 0
    for item in loss_program.inputs:
        if item.kind != "parameter":
            continue
        shape = by_name[item.node].shape
        if shape is None or item.target in shapes or item.node in taken:
            raise ProgramError(f"loss parameter {item.node!r} has no shape or a taken name")
        if item.target not in weights or np.size(weights[item.target]) != math.prod(shape):
            raise ProgramError(f"no initial value of the loss's parameter {item.target!r}")
        weights[item.target] = np.reshape(weights[item.target], shape)
        shapes[item.target] = shape
        inputs.append(Input(item.node, "parameter", item.target, item.param, {}))
        count += math.prod(shape)
    return count


def check_nodes(nodes: list[Node]) -> None:
    """Names unique, every reference to an earlier node, one output node, last."""
    seen: set[str] = set()
    for i, node in enumerate(nodes):
        if node.name in seen:
            raise ProgramError(f"node {node.name!r} is defined twice")
        for ref in _refs(node.args) + _refs(list(node.kwargs.values())):
            if ref not in seen:
                raise ProgramError(f"node {node.name!r} refers to {ref!r}, not defined before it")
        if node.kind == "output" and i != len(nodes) - 1:
            raise ProgramError("the output node is not the last node")
        seen.add(node.name)
    if not nodes or nodes[-1].kind != "output":
        raise ProgramError("the program has no output node")


def _refs(args) -> list[str]:
    out = []
    for arg in args:
        if isinstance(arg, Ref):
            out.append(arg.name)
        elif isinstance(arg, list):
            out.extend(_refs(arg))
    return out


@dataclass(frozen=True)
class Ref:
    name: str


@dataclass(frozen=True)
class Literal:
    """A typed constant: a dtype, a device, a layout, a memory format or a non-finite float."""

    kind: str
    value: str


def _list(value, what: str, limit: int) -> list:
    if not isinstance(value, list):
        raise ProgramError(f"{what} is not a list")
    if len(value) > limit:
        raise ProgramError(f"{len(value)} {what}, over the limit of {limit}")
    return value


def _name(value, where: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_NAME_CHARS:
        raise ProgramError(f"{where} has no valid name")
    return value


def _node(raw, i: int) -> Node:
    if not isinstance(raw, dict):
        raise ProgramError(f"node {i} is not an object")
    name = _name(raw.get("name"), f"node {i}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ProgramError(f"node {name!r} has unknown kind {str(kind)[:40]!r}")
    shape = _shape(raw.get("shape"), name)
    if kind == "placeholder":
        return Node(name, kind, shape=shape)
    args = tuple(_arg(a, name, 0) for a in _list(raw.get("args", []), "args", MAX_LIST_ITEMS))
    if kind == "output":
        return Node(name, kind, args=args)
    op = raw.get("op")
    if not isinstance(op, str) or (op not in ALLOWED_OPS and op not in SKIPPED_OPS):
        raise ProgramError(f"node {name!r} calls {str(op)[:80]!r}, which is not on the allowlist")
    kwargs_raw = raw.get("kwargs", {})
    if not isinstance(kwargs_raw, dict) or len(kwargs_raw) > 32:
        raise ProgramError(f"node {name!r} has invalid kwargs")
    kwargs = {}
    for key, value in kwargs_raw.items():
        if not isinstance(key, str) or not key.isidentifier() or len(key) > MAX_STRING_CHARS:
            raise ProgramError(f"node {name!r} has an invalid keyword")
        kwargs[key] = _arg(value, name, 0)
    module = raw.get("module", -1)
    if not isinstance(module, int) or isinstance(module, bool):
        raise ProgramError(f"node {name!r} has an invalid module index")
    return Node(name, kind, op=op, args=args, kwargs=kwargs, module=module, shape=shape)


def _shape(value, name: str) -> tuple[int, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_NDIM:
        raise ProgramError(f"node {name!r} has an invalid shape")
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in value):
        raise ProgramError(f"node {name!r} has an invalid shape")
    if math.prod(value) > MAX_ELEMENTS:
        raise ProgramError(f"node {name!r} has shape {value}, over {MAX_ELEMENTS:,} elements")
    return tuple(value)


def _arg(value, name: str, depth: int):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if abs(value) > MAX_ELEMENTS * 64:
            raise ProgramError(f"node {name!r} has an integer argument too large ({value})")
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            raise ProgramError(f"node {name!r} has a string argument too long")
        return value
    if isinstance(value, list):
        if depth >= MAX_ARG_DEPTH or len(value) > MAX_LIST_ITEMS:
            raise ProgramError(f"node {name!r} has an argument nested too deep or too long")
        items = [_arg(v, name, depth + 1) for v in value]
        ints = [v for v in items if isinstance(v, int) and not isinstance(v, bool)]
        if len(ints) == len(items) and items and math.prod(max(v, 1) for v in ints) > MAX_ELEMENTS:
            raise ProgramError(f"node {name!r} asks for a size over {MAX_ELEMENTS:,} elements")
        return items
    if isinstance(value, dict) and len(value) == 1:
        ((key, inner),) = value.items()
        if key == "node" and isinstance(inner, str):
            return Ref(inner)
        allowed = {
            "dtype": DTYPES,
            "device": ("cpu",),
            "layout": ("strided",),
            "memory_format": MEMORY_FORMATS,
            "float": ("inf", "-inf", "nan"),
        }.get(key)
        if allowed is not None and inner in allowed:
            return Literal(key, inner)
    raise ProgramError(f"node {name!r} has an argument of a form we do not run")


def _input(raw, i: int) -> Input:
    if not isinstance(raw, dict):
        raise ProgramError(f"input {i} is not an object")
    node = _name(raw.get("node"), f"input {i}")
    kind = raw.get("kind")
    if kind not in INPUT_KINDS:
        raise ProgramError(f"input {node!r} has unknown kind {str(kind)[:40]!r}")
    target = raw.get("target")
    if kind != "user_input":
        target = _name(target, f"input {node!r}'s target")
    param = raw.get("param")
    if param is not None and (not isinstance(param, int) or isinstance(param, bool) or param < 0):
        raise ProgramError(f"input {node!r} has an invalid parameter index")
    summary = {}
    if kind == "user_input":
        summary["shape"] = _shape(raw.get("shape"), node)
        if summary["shape"] is None:
            raise ProgramError(f"input {node!r} has no shape")
        dtype = raw.get("dtype")
        if dtype not in DTYPES:
            raise ProgramError(f"input {node!r} has an unknown dtype")
        summary["dtype"] = dtype
        for key in ("mean", "std", "min", "max"):
            value = raw.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                if math.isfinite(value):
                    summary[key] = value
    return Input(node, kind, target, param, summary)


def _stats(value) -> bool:
    return (
        isinstance(value, dict)
        and all(isinstance(value.get(k), int | float) for k in ("mean", "std"))
        and all(math.isfinite(value[k]) for k in ("mean", "std"))
    )


def _flops(nodes: list[Node], by_name: dict[str, Node]) -> float:
    """Multiply-adds of one forward, from the recorded shapes: a matmul-like op costs its
    output's size times the inner dimension, anything else its output's size."""
    total = 0.0
    for node in nodes:
        if node.kind != "call_function" or node.shape is None:
            continue
        out = math.prod(node.shape)
        inner = 1
        if node.op in ("aten.linear.default", "aten.conv1d.default", "aten.conv2d.default"):
            weight = node.args[1] if len(node.args) > 1 else None
            if isinstance(weight, Ref) and by_name[weight.name].shape:
                w = by_name[weight.name].shape
                inner = math.prod(w[1:]) if len(w) > 1 else 1
        elif node.op in ("aten.matmul.default", "aten.bmm.default", "aten.mm.default"):
            first = node.args[0] if node.args else None
            if isinstance(first, Ref) and by_name[first.name].shape:
                inner = by_name[first.name].shape[-1]
        total += out * inner
    return total
