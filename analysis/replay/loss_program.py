"""A hand-written loss recorded as a program (the program chunk's ``loss.program``, SCHEMA.md
section 7): loaded with the forward program's checks (every op on the allowlist, every
reference to an earlier node, literal arguments only, sizes under the caps) and run node by node
on the replay's outputs and synthetic targets drawn from the recorded targets' summaries.

``load_loss_program(raw)`` returns a ``LossProgram`` or raises ``ProgramError`` in one line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from analysis.replay.program import (
    DTYPES,
    MAX_ELEMENTS,
    Node,
    ProgramError,
    _list,
    _name,
    _node,
    _shape,
    check_nodes,
)

LOSS_PROGRAM_VERSION = 1
# A hand-written loss is a few ops (the recorder writes at most 64 and their leaves).
MAX_LOSS_NODES = 256
# The model's flattened outputs a loss may read.
MAX_OUTPUT_INDEX = 64
FORMS = ("one_hot",)


@dataclass(frozen=True)
class LossInput:
    node: str
    kind: str  # "output" (the model's output ``index``) | "target" | "parameter" (a head's)
    index: int
    summary: dict  # targets: shape, dtype, statistics, form
    target: str | None = None  # parameters: the name of its initial value in the weights
    param: int | None = None  # parameters: the trace's parameter index


@dataclass(frozen=True)
class LossProgram:
    nodes: tuple[Node, ...]
    inputs: tuple[LossInput, ...]


def load_loss_program(raw: object) -> LossProgram:
    """Check a recorded loss program; ProgramError (one line) when it cannot be run."""
    if not isinstance(raw, dict):
        raise ProgramError("the loss program is not a JSON object")
    if raw.get("version") != LOSS_PROGRAM_VERSION:
        raise ProgramError(f"unknown loss program version {str(raw.get('version'))[:20]!r}")
    raw_nodes = _list(raw.get("nodes"), "loss program nodes", MAX_LOSS_NODES)
    nodes = [_node(item, i) for i, item in enumerate(raw_nodes)]
    check_nodes(nodes)
    for node in nodes:
        _small_ints(node.name, list(node.args) + list(node.kwargs.values()))
    raw_inputs = _list(raw.get("inputs"), "loss program inputs", MAX_LOSS_NODES)
    inputs = [_input(item, i) for i, item in enumerate(raw_inputs)]
    if [i.node for i in inputs] != [n.name for n in nodes if n.kind == "placeholder"]:
        raise ProgramError("the loss program's inputs do not match its placeholders one to one")
    if not any(i.kind == "output" for i in inputs):
        raise ProgramError("the loss program does not read the model's output")
    output = nodes[-1]
    if len(output.args) != 1 or isinstance(output.args[0], list):
        raise ProgramError("the loss program's output is not one value")
    return LossProgram(tuple(nodes), tuple(inputs))


def _small_ints(name: str, args: list) -> None:
    """Sizes a loss program may make (arange's length) stay under the element cap."""
    for arg in args:
        if isinstance(arg, list):
            _small_ints(name, arg)
        elif isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_ELEMENTS:
            # slice ends beyond the tensor are clamped: the recorder writes them as 2**62
            if arg != 2**62:
                raise ProgramError(f"node {name!r} has an integer argument too large ({arg})")


def _input(raw, i: int) -> LossInput:
    if not isinstance(raw, dict):
        raise ProgramError(f"loss input {i} is not an object")
    node = _name(raw.get("node"), f"loss input {i}")
    kind = raw.get("kind")
    if kind == "output":
        index = raw.get("index")
        if (
            not isinstance(index, int)
            or isinstance(index, bool)
            or not 0 <= index < MAX_OUTPUT_INDEX
        ):
            raise ProgramError(f"loss input {node!r} has an invalid output index")
        return LossInput(node, kind, index, {})
    if kind == "parameter":
        target = _name(raw.get("target"), f"loss input {node!r}'s target")
        param = raw.get("param")
        if not target.startswith("loss."):
            raise ProgramError(f"loss input {node!r} names a parameter outside the loss")
        if not isinstance(param, int) or isinstance(param, bool) or param < 0:
            raise ProgramError(f"loss input {node!r} has an invalid parameter index")
        return LossInput(node, kind, -1, {}, target, param)
    if kind != "target":
        raise ProgramError(f"loss input {node!r} has unknown kind {str(kind)[:40]!r}")
    summary: dict = {"shape": _shape(raw.get("shape"), node)}
    if summary["shape"] is None:
        raise ProgramError(f"loss input {node!r} has no shape")
    if raw.get("dtype") not in DTYPES:
        raise ProgramError(f"loss input {node!r} has an unknown dtype")
    summary["dtype"] = raw["dtype"]
    for key in ("mean", "std", "min", "max"):
        value = raw.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            if abs(value) <= 1e30:
                summary[key] = value
    form = raw.get("form")
    if form is not None and form not in FORMS:
        raise ProgramError(f"loss input {node!r} has an unknown form")
    if form is not None:
        summary["form"] = form
    return LossInput(node, kind, -1, summary)


def run_loss(program: LossProgram, outputs: list, targets: dict, state: dict | None = None):
    """The loss value: the program run on the model's user outputs, the targets and (a head's
    parameters) the replay's state."""
    import torch

    from analysis.replay.execute import run_node, value_of

    env: dict = {}
    for item in program.inputs:
        if item.kind == "output":
            if item.index >= len(outputs) or not isinstance(outputs[item.index], torch.Tensor):
                raise ProgramError(f"the loss reads output {item.index}, which the model lacks")
            env[item.node] = outputs[item.index]
        elif item.kind == "parameter":
            env[item.node] = (state or {})[item.target]
        else:
            env[item.node] = targets[item.node]
    for node in program.nodes:
        if node.kind == "call_function":
            run_node(node, env)
    loss = value_of(program.nodes[-1].args[0], env)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1 or not loss.is_floating_point():
        raise ProgramError("the loss program does not make one floating-point number")
    return loss.reshape(())
