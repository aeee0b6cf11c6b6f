"""The in-memory trace: what a recorded training run looks like to every reader.

This module is the contract between the recorder (which fills it), the file format (which
stores it; see SCHEMA.md) and the diagnosis engine (which reads it). Plain data only: numpy
arrays and frozen dataclasses; no torch, no Django.

Vocabulary
- A *row* is one recorded optimizer step (``Trace.steps``). With several optimizers (a GAN),
  every ``optimizer.step()`` call is its own row and ``steps.optimizer`` says whose it was.
  With no optimizer at all (manual SGD on ``p.data``), a row is written whenever the weights
  changed between two backward passes (``steps.optimizer == -1``).
- The *window* of a row is everything between the previous row and this one: the backward
  passes, clears and forward passes that led up to the step.
- ``P`` parameters, ``M`` modules, ``G`` param groups over all optimizers, ``S`` rows,
  ``E`` events. Per-row, per-parameter statistics are ``float32[S, P]`` with NaN meaning
  "not measured" (for example ``.grad`` was None).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

# 2: the optional program chunks (``prog``, ``wini``: SCHEMA.md section 7). A reader of 2 reads
# version 1 files unchanged.
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
# The version of the program's JSON (``Program.spec["version"]``).
PROGRAM_VERSION = 1


class EventKind(enum.IntEnum):
    """What happened, in the order it happened (``Trace.events``)."""

    BACKWARD = 0  # a top-level torch.autograd.backward / loss.backward() returned
    CLEAR = 1  # gradients cleared: optimizer.zero_grad(), model.zero_grad(), p.grad = None
    STEP = 2  # an optimizer step ran (the row it produced is ``row``)
    SKIPPED_STEP = 3  # a GradScaler skipped the step (non-finite gradients under AMP)
    MANUAL_UPDATE = 4  # weights changed outside any optimizer (p.data -= lr * p.grad)
    FORWARD = 5  # a forward pass of a top-level module began (recorded once per window)


class RunEnd(enum.StrEnum):
    COMPLETED = "completed"  # the script returned normally
    EXIT = "exit"  # the script called sys.exit (exit_code says with what)
    EXCEPTION = "exception"  # the script raised (error says what)
    INTERRUPTED = "interrupted"  # Ctrl-C or SIGTERM
    RUNNING = "running"  # the file was cut off before the run ended (os._exit, kill -9)


@dataclass(frozen=True)
class RunInfo:
    torch_version: str
    python_version: str
    platform: str
    command: tuple[str, ...]  # the script and its arguments as the user ran them
    every: int  # 1 = every optimizer step recorded; k = every k-th (see steps.step)
    total_steps: int  # optimizer steps seen in the run, recorded or not
    ended: RunEnd
    exit_code: int | None = None
    error: str = ""  # "ValueError: ..." when ended == EXCEPTION


@dataclass(frozen=True)
class ParamInfo:
    name: str  # qualified name from its top-level module, e.g. "encoder.layers.0.weight"
    module: str  # path of the owning module ("" for a raw leaf tensor)
    shape: tuple[int, ...]
    trainable: bool  # requires_grad when first seen
    optimizer: int | None  # index into Trace.optimizers; None when in no param group
    group: int | None  # index into Trace.groups (flattened over optimizers); None likewise


@dataclass(frozen=True)
class ModuleInfo:
    path: str  # "" for a top-level module, "encoder.layers.0" below it
    type: str  # class name: "Linear", "ReLU", "Sigmoid", "TransformerEncoderLayer", ...
    order: int  # position in the first forward pass (0 = first to finish); -1 = never ran
    activation: str | None  # "relu" | "leaky_relu" | "sigmoid" | "tanh" | "gelu" | ... or None
    # The step count when it first ran forward with autograd on; -1 never; None when the writer
    # did not say (traces before this field).
    grad_step: int | None = None


@dataclass(frozen=True)
class GroupInfo:
    optimizer: int  # index into Trace.optimizers
    hyperparams: dict  # JSON-safe: momentum, betas, weight_decay, eps, ... (lr lives in steps.lr)


@dataclass(frozen=True)
class OptimizerInfo:
    type: str  # "SGD", "AdamW", ...
    groups: tuple[int, ...]  # indices into Trace.groups


@dataclass(frozen=True)
class Events:
    kind: np.ndarray  # int8[E], EventKind values
    row: np.ndarray  # int64[E], the row whose window the event belongs to (STEP: the row itself)
    optimizer: np.ndarray  # int16[E], optimizer index for STEP / SKIPPED_STEP / CLEAR, else -1


@dataclass(frozen=True)
class Steps:
    """One entry per recorded row. Arrays share their first axis (S)."""

    step: np.ndarray  # int64[S], 0-based optimizer-step number in the run (gaps with every > 1)
    optimizer: np.ndarray  # int16[S], who stepped; -1 for a manual update
    backward_count: np.ndarray  # int32[S], backward passes in the window
    cleared: np.ndarray  # bool[S], a CLEAR happened in the window before its first backward
    loss: np.ndarray  # float64[S], last scalar loss seen in the window; NaN when unseen
    lr: np.ndarray  # float64[S, G], learning rate of every param group at this step

    # per parameter, float32[S, P]
    grad_norm: np.ndarray  # L2 norm of .grad when the step ran (what the optimizer used)
    fresh_grad_norm: np.ndarray  # L2 norm of the gradient the window's backward passes added
    weight_norm: np.ndarray  # L2 norm of the weights just before the step
    update_norm: np.ndarray  # L2 norm of (weights after - weights before) the step; exact
    #   for tensors up to 16384 elements, above an unbiased estimate from a fixed sample of
    #   16384 elements (relative error measured <= 1.2 % on dense updates; SCHEMA.md)
    grad_nonfinite: np.ndarray  # int32[S, P], non-finite elements in .grad at step time
    weight_nonfinite: np.ndarray  # int32[S, P], non-finite elements in the weights after the step
    stale_grad: np.ndarray  # bool[S, P], .grad still held a previous window's values when
    #   the window's first backward began (the signature of a missing zero_grad)
    grad_dead_in_frac: np.ndarray  # float32[S, P], for 2-D weights: share of input columns
    #   whose gradient is exactly zero (inputs that were 0 for the whole batch: dead ReLUs
    #   feeding this layer, also through F.relu); NaN for other shapes

    # per module, float32[S, M]; NaN when the module did not run in the window or n/a
    act_mean: np.ndarray
    act_std: np.ndarray
    act_zero_frac: np.ndarray  # share of output elements exactly 0
    act_dead_frac: np.ndarray  # share of units (features / channels) that are 0 for every
    #   sample of the batch
    act_sat_frac: np.ndarray  # sigmoid/tanh: share of outputs within 1e-2 of a bound

    # bool[S]: the loss passed to backward was NaN (``loss`` is NaN because it was, not because
    # none was seen). All False in files written before the ``lnan`` chunk: unknown there.
    loss_nan: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.loss_nan is None:
            object.__setattr__(self, "loss_nan", np.zeros(self.step.shape[0], dtype=bool))


@dataclass(frozen=True)
class Program:
    """The model's forward as data, taken at the first optimizer step (SCHEMA.md section 7).

    ``spec`` is the ``prog`` chunk's JSON as read: a reader checks only that it is bounded JSON;
    what it describes is checked by whoever rebuilds it (``analysis.replay.program``).
    ``weights`` are the initial parameters and buffers by name (the ``wini`` chunk), empty when
    they were over the recorder's cap or not taken."""

    spec: dict
    weights: dict = field(default_factory=dict)  # name -> np.ndarray (float32 or int64)


@dataclass(frozen=True)
class Trace:
    version: int
    run: RunInfo
    params: tuple[ParamInfo, ...]
    modules: tuple[ModuleInfo, ...]
    groups: tuple[GroupInfo, ...]
    optimizers: tuple[OptimizerInfo, ...]
    events: Events
    steps: Steps
    extra: dict = field(default_factory=dict)  # optional, unvalidated, JSON-safe notes
    program: Program | None = None  # the forward as data (version 2 files that have one)

    @property
    def num_rows(self) -> int:
        return int(self.steps.step.shape[0])
