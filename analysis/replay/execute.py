"""Running a loaded program: the forward node by node, and the synthetic batches it is fed.

Only allowlisted ops are called (``analysis.replay.ops.resolve``), with arguments that are
earlier nodes' values or typed literals; every value is checked against the size cap as it is
made. Batches are drawn from the recorded statistics of the user's inputs and target, never
from their data; the targets come from a fixed random "teacher" of the inputs so that the
synthetic task can be learned (a loss that falls means the model trains).
"""

from __future__ import annotations

import functools
import math

import torch

from analysis.replay.ops import SKIPPED_OPS, resolve
from analysis.replay.program import MAX_ELEMENTS, Literal, Program, ProgramError, Ref

# The recorder's activation statistics (traces/recorder/constants.py; the engine may not import
# the recorder): a slice of at most this many elements, saturation within this of a bound.
ACT_SAMPLE_ELEMENTS = 16384
SATURATION_MARGIN = 1e-2
SATURATING = {"sigmoid": (0.0, 1.0), "hardsigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
SATURATING["hardtanh"] = (-1.0, 1.0)

# A bag-of-tokens teacher reads at most this many token ids (larger ids share buckets).
MAX_BAG_TOKENS = 4096

LOSSES = ("cross_entropy", "nll", "mse", "l1", "smooth_l1", "bce", "bce_with_logits")


def _literal(literal: Literal):
    if literal.kind == "dtype":
        return getattr(torch, literal.value)  # one of program.DTYPES
    if literal.kind == "device":
        return torch.device("cpu")
    if literal.kind == "layout":
        return torch.strided
    if literal.kind == "memory_format":
        return getattr(torch, literal.value)  # one of program.MEMORY_FORMATS
    return float(literal.value)


def _value(arg, env: dict):
    if isinstance(arg, Ref):
        return env[arg.name]
    if isinstance(arg, Literal):
        return _literal(arg)
    if isinstance(arg, list):
        return [_value(a, env) for a in arg]
    return arg


def forward(program: Program, state: dict, user_inputs: list) -> tuple[list, dict]:
    """The program's outputs and each module's last value (module index -> tensor)."""
    env: dict = {}
    feed = iter(user_inputs)
    for item in program.inputs:
        env[item.node] = next(feed) if item.kind == "user_input" else state[item.target]
    modules: dict[int, torch.Tensor] = {}
    outputs: list = []
    for node in program.nodes:
        if node.kind == "placeholder":
            continue
        if node.kind == "output":
            outputs = _value(node.args[0] if node.args else [], env)
            break
        value = run_node(node, env)
        if isinstance(value, torch.Tensor) and node.module >= 0:
            modules[node.module] = value
    if not isinstance(outputs, list | tuple):
        outputs = [outputs]
    for name, target in program.mutations.items():
        if name in env and isinstance(env[name], torch.Tensor):
            with torch.no_grad():
                state[target].copy_(env[name])
    return list(outputs), modules


def run_node(node, env: dict):
    """Call one allowlisted op on earlier values and literals; its value, also put in ``env``."""
    if node.op in SKIPPED_OPS:
        env[node.name] = None
        return None
    try:
        value = _op(node.op)(*_value(list(node.args), env), **_value_kw(node.kwargs, env))
    except (RuntimeError, TypeError, ValueError, IndexError, NotImplementedError) as exc:
        raise ProgramError(f"node {node.name!r} ({node.op}) failed: {_line(exc)}") from exc
    if isinstance(value, torch.Tensor) and value.numel() > MAX_ELEMENTS:
        raise ProgramError(f"node {node.name!r} made {value.numel():,} elements")
    env[node.name] = value
    return value


value_of = _value


@functools.cache
def _op(name: str):
    return resolve(name)


def _value_kw(kwargs: dict, env: dict) -> dict:
    return {k: _value(v, env) for k, v in kwargs.items()}


def _line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def user_outputs(program: Program, outputs: list) -> list:
    """The model's own outputs (not the buffer updates export adds), in the recorded order."""
    mutated = set(program.mutations)
    names = [a.name for a in program.nodes[-1].args[0]] if program.nodes[-1].args else []
    return [v for i, v in enumerate(outputs) if i >= len(names) or names[i] not in mutated]


def user_output(program: Program, outputs: list) -> torch.Tensor:
    """The output the loss is taken on: the first floating-point user output."""
    mutated = set(program.mutations)
    names = [a.name for a in program.nodes[-1].args[0]] if program.nodes[-1].args else []
    for i, value in enumerate(outputs):
        if i < len(names) and names[i] in mutated:
            continue
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            return value
    raise ProgramError("the program has no floating-point output to take a loss on")


class Batches:
    """Synthetic batches matched to the recorded statistics, from a fixed seed."""

    def __init__(self, program: Program, seed: int = 0) -> None:
        self.program = program
        self.generator = torch.Generator().manual_seed(seed)
        self.users = [i.summary for i in program.inputs if i.kind == "user_input"]
        self.target = (program.loss or {}).get("target") or None
        self.kind = (program.loss or {}).get("kind", "unknown")
        self.teachers: dict[tuple, torch.Tensor] = {}
        self.center: torch.Tensor | None = None
        self.scale: torch.Tensor | None = None

    def next(self, output_shape: tuple[int, ...]) -> tuple[list, torch.Tensor | None]:
        inputs = [self._input(summary) for summary in self.users]
        return inputs, self._target(inputs[0], output_shape)

    def inputs(self) -> list:
        return [self._input(summary) for summary in self.users]

    def _input(self, summary: dict) -> torch.Tensor:
        shape, dtype = summary["shape"], summary["dtype"]
        g = self.generator
        if dtype == "bool":
            return torch.rand(shape, generator=g) < summary.get("mean", 0.5)
        if dtype.startswith(("int", "uint")):
            low = int(summary.get("min", 0))
            high = max(int(summary.get("max", low)), low) + 1
            return torch.randint(low, high, shape, generator=g, dtype=getattr(torch, dtype))
        mean, std = summary.get("mean", 0.0), summary.get("std", 1.0)
        x = torch.randn(shape, generator=g) * std + mean
        if "min" in summary and "max" in summary and summary["min"] < summary["max"]:
            x = x.clamp(summary["min"], summary["max"])
        return x.to(getattr(torch, dtype))

    def _features(self, x: torch.Tensor, rows: int) -> torch.Tensor:
        """The teacher's view of the inputs: [rows, features], standardised. A task the model's
        architecture can learn: a convolutional net (images, [N, C, H, W]) pools over positions,
        so its teacher reads each channel's mean and spread, not single pixels; a model of token
        sequences ([N, T] integers) embeds tokens, so its teacher reads the bag of tokens, not
        their ids as numbers."""
        if x.numel() % rows:
            return torch.randn(rows, 1, generator=self.generator)
        if x.is_floating_point() and x.dim() >= 4 and x.shape[0] == rows:
            spatial = x.float().flatten(2)
            flat = torch.cat([spatial.mean(2), spatial.std(2)], dim=1)
        elif not x.is_floating_point() and x.dim() == 2 and x.shape[0] == rows:
            top = self.users[0].get("max") if self.users else None
            vocab = min((int(top) if isinstance(top, int) else int(x.max())) + 1, MAX_BAG_TOKENS)
            counts = torch.zeros(rows, vocab)
            counts.scatter_add_(1, x.long().clamp(min=0) % vocab, torch.ones(x.shape))
            flat = counts / x.shape[1]
        else:
            flat = x.float().reshape(rows, -1)
        if self.center is None or self.center.shape[-1] != flat.shape[1]:
            # Each feature centred and scaled as on the first batch: one fixed task, classes
            # about balanced.
            std = flat.std(0) if flat.shape[0] > 1 else torch.ones(flat.shape[1])
            self.center, self.scale = flat.mean(0), torch.where(std > 1e-6, std, 1.0)
        return (flat - self.center) / self.scale

    def _project(self, features: torch.Tensor, width: int) -> torch.Tensor:
        key = (features.shape[1], width)
        if key not in self.teachers:
            teacher = torch.randn(features.shape[1], width, generator=self.generator)
            self.teachers[key] = teacher / math.sqrt(features.shape[1])
        return features @ self.teachers[key]

    def loss_targets(self, x: torch.Tensor, program) -> dict:
        """Targets for a loss program (``analysis.replay.loss_program``), one per target input,
        drawn from the same teacher as the known losses' targets: class labels for integer
        targets, one-hot rows, else values with the recorded mean and spread."""
        out = {}
        for item in program.inputs:
            if item.kind == "target":
                out[item.node] = self._loss_target(x, item.summary)
        return out

    def _loss_target(self, x: torch.Tensor, summary: dict) -> torch.Tensor:
        shape, dtype = tuple(summary["shape"]), summary["dtype"]
        rows = shape[0] if shape else 1
        size = math.prod(shape)
        if dtype == "bool" or size == 0:
            return torch.rand(shape, generator=self.generator) < summary.get("mean", 0.5)
        if dtype.startswith(("int", "uint")) or summary.get("form") == "one_hot":
            one_hot = summary.get("form") == "one_hot"
            low = 0 if one_hot else int(summary.get("min", 0))
            classes = shape[-1] if one_hot else int(summary.get("max", low)) - low + 1
            labels_shape = shape[:-1] if one_hot else shape
            count = math.prod(labels_shape)
            if classes <= 1:
                labels = torch.full((count,), low)
            elif count == rows:
                labels = self._project(self._features(x, rows), classes).argmax(1) + low
            else:
                labels = torch.randint(low, low + classes, (count,), generator=self.generator)
            labels = labels.reshape(labels_shape)
            if one_hot:
                return torch.nn.functional.one_hot(labels, classes).to(getattr(torch, dtype))
            return labels.to(getattr(torch, dtype))
        width = max(size // max(rows, 1), 1)
        z = self._project(self._features(x, rows), width)
        z = (z - z.mean()) / (z.std() + 1e-6) if z.numel() > 1 else z
        mean, std = float(summary.get("mean", 0.0)), float(summary.get("std", 1.0))
        value = (z * std + mean).reshape(shape)
        if "min" in summary and "max" in summary and summary["min"] < summary["max"]:
            value = value.clamp(summary["min"], summary["max"])
        return value.to(getattr(torch, dtype))

    def _target(self, x: torch.Tensor, out_shape: tuple[int, ...]) -> torch.Tensor | None:
        target = self.target
        if self.kind not in LOSSES or not target or not isinstance(target.get("shape"), list):
            return None
        shape = tuple(target["shape"])
        if self.kind in ("cross_entropy", "nll"):
            classes = class_count(out_shape, shape)
            if classes is None:
                return None
            top = int(target.get("max", classes - 1))
            classes = max(2, min(classes, top + 1))
            rows = math.prod(shape) if shape else 1
            if not x.is_floating_point() and x.numel() == rows:
                labels = (x.long().reshape(-1) * 31 + 7) % classes  # tokens: a fixed mapping
            else:
                labels = self._project(self._features(x, rows), classes).argmax(1)
            return labels.reshape(shape)
        if math.prod(shape) != math.prod(out_shape):
            return None
        rows = out_shape[0] if out_shape else 1
        width = max(math.prod(out_shape) // max(rows, 1), 1)
        z = self._project(self._features(x, rows), width)
        z = (z - z.mean()) / (z.std() + 1e-6)
        if self.kind in ("bce", "bce_with_logits"):
            share = float(target.get("mean", 0.5) or 0.5)
            cut = torch.quantile(z.reshape(-1), 1 - min(max(share, 0.01), 0.99))
            return (z > cut).float().reshape(shape)
        mean, std = float(target.get("mean", 0.0) or 0.0), float(target.get("std", 1.0) or 1.0)
        return (z * std + mean).reshape(shape)


def class_count(out_shape: tuple[int, ...], target_shape: tuple[int, ...]) -> int | None:
    """The class dimension's size: the last (logits [N, C] or [N, T, C]) or dim 1 ([N, C, ...])."""
    if not out_shape:
        return None
    rows = math.prod(target_shape) if target_shape else 1
    if math.prod(out_shape) == rows * out_shape[-1]:
        return out_shape[-1]
    if len(out_shape) >= 2 and math.prod(out_shape) == rows * out_shape[1]:
        return out_shape[1]
    return None


def loss_of(kind: str, options: dict, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The recorded loss function, as the replay's own code (never the user's)."""
    F = torch.nn.functional
    if kind in ("cross_entropy", "nll"):
        classes = class_count(tuple(output.shape), tuple(target.shape))
        logits = output if output.shape[-1] == classes else output.movedim(1, -1)
        logits = logits.reshape(-1, classes)
        flat = target.reshape(-1)
        if kind == "nll":
            return F.nll_loss(logits, flat)
        if "label_smoothing" not in options:
            return F.cross_entropy(logits, flat)
        return F.cross_entropy(logits, flat, label_smoothing=_smoothing(options))
    output = output.reshape(target.shape)
    if kind == "mse":
        return F.mse_loss(output, target)
    if kind == "l1":
        return F.l1_loss(output, target)
    if kind == "smooth_l1":
        beta = options.get("beta", 1.0)
        return F.smooth_l1_loss(output, target, beta=beta if isinstance(beta, float) else 1.0)
    if kind == "bce":
        return F.binary_cross_entropy(output.clamp(0, 1), target)
    return F.binary_cross_entropy_with_logits(output, target)


def _smoothing(options: dict) -> float:
    """The recorded label smoothing, a number in [0, 1]; the recorder writes None when the run
    smoothed by an amount it could not read, and a replay does not guess it."""
    value = options["label_smoothing"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ProgramError(
            f"cannot stand in for the loss (cross_entropy, label smoothing {value!r})"
        )
    return float(value)


def activation_slice(value: torch.Tensor) -> torch.Tensor:
    """The slice of a module's output the recorder measures, as [rows, units] float32: the
    batch's first samples; units are the channels of images, else the last dim."""
    x = value.detach()
    shape = x.shape
    units = max((shape[1] if len(shape) >= 4 else shape[-1]) if len(shape) >= 2 else 1, 1)
    if len(shape) >= 4:
        # Whole samples first: moving the channels last copies only what is measured.
        per_sample = max(x.numel() // max(shape[0], 1), 1)
        x = x[: max(1, -(-ACT_SAMPLE_ELEMENTS // per_sample))].movedim(1, -1)
    x = x.reshape(-1, units)[: max(1, ACT_SAMPLE_ELEMENTS // units)]
    return x if x.dtype == torch.float32 else x.float()


def activation_sums(slices: list[torch.Tensor], activation: str | None) -> torch.Tensor:
    """Raw sums over same-shaped slices (``activation_slice``) of modules with the same
    activation, all at once: [k, 5] of sum, sum of squares, nonzero count, live units,
    saturated count. The replay takes these on every module at every step; one op per sum for
    all of a model's like layers costs less than its forward and backward, ten per layer did
    not. ``activation_row`` turns a row into statistics."""
    x = torch.stack(slices)  # [k, rows, units]
    k = x.shape[0]
    flat = x.reshape(k, -1)
    if flat.shape[1] == 0:
        return torch.full((k, 5), math.nan)
    bounds = SATURATING.get(activation or "")
    saturated = torch.full((k,), math.nan)
    if bounds is not None:
        middle, reach = sum(bounds) / 2, (bounds[1] - bounds[0]) / 2 - SATURATION_MARGIN
        saturated = torch.count_nonzero((flat - middle).abs_() >= reach, dim=1).float()
    return torch.stack(
        [
            flat.sum(1),
            (flat * flat).sum(1),
            torch.count_nonzero(flat, dim=1).float(),
            torch.count_nonzero(x.abs().amax(dim=1), dim=1).float(),
            saturated,
        ],
        dim=1,
    )


def activation_row(sums: list[float], sizes: tuple[int, int, int]) -> list[float]:
    """[mean, std, zero fraction, dead-unit fraction, saturated fraction] from a row of
    ``activation_sums`` (host values) and the slice's (elements, units, rows)."""
    total, squares, nonzero, alive, saturated = sums
    n, units, rows = sizes
    if n == 0:
        return [math.nan] * 5
    mean = total / n
    std = math.sqrt(max(squares / n - mean * mean, 0.0)) if math.isfinite(squares) else math.inf
    return [
        mean,
        std,
        (n - nonzero) / n,
        (units - alive) / units if rows > 1 else math.nan,
        saturated / n,
    ]


def activation_stats(value, activation: str | None) -> list[float]:
    """[mean, std, zero fraction, dead-unit fraction, saturated fraction] of one output."""
    x = activation_slice(value)
    sums = activation_sums([x], activation)[0].tolist()
    return activation_row(sums, (x.numel(), x.shape[1], x.shape[0]))
