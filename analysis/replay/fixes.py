"""Candidate fixes per finding, each a change to a replay's ``Setup``: an operator swapped or a
normalisation inserted in the program, a re-initialisation, a learning-rate factor, gradient
clipping. Each says, as a diff against the user's own module names, what to change.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from analysis.detectors.lr_too_high import FIRST_STEPS_RATIO
from analysis.replay.program import Node, Program, Ref
from analysis.replay.train import Setup
from traces.model import Trace

SATURATING_OPS = ("aten.sigmoid.default", "aten.tanh.default")
RELU_OPS = ("aten.relu.default", "aten.relu_.default")
WEIGHTED_OPS = ("aten.linear.default", "aten.conv1d.default", "aten.conv2d.default")
ACTIVATION_OPS = SATURATING_OPS + RELU_OPS + ("aten.gelu.default", "aten.leaky_relu.default")
# The learning rate a fix moves toward: ~1e-3 update/weight ratio (analysis/README.md, the
# lr detectors' TARGET_RATIO).
TARGET_UPDATE_RATIO = 1e-3
# New ops' class names in the diff, and the init each replacement pairs with.
_CLASS = {
    "aten.relu.default": "nn.ReLU()",
    "aten.gelu.default": "nn.GELU()",
    "aten.leaky_relu.default": "nn.LeakyReLU(0.01)",
}


@dataclass(frozen=True)
class Candidate:
    finding: str
    fix: str
    title: str
    setup: Setup
    diff: str


def candidates(trace: Trace, program: Program, finding: dict) -> list[Candidate]:
    """The candidate fixes of one finding (``Finding.to_dict()``) that apply to this program."""
    code = finding["code"]
    names = _Names(trace, program)
    out: list[Candidate | None] = []
    if code == "vanishing_gradients":
        out += [
            _swap(names, code, "relu_kaiming", "aten.relu.default", SATURATING_OPS, "relu"),
            _swap(names, code, "gelu_kaiming", "aten.gelu.default", SATURATING_OPS, "relu"),
            _layer_norm(names, code),
            _reinit(names, code, "kaiming_init", "relu"),
        ]
    elif code == "exploding_gradients":
        out += [
            _clip(names, code),
            _lr(names, code, 0.1),
            _lr_spike(names, code),
            _reinit(names, code, "scaled_init", "lecun"),
        ]
    elif code == "lr_too_high":
        out += [
            _lr(names, code, 0.1),
            _lr_engine(names, code, finding, high=True),
            _lr_spike(names, code),
        ]
    elif code == "lr_too_low":
        out += [_lr(names, code, 10.0), _lr_engine(names, code, finding, high=False)]
    elif code == "dead_relu":
        out += [
            _swap(names, code, "leaky_relu", "aten.leaky_relu.default", RELU_OPS, None),
            _lr(names, code, 0.1),
            _lr_spike(names, code),
            _bias_init(names, code),
        ]
    elif code == "saturated_activations":
        out += [_reinit(names, code, "init_gain", "xavier"), _layer_norm(names, code)]
    elif code == "non_finite":
        out += [_clip(names, code), _lr(names, code, 0.1)]
    return [c for c in out if c is not None]


class _Names:
    """The user's names for what a fix touches: module paths as the script has them."""

    def __init__(self, trace: Trace, program: Program) -> None:
        self.trace, self.program = trace, program
        root = program_root(trace, program)
        self.prefix = "model." if root == "" else ""
        self.lr = _first_lr(trace, program.optimizer)

    def module(self, index: int) -> str:
        if 0 <= index < len(self.trace.modules):
            path = self.trace.modules[index].path
            return f"{self.prefix}{path}" if path else self.prefix.rstrip(".") or "model"
        return "the model's forward"

    def type(self, index: int) -> str:
        return self.trace.modules[index].type if 0 <= index < len(self.trace.modules) else ""

    def listing(self, indices: list[int]) -> str:
        names = list(dict.fromkeys(self.module(i) for i in indices))
        shown = ", ".join(names[:3])
        return shown + (f", … ({len(names)} layers)" if len(names) > 3 else "")

    def weighted(self) -> list[Node]:
        return [n for n in self.program.nodes if n.op in WEIGHTED_OPS]


def program_root(trace: Trace, program: Program) -> str:
    """The path of the module the program was taken from ("" for a script's single model)."""
    # ``Program`` keeps no root; the shortest module path among its nodes' modules' owners.
    paths = [
        trace.modules[n.module].path for n in program.nodes if 0 <= n.module < len(trace.modules)
    ]
    if not paths or any("." not in p for p in paths):
        return ""
    return min(paths, key=len).rsplit(".", 1)[0]


def _first_lr(trace: Trace, opt: int) -> float | None:
    rows = [r for r in range(trace.num_rows) if int(trace.steps.optimizer[r]) == opt]
    if not rows or not trace.steps.lr.shape[1]:
        return None
    value = float(trace.steps.lr[rows[0], trace.optimizers[opt].groups[0]])
    return value if math.isfinite(value) else None


def _swap(names: _Names, code: str, fix: str, new_op: str, old_ops: tuple, init: str | None):
    nodes = list(names.program.nodes)
    changed = [i for i, n in enumerate(nodes) if n.op in old_ops]
    if not changed:
        return None
    for i in changed:
        args = list(nodes[i].args[:1]) + ([0.01] if new_op == "aten.leaky_relu.default" else [])
        nodes[i] = dataclasses.replace(nodes[i], op=new_op, args=tuple(args), kwargs={})
    program = names.program.with_nodes(nodes)
    lines = []
    for i in changed:
        node = nodes[i]
        kind = names.type(node.module)
        before = f"nn.{kind}()" if kind in ("Sigmoid", "Tanh", "ReLU") else "the activation"
        lines.append(f"{names.module(node.module)}: {before} → {_CLASS[new_op]}")
    lines = list(dict.fromkeys(lines))
    diff = "\n".join(lines[:6] + ([f"… and {len(lines) - 6} more"] if len(lines) > 6 else []))
    title = {"relu_kaiming": "ReLU with Kaiming init", "gelu_kaiming": "GELU with Kaiming init"}
    title["leaky_relu"] = "LeakyReLU(0.01)"
    setup = Setup(program, init=_init_fn(init) if init else None)
    if init:
        diff += f"\n{_init_line(names, init)}"
    return Candidate(code, fix, title[fix], setup, diff)


def _layer_norm(names: _Names, code: str):
    """A LayerNorm (no affine parameters) between each weighted layer and its activation."""
    nodes = list(names.program.nodes)
    consumers = {}
    for node in nodes:
        if node.op in ACTIVATION_OPS and node.args and isinstance(node.args[0], Ref):
            consumers.setdefault(node.args[0].name, node.name)
    out, inserted = [], []
    for node in nodes:
        out.append(node)
        if node.op in WEIGHTED_OPS and node.name in consumers and node.shape:
            norm = Node(
                name=f"{node.name}__layer_norm",
                kind="call_function",
                op="aten.layer_norm.default",
                args=(Ref(node.name), [node.shape[-1]]),
                module=-1,
                shape=node.shape,
            )
            out.append(norm)
            inserted.append(node)
    if not inserted:
        return None
    renamed = {n.name: f"{n.name}__layer_norm" for n in inserted}
    for i, node in enumerate(out):
        if node.op in ACTIVATION_OPS and node.args and isinstance(node.args[0], Ref):
            if node.args[0].name in renamed:
                args = (Ref(renamed[node.args[0].name]), *node.args[1:])
                out[i] = dataclasses.replace(node, args=args)
    program = names.program.with_nodes(out)
    lines = [
        f"{names.module(n.module)}: nn.{names.type(n.module)}(…) → "
        f"nn.Sequential(nn.{names.type(n.module)}(…), nn.LayerNorm({n.shape[-1]}))"
        for n in inserted[:3]
    ]
    if len(inserted) > 3:
        lines.append(f"… and {len(inserted) - 3} more, before each activation")
    return Candidate(
        code, "layer_norm", "LayerNorm before each activation", Setup(program), "\n".join(lines)
    )


def _reinit(names: _Names, code: str, fix: str, scheme: str):
    if not names.weighted():
        return None
    titles = {
        "kaiming_init": "Kaiming (He) init",
        "scaled_init": "scaled init (std 1/√fan_in)",
        "init_gain": "Xavier init with the activation's gain",
    }
    setup = Setup(names.program, init=_init_fn(scheme))
    return Candidate(code, fix, titles[fix], setup, _init_line(names, scheme))


def _init_line(names: _Names, scheme: str) -> str:
    call = {
        "relu": "nn.init.kaiming_normal_(m.weight, nonlinearity='relu'); nn.init.zeros_(m.bias)",
        "lecun": "nn.init.normal_(m.weight, std=m.weight.shape[1] ** -0.5); nn.init.zeros_(m.bias)",
        "xavier": "nn.init.xavier_normal_(m.weight, gain=nn.init.calculate_gain('sigmoid' or 'tanh'))",
    }[scheme]
    return f"{names.listing([n.module for n in names.weighted()])}: {call}"


def _init_fn(scheme: str) -> Callable[[dict, Program], None]:
    def init(state: dict, program: Program) -> None:
        import torch

        generator = torch.Generator().manual_seed(1)
        for node in program.nodes:
            if (
                node.op not in WEIGHTED_OPS
                or len(node.args) < 2
                or not isinstance(node.args[1], Ref)
            ):
                continue
            weight = _target(program, node.args[1].name)
            if weight is None:
                continue
            w = state[weight]
            fan_in = math.prod(w.shape[1:])
            fan_out = w.shape[0] * math.prod(w.shape[2:])
            std = {
                "relu": math.sqrt(2.0 / fan_in),
                "lecun": math.sqrt(1.0 / fan_in),
                "xavier": math.sqrt(2.0 / (fan_in + fan_out)),
            }[scheme]
            w.copy_(torch.randn(w.shape, generator=generator) * std)
            bias = _target(program, node.args[2].name) if _has_ref(node, 2) else None
            if bias is not None:
                state[bias].zero_()

    return init


def _has_ref(node: Node, position: int) -> bool:
    return len(node.args) > position and isinstance(node.args[position], Ref)


def _target(program: Program, node_name: str) -> str | None:
    for item in program.inputs:
        if item.node == node_name and item.kind == "parameter":
            return item.target
    return None


def _bias_init(names: _Names, code: str):
    program = names.program
    feeding = {n.args[0].name for n in program.nodes if n.op in RELU_OPS and _has_ref(n, 0)}
    layers = [n for n in names.weighted() if n.name in feeding and _has_ref(n, 2)]
    biases = [_target(program, n.args[2].name) for n in layers]
    biases = [b for b in biases if b is not None]
    if not biases:
        return None

    def init(state: dict, program: Program) -> None:
        for bias in biases:
            state[bias].fill_(0.01)

    diff = f"{names.listing([n.module for n in layers])}: nn.init.constant_(m.bias, 0.01)"
    return Candidate(
        code, "bias_init", "small positive bias init (0.01)", Setup(program, init=init), diff
    )


def _clip(names: _Names, code: str):
    diff = (
        "after loss.backward(), before optimizer.step():\n"
        f"+ torch.nn.utils.clip_grad_norm_({names.prefix.rstrip('.') or 'model'}.parameters(), max_norm=1.0)"
    )
    return Candidate(
        code, "clip_1", "clip the gradient norm at 1.0", Setup(names.program, clip=1.0), diff
    )


def _lr(names: _Names, code: str, factor: float, fix: str | None = None):
    fix = fix or ("lr_div10" if factor < 1 else "lr_x10")
    title = f"learning rate ÷ {1 / factor:g}" if factor < 1 else f"learning rate × {factor:g}"
    if names.lr is not None:
        diff = f"optimizer lr: {names.lr:g} → {names.lr * factor:.3g}"
    else:
        diff = f"optimizer lr × {factor:g}"
    return Candidate(code, fix, title, Setup(names.program, lr_factor=factor), diff)


# A recorded schedule "spikes" when some step's rate is this many times its median.
SPIKE_FACTOR = 3.0


def _lr_spike(names: _Names, code: str):
    """The lower learning rate where it was too high: a schedule whose rate spikes (a warm-up
    set the wrong way round, a restart) capped at its median, the rest of the run unchanged.
    ÷ 10 everywhere also removes the spike, but slows every other step ten-fold."""
    trace, opt = names.trace, names.program.optimizer
    rows = np.flatnonzero(trace.steps.optimizer == opt)
    if rows.size == 0 or not trace.steps.lr.shape[1]:
        return None
    lrs = trace.steps.lr[rows, trace.optimizers[opt].groups[0]].astype(np.float64)
    lrs = lrs[np.isfinite(lrs) & (lrs > 0)]
    if lrs.size < 2:
        return None
    median, peak = float(np.median(lrs)), float(lrs.max())
    if peak < SPIKE_FACTOR * median:
        return None
    steps = int(np.sum(lrs > median * (1 + 1e-9)))
    diff = (
        f"learning-rate schedule: its peak {peak:g} ({steps} of {lrs.size} recorded steps above "
        f"{median:g}) → at most {median:g}"
    )
    setup = Setup(names.program, lr_at_most_median=True)
    return Candidate(
        code, "lr_no_spike", "the schedule without its learning-rate spike", setup, diff
    )


def _lr_engine(names: _Names, code: str, finding: dict, *, high: bool):
    """The factor the engine derived: the one that brings the update/weight ratio to ~1e-3."""
    evidence = finding.get("evidence", {})
    value = evidence.get("value")
    if not isinstance(value, int | float) or not value > 0 or not math.isfinite(value):
        return None
    # An Adam-family run judged on its first steps aims at what healthy runs do there
    # (lr_too_high.FIRST_STEPS_RATIO), as the finding's own advice does.
    first_steps = "first_steps_ratio" in (evidence.get("details") or {})
    factor = (FIRST_STEPS_RATIO if first_steps else TARGET_UPDATE_RATIO) / value
    factor = _nice(factor)
    if (high and factor >= 0.05) or (not high and factor <= 20):
        return None  # the ÷10 / ×10 candidate already covers it
    return _lr(names, code, factor, fix="lr_engine")


def _nice(factor: float) -> float:
    """A round factor (1, 2 or 5 times a power of ten)."""
    exponent = math.floor(math.log10(factor))
    mantissa = factor / 10**exponent
    step = min((1, 2, 5, 10), key=lambda m: abs(math.log(m / mantissa)))
    return step * 10.0**exponent
