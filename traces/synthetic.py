"""Synthetic traces for tests and benchmarks: pure numpy, no torch.

``synthetic_trace()`` returns a valid ``Trace`` of a small MLP (``nn.Sequential`` of Linear
layers with an activation between them) trained by SGD, healthy by default: gradients cleared
before every backward, one backward per step, modest gradient and update norms, a falling loss.
Keyword arguments change one aspect (accumulation, missing zero_grad, no optimizer, ...) and
``steps=`` replaces any per-step array outright, so a test can put a number exactly at a
threshold edge::

    trace = synthetic_trace(num_steps=50, layer_sizes=(8, 16, 4))
    trace = replace_steps(trace, grad_norm=trace.steps.grad_norm * 1e6)

The result is validated like a loaded file (``TraceFormatError`` if an override breaks it).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence

import numpy as np

from traces.format import validate
from traces.model import (
    FORMAT_VERSION,
    EventKind,
    Events,
    GroupInfo,
    ModuleInfo,
    OptimizerInfo,
    ParamInfo,
    RunEnd,
    RunInfo,
    Steps,
    Trace,
)

ACTIVATION_TYPES = {
    "relu": "ReLU",
    "leaky_relu": "LeakyReLU",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "gelu": "GELU",
}
CLEAR_MODES = ("before_backward", "never", "before_step")


def synthetic_trace(
    *,
    num_steps: int = 20,
    layer_sizes: Sequence[int] = (16, 32, 32, 4),
    activation: str | None = "relu",
    lr: float = 0.01,
    backward_per_step: int = 1,
    clear: str = "before_backward",
    optimizer: str | None = "SGD",
    grad_scale: float | Sequence[float] = 0.1,
    loss_start: float = 2.3,
    loss_end: float = 0.3,
    not_in_optimizer: Iterable[str] = (),
    frozen: Iterable[str] = (),
    every: int = 1,
    ended: RunEnd = RunEnd.COMPLETED,
    seed: int = 0,
    steps: dict[str, np.ndarray] | None = None,
) -> Trace:
    """A valid trace of an MLP ``layer_sizes[0] -> ... -> layer_sizes[-1]``.

    clear: "before_backward" (zero_grad each step, healthy), "never" (missing zero_grad: ``.grad``
    accumulates, ``stale_grad`` is set from the second row on) or "before_step" (zero_grad between
    backward and step: the step sees zero gradients).
    optimizer: an optimizer class name, or None for manual SGD rows (``MANUAL_UPDATE`` events).
    grad_scale: fresh gradient norm of every Linear layer, or one value per layer (first layer
    first), e.g. ``(1e-6, 1e-3, 1.0)`` for vanishing gradients.
    not_in_optimizer / frozen: parameter names ("0.weight") left out of the optimizer / frozen.
    steps: arrays that replace the computed ones (same names and shapes as ``Steps``).
    """
    if clear not in CLEAR_MODES:
        raise ValueError(f"clear must be one of {CLEAR_MODES}")
    if len(layer_sizes) < 2:
        raise ValueError("layer_sizes needs at least an input and an output size")
    rng = np.random.default_rng(seed)
    n_layers = len(layer_sizes) - 1
    scales = (
        [float(grad_scale)] * n_layers
        if isinstance(grad_scale, int | float)
        else [float(g) for g in grad_scale]
    )
    if len(scales) != n_layers:
        raise ValueError(f"grad_scale needs {n_layers} values, one per Linear layer")
    not_in_optimizer = set(not_in_optimizer)
    frozen = set(frozen)

    # Module tree of nn.Sequential(Linear, act, Linear, act, ..., Linear), in forward order.
    modules: list[ModuleInfo] = []
    layer_of_param: list[int] = []
    params: list[ParamInfo] = []
    index = 0
    for layer in range(n_layers):
        path = str(index)
        modules.append(ModuleInfo(path=path, type="Linear", order=len(modules), activation=None))
        fan_in, fan_out = layer_sizes[layer], layer_sizes[layer + 1]
        for name, shape in (("weight", (fan_out, fan_in)), ("bias", (fan_out,))):
            full = f"{path}.{name}"
            in_opt = optimizer is not None and full not in not_in_optimizer and full not in frozen
            params.append(
                ParamInfo(
                    name=full,
                    module=path,
                    shape=shape,
                    trainable=full not in frozen,
                    optimizer=0 if in_opt else None,
                    group=0 if in_opt else None,
                )
            )
            layer_of_param.append(layer)
        index += 1
        if activation is not None and layer < n_layers - 1:
            modules.append(
                ModuleInfo(
                    path=str(index),
                    type=ACTIVATION_TYPES.get(activation, activation),
                    order=len(modules),
                    activation=activation,
                )
            )
            index += 1
    modules.append(ModuleInfo(path="", type="Sequential", order=len(modules), activation=None))

    S, P, M = num_steps, len(params), len(modules)
    t = np.arange(S)
    trainable = np.array([p.trainable for p in params])
    optimized = np.array([p.optimizer is not None for p in params])
    is_weight = np.array([len(p.shape) == 2 for p in params])

    # Fresh gradient norms: the layer's scale, biases a bit smaller, slowly falling, some noise.
    base = np.array([scales[layer_of_param[i]] * (1.0 if is_weight[i] else 0.3) for i in range(P)])
    decay = np.exp(-0.5 * t / max(S, 1))[:, None]
    noise = rng.lognormal(0.0, 0.05, size=(S, P))
    fresh = (base[None, :] * decay * noise * backward_per_step).astype(np.float32)
    fresh[:, ~trainable] = np.nan

    if clear == "never":
        # Without a clear, .grad sums every window's gradient; roughly aligned early in training.
        grad = np.cumsum(np.nan_to_num(fresh), axis=0).astype(np.float32)
        stale = np.zeros((S, P), dtype=bool)
        stale[1:, :] = trainable[None, :]
    elif clear == "before_step":
        grad = np.zeros((S, P), dtype=np.float32)
        stale = np.zeros((S, P), dtype=bool)
    else:
        grad = fresh.copy()
        stale = np.zeros((S, P), dtype=bool)
    grad[:, ~trainable] = np.nan

    numel = np.array([math.prod(p.shape) for p in params], dtype=np.float64)
    weight0 = np.sqrt(numel / np.array([p.shape[-1] for p in params])) * 0.5
    updates_apply = optimized if optimizer is not None else trainable
    update = (lr * np.nan_to_num(grad)).astype(np.float32)
    update[:, ~updates_apply] = 0.0
    weight = (weight0[None, :] + np.cumsum(update, axis=0) * 0.1).astype(np.float32)

    dead_in = np.full((S, P), np.nan, dtype=np.float32)
    dead_in[:, is_weight & trainable] = 0.0

    act_mean = np.full((S, M), np.nan, dtype=np.float32)
    act_std = np.full((S, M), np.nan, dtype=np.float32)
    act_zero = np.full((S, M), np.nan, dtype=np.float32)
    act_dead = np.full((S, M), np.nan, dtype=np.float32)
    act_sat = np.full((S, M), np.nan, dtype=np.float32)
    for m, info in enumerate(modules):
        if info.activation in ("relu", "leaky_relu"):
            act_mean[:, m], act_std[:, m], act_zero[:, m], act_dead[:, m] = 0.4, 0.6, 0.5, 0.0
        elif info.activation in ("sigmoid", "tanh"):
            act_mean[:, m] = 0.5 if info.activation == "sigmoid" else 0.0
            act_std[:, m], act_zero[:, m], act_dead[:, m], act_sat[:, m] = 0.2, 0.0, 0.0, 0.01
        else:
            act_mean[:, m], act_std[:, m], act_zero[:, m], act_dead[:, m] = 0.0, 1.0, 0.0, 0.0

    loss = loss_end + (loss_start - loss_end) * np.exp(-4.0 * t / max(S, 1))
    loss = loss * rng.lognormal(0.0, 0.02, size=S)

    if optimizer is None:
        groups: tuple[GroupInfo, ...] = ()
        optimizers: tuple[OptimizerInfo, ...] = ()
        row_optimizer = np.full(S, -1, dtype=np.int16)
        lrs = np.zeros((S, 0))
    else:
        groups = (GroupInfo(optimizer=0, hyperparams={"momentum": 0.0, "weight_decay": 0.0}),)
        optimizers = (OptimizerInfo(type=optimizer, groups=(0,)),)
        row_optimizer = np.zeros(S, dtype=np.int16)
        lrs = np.full((S, 1), lr)

    kinds: list[int] = []
    rows: list[int] = []
    opts: list[int] = []

    def add(kind: EventKind, row: int, opt: int = -1) -> None:
        kinds.append(int(kind))
        rows.append(row)
        opts.append(opt)

    for row in range(S):
        if clear == "before_backward" and optimizer is not None:
            add(EventKind.CLEAR, row, 0)
        elif clear == "before_backward":
            add(EventKind.CLEAR, row)
        add(EventKind.FORWARD, row)
        for _ in range(backward_per_step):
            add(EventKind.BACKWARD, row)
        if clear == "before_step":
            add(EventKind.CLEAR, row, 0 if optimizer is not None else -1)
        if optimizer is None:
            add(EventKind.MANUAL_UPDATE, row)
        else:
            add(EventKind.STEP, row, 0)

    built = Steps(
        step=(t * every).astype(np.int64),
        optimizer=row_optimizer,
        backward_count=np.full(S, backward_per_step, dtype=np.int32),
        cleared=np.full(S, clear == "before_backward", dtype=bool),
        loss=loss.astype(np.float64),
        lr=lrs.astype(np.float64),
        grad_norm=grad,
        fresh_grad_norm=fresh,
        weight_norm=weight,
        update_norm=update,
        grad_nonfinite=np.zeros((S, P), dtype=np.int32),
        weight_nonfinite=np.zeros((S, P), dtype=np.int32),
        stale_grad=stale,
        grad_dead_in_frac=dead_in,
        act_mean=act_mean,
        act_std=act_std,
        act_zero_frac=act_zero,
        act_dead_frac=act_dead,
        act_sat_frac=act_sat,
    )
    trace = Trace(
        version=FORMAT_VERSION,
        run=RunInfo(
            torch_version="2.13.0+cpu",
            python_version="3.11.0",
            platform="synthetic",
            command=("synthetic.py",),
            every=every,
            total_steps=S * every,
            ended=ended,
            exit_code=0 if ended is RunEnd.EXIT else None,
            error="RuntimeError: synthetic" if ended is RunEnd.EXCEPTION else "",
        ),
        params=tuple(params),
        modules=tuple(modules),
        groups=groups,
        optimizers=optimizers,
        events=Events(
            kind=np.array(kinds, dtype=np.int8),
            row=np.array(rows, dtype=np.int64),
            optimizer=np.array(opts, dtype=np.int16),
        ),
        steps=built,
        extra={"synthetic": True},
    )
    return replace_steps(trace, **(steps or {}))


def replace_steps(trace: Trace, **arrays: np.ndarray) -> Trace:
    """A copy of ``trace`` with some per-step arrays replaced (cast to their dtype), validated."""
    current = trace.steps
    new = {}
    for name, value in arrays.items():
        if not hasattr(current, name):
            raise TypeError(f"Steps has no array {name!r}")
        new[name] = np.asarray(value, dtype=getattr(current, name).dtype)
    trace = dataclasses.replace(trace, steps=dataclasses.replace(current, **new))
    validate(trace)
    return trace
