"""The recorder's bookkeeping as typed records: what it knows of each module, parameter,
optimizer and param group, what happened since the previous row (``Window``), and what a row
measures before the weights change (``StepMeasurements``, ``WeightCopy``, ``ManualSnapshot``).
Slotted dataclasses: the hooks read their fields on every forward, backward and step.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import torch

from traces.model import EventKind
from traces.recorder.constants import ACTIVATIONS, MAX_WINDOW_EVENTS


@dataclass(slots=True)
class Window:
    """What happened since the previous row."""

    recording: bool
    events: list[tuple[int, int]] = field(default_factory=list)  # (kind, optimizer)
    backward: int = 0
    cleared: bool = False
    forward_seen: bool = False
    loss: torch.Tensor | None = None
    stale: set[int] = field(default_factory=set)
    # stale .grad values at the first backward
    snapshots: dict[int, torch.Tensor] = field(default_factory=dict)
    fresh: dict[int, torch.Tensor] | None = None  # param -> 0-d norm, once measured
    acts: dict[int, torch.Tensor] = field(default_factory=dict)  # module -> activation_sample

    def add(self, kind: EventKind, optimizer: int = -1) -> None:
        if len(self.events) < MAX_WINDOW_EVENTS:
            self.events.append((int(kind), optimizer))


@dataclass(slots=True)
class TrackedModule:
    ref: weakref.ref
    type: str
    activation: str | None
    leaf: bool
    order: int = -1
    path: str = ""
    # The step count when it first ran forward with autograd on (-1: never): a module that did
    # so before some optimizer step takes part in training; one evaluated under no_grad, or
    # built after the last step, does not.
    grad_step: int = -1

    @classmethod
    def of(cls, module: torch.nn.Module) -> TrackedModule:
        kind = type(module).__name__
        leaf = not any(True for _ in module.children())
        return cls(weakref.ref(module), kind, ACTIVATIONS.get(kind), leaf)


@dataclass(slots=True)
class TrackedParam:
    ref: weakref.ref
    name: str
    module: str
    shape: tuple[int, ...]
    numel: int
    trainable: bool
    optimizer: int | None = None
    group: int | None = None
    grad_state: tuple[int, int] | None = None  # (id(.grad), .grad._version) last seen
    owner: int | None = None  # index of the owning module in the recorder's modules

    @classmethod
    def of(cls, param: torch.Tensor, name: str, module: str) -> TrackedParam:
        shape = tuple(param.shape)
        return cls(weakref.ref(param), name, module, shape, param.numel(), param.requires_grad)


@dataclass(slots=True)
class TrackedOptimizer:
    ref: weakref.ref
    type: str


@dataclass(slots=True)
class TrackedGroup:
    """A param group: its optimizer, its position in ``optimizer.param_groups``, and its
    hyperparameters as first seen."""

    optimizer: int
    position: int
    hyperparams: dict


@dataclass(slots=True)
class ScaledLoss:
    """The last ``GradScaler.scale(loss)``: the scaled tensor (weakly) and the loss itself."""

    scaled: weakref.ref
    unscaled: torch.Tensor


@dataclass(slots=True)
class WeightCopy:
    """What the update norm needs of the members' weights before the step."""

    exact: list[int]  # small tensors, copied whole ...
    buffers: list[torch.Tensor]  # ... into these buffers, kept from step to step
    sampled: list[int]  # large tensors, read at their fixed sample ...
    values: list[tuple[torch.Tensor, torch.Tensor]]  # ... as (runs, trailing elements)
    numel: list[int]  # each sampled tensor's size (a changed size: the tensor was replaced)


@dataclass(slots=True)
class StepMeasurements:
    """What a row measured before the weights changed; lists of parameter indices name the
    parameters the matching lists of 0-d tensors belong to. A step that is not recorded
    carries only its optimizer."""

    optimizer: int
    recording: bool
    live: list[int] = field(default_factory=list)  # parameters alive: ``weight_norm``
    with_grad: list[int] = field(default_factory=list)  # parameters with a .grad: ``grad_norm``
    # torch optimizers skip parameters without .grad: their update is exactly 0 (``idle``)
    members: list[int] = field(default_factory=list)
    idle: list[int] = field(default_factory=list)
    grad_norm: list[torch.Tensor] = field(default_factory=list)
    weight_norm: list[torch.Tensor] = field(default_factory=list)
    dead_idx: list[int] = field(default_factory=list)  # parameters with a 2-D gradient ...
    dead: list[torch.Tensor] = field(default_factory=list)  # ... and their column probes
    before: WeightCopy | None = None


@dataclass(slots=True)
class ManualSnapshot:
    """No optimizer so far: the weights and gradient statistics after the last backward."""

    fresh: dict[int, torch.Tensor]
    dead_idx: list[int]
    dead: list[torch.Tensor]
    params: list[int]  # trainable parameters alive ...
    weights: list[torch.Tensor]  # ... and a copy of each
    with_grad: list[int]
    grad_norm: list[torch.Tensor]


def grad_state(param: torch.Tensor) -> tuple[int, int] | None:
    """What ``param.grad`` holds, cheaply: (id, in-place version), or None without a .grad."""
    grad = param.grad
    return None if grad is None else (id(grad), grad._version)
