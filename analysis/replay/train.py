"""Training a loaded program for N steps with the recorded optimizer and learning rates, and
writing what it measured as a ``Trace`` (the same arrays the recorder writes), so that the
diagnosis engine judges a replay exactly as it judged the user's run.

A ``Setup`` is what a candidate fix changes: the program's nodes, the initial state, the
learning rate (a factor on the recorded schedule) and gradient clipping.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from analysis.replay.execute import (
    Batches,
    activation_row,
    activation_slice,
    activation_sums,
    forward,
    loss_of,
    user_output,
    user_outputs,
)
from analysis.replay.loss_program import run_loss
from analysis.replay.program import Program, ProgramError
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

# Optimizer classes a replay builds (by name, from this list only), and the hyperparameters
# each accepts are read from its constructor's signature.
OPTIMIZERS = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam", "Adadelta")
DEFAULT_STEPS = 200


@dataclass
class Setup:
    """A replay's settings: the recorded ones, or a candidate fix's."""

    program: Program
    lr_factor: float = 1.0
    # cap each group's learning rate at its recorded median (a schedule without its spikes)
    lr_at_most_median: bool = False
    clip: float | None = None
    # initial state -> initial state (re-initialisations), applied before training
    init: Callable[[dict, Program], None] | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Replay:
    trace: Trace
    losses: list[float]


def initial_state(program: Program, seed: int = 0) -> dict:
    import torch

    generator = torch.Generator().manual_seed(seed)
    state = {}
    for target, shape in program.shapes.items():
        if target in program.weights:
            array = np.array(program.weights[target], copy=True)
            state[target] = torch.from_numpy(array)
        else:
            stats = program.init[target]
            state[target] = torch.randn(shape, generator=generator) * stats["std"] + stats["mean"]
    return state


def run(trace: Trace, setup: Setup, *, steps: int = DEFAULT_STEPS, seed: int = 0) -> Replay:
    """Train the program ``steps`` steps and return the replay's trace."""
    import torch

    program = setup.program
    torch.manual_seed(seed)  # dropout in the graph draws from the global stream
    state = initial_state(program, seed)
    if setup.init is not None:
        with torch.no_grad():
            setup.init(state, program)
    params = [i for i in program.inputs if i.kind == "parameter"]
    info = [trace.params[i.param] if _known(trace, i.param) else None for i in params]
    for item, p in zip(params, info, strict=True):
        trainable = p.trainable if p is not None else True
        state[item.target] = state[item.target].float().requires_grad_(trainable)
    opt_info = (
        trace.optimizers[program.optimizer] if program.optimizer < len(trace.optimizers) else None
    )
    if opt_info is None:
        raise ProgramError("the program's optimizer is not in the trace")
    groups = list(opt_info.groups)
    members = {g: [] for g in groups}
    for item, p in zip(params, info, strict=True):
        if p is not None and p.group in members and p.trainable:
            members[p.group].append(state[item.target])
    schedule = _schedule(trace, program.optimizer, groups)
    if setup.lr_at_most_median:
        schedule = [[min(v, float(np.median(values))) for v in values] for values in schedule]
    optimizer = _optimizer(trace, opt_info.type, groups, members)

    batches = Batches(program, seed)
    first_inputs = batches.inputs()
    out_shape = tuple(
        user_output(program, forward(program, _detached(state), first_inputs)[0]).shape
    )
    module_rows = _modules(trace, program)
    P, M, G = len(params), len(module_rows), len(groups)
    arrays = _empty(steps, P, M, G)
    losses = []
    tensors = [state[i.target] for i in params]
    for step in range(steps):
        for g, group in enumerate(optimizer.param_groups):
            group["lr"] = schedule[g][min(step, len(schedule[g]) - 1)] * setup.lr_factor
        loss, modules = _forward_loss(program, state, batches, out_shape)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        with torch.no_grad():
            fresh = _norms(tensors)
            if setup.clip is not None:
                torch.nn.utils.clip_grad_norm_(tensors, setup.clip)
            before = [t.detach().clone() for t in tensors]
            arrays["grad_norm"][step] = _norms(tensors) if setup.clip is not None else fresh
            arrays["fresh_grad_norm"][step] = fresh
            arrays["weight_norm"][step] = torch.stack([b.norm() for b in before]).tolist()
            arrays["grad_dead_in_frac"][step] = _dead_columns(tensors)
            if not np.isfinite(fresh).all():
                arrays["grad_nonfinite"][step] = _nonfinite([t.grad for t in tensors])
            taken = [
                (m, index, act)
                for m, (index, act, leaf) in enumerate(module_rows)
                if leaf and index in modules
            ]
            if taken:
                _activation_rows(arrays, step, [(m, modules[i], act) for m, i, act in taken])
        optimizer.step()
        with torch.no_grad():
            arrays["update_norm"][step] = torch.stack(
                [(t - b).norm() for t, b in zip(tensors, before, strict=True)]
            ).tolist()
            if not np.isfinite(arrays["update_norm"][step]).all():
                arrays["weight_nonfinite"][step] = _nonfinite(tensors)
        value = float(loss.detach())
        arrays["loss"][step] = value
        arrays["lr"][step] = [group["lr"] for group in optimizer.param_groups]
        losses.append(value)
        if not math.isfinite(value) and step > 10:
            arrays = {k: v[: step + 1] for k, v in arrays.items()}  # diverged: stop early
            break
    replay = _trace(trace, program, params, info, groups, module_rows, arrays)
    return Replay(replay, losses)


def _forward_loss(program: Program, state: dict, batches: Batches, out_shape: tuple) -> tuple:
    """One batch's loss (the recorded loss program, or the replay's stand-in for a known loss)
    and each module's last value."""
    if program.loss_program is not None:
        inputs = batches.inputs()
        targets = batches.loss_targets(inputs[0], program.loss_program)
        outputs, modules = forward(program, state, inputs)
        loss = run_loss(program.loss_program, user_outputs(program, outputs), targets, state)
        return loss, modules
    inputs, target = batches.next(out_shape)
    outputs, modules = forward(program, state, inputs)
    output = user_output(program, outputs)
    if target is None:
        raise ProgramError(f"cannot stand in for the loss ({program.loss.get('kind', 'unknown')})")
    options = program.loss.get("options") or {}
    return loss_of(program.loss.get("kind"), options, output, target), modules


def _activation_rows(arrays: dict, step: int, taken: list) -> None:
    """The activation statistics of every measured module at this step: like layers (same
    slice shape, same activation) reduced together, one transfer."""
    import torch

    groups: dict = {}
    for m, value, activation in taken:
        x = activation_slice(value)
        groups.setdefault((tuple(x.shape), activation), []).append((m, x))
    order, sums = [], []
    for (_, activation), members in groups.items():
        order += [(m, x) for m, x in members]
        sums.append(activation_sums([x for _, x in members], activation))
    host = torch.cat(sums).tolist()
    for (m, x), raw in zip(order, host, strict=True):
        row = activation_row(raw, (x.numel(), x.shape[1], x.shape[0]))
        for key, value in zip(_ACT_KEYS, row, strict=True):
            arrays[key][step, m] = value


_ACT_KEYS = ("act_mean", "act_std", "act_zero_frac", "act_dead_frac", "act_sat_frac")


def _known(trace: Trace, index: int | None) -> bool:
    return index is not None and 0 <= index < len(trace.params)


def _detached(state: dict) -> dict:
    return {k: v.detach().clone() for k, v in state.items()}


def _norms(tensors: list) -> np.ndarray:
    """Gradient norms in one transfer (NaN where there is no gradient)."""
    import torch

    out = np.full(len(tensors), np.nan, np.float32)
    present = [i for i, t in enumerate(tensors) if t.grad is not None]
    if present:
        out[present] = torch.stack([tensors[i].grad.float().norm() for i in present]).numpy()
    return out


def _nonfinite(tensors: list) -> list[int]:
    import torch

    return [0 if t is None else int((~torch.isfinite(t)).sum()) for t in tensors]


def _dead_columns(tensors: list) -> np.ndarray:
    """Share of all-zero input columns of each matrix's gradient, in one transfer (NaN for
    other tensors)."""
    import torch

    out = np.full(len(tensors), np.nan, np.float32)
    matrices = [i for i, t in enumerate(tensors) if t.grad is not None and t.grad.dim() == 2]
    if matrices:
        shares = [
            1 - torch.count_nonzero(tensors[i].grad.abs().amax(dim=0)) / tensors[i].grad.shape[1]
            for i in matrices
        ]
        out[matrices] = torch.stack(shares).numpy()
    return out


def _schedule(trace: Trace, opt: int, groups: list[int]) -> list[list[float]]:
    """The recorded learning rate of each group at each of the optimizer's recorded steps."""
    rows = np.flatnonzero(trace.steps.optimizer == opt)
    out = []
    for g in groups:
        values = [float(v) for v in trace.steps.lr[rows, g] if math.isfinite(float(v))]
        if not values:
            hyper = trace.groups[g].hyperparams.get("lr")
            values = [float(hyper) if isinstance(hyper, int | float) else 1e-3]
        out.append(values)
    return out


def _optimizer(trace: Trace, kind: str, groups: list[int], members: dict):
    import torch

    if kind not in OPTIMIZERS:
        raise ProgramError(f"the replay does not know the optimizer {kind[:40]!r}")
    cls = getattr(torch.optim, kind)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "params", "lr"}
    accepted -= {"foreach", "fused", "capturable", "differentiable", "maximize"}
    param_groups = []
    for g in groups:
        hyper = {}
        for key, value in trace.groups[g].hyperparams.items():
            if key in accepted and _plain_number(value):
                hyper[key] = tuple(value) if isinstance(value, list) else value
        param_groups.append({"params": members[g], "lr": 1e-3, **hyper})
    try:
        return cls(param_groups)
    except (ValueError, TypeError) as exc:
        raise ProgramError(f"cannot build {kind} from the recorded hyperparameters: {exc}") from exc


def _plain_number(value) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, int | float):
        return math.isfinite(value)
    return isinstance(value, list) and len(value) <= 4 and all(_plain_number(v) for v in value)


def _modules(trace: Trace, program: Program) -> list[tuple[int, str | None, bool]]:
    """(index, activation, leaf) of the trace's modules the program's nodes belong to and of
    their ancestors: the engine finds a layer's top-level model (which layer is the output one)
    through the containers, and the recorder measures activations on the leaves only."""
    used = {n.module for n in program.nodes if 0 <= n.module < len(trace.modules)}
    paths = [m.path for m in trace.modules]
    by_path = {path: i for i, path in enumerate(paths)}
    keep = set(used)
    for index in used:
        path = paths[index]
        while path:
            path = path.rpartition(".")[0]
            if path in by_path:
                keep.add(by_path[path])
    out = []
    for index in sorted(keep):
        path = paths[index]
        leaf = index in used and not any(
            p != path and (not path or p.startswith(path + ".")) for p in paths
        )
        out.append((index, trace.modules[index].activation, leaf))
    return out


def _empty(steps: int, P: int, M: int, G: int) -> dict:
    f32 = np.float32
    return {
        "loss": np.full(steps, np.nan),
        "lr": np.full((steps, G), np.nan),
        "grad_norm": np.full((steps, P), np.nan, f32),
        "fresh_grad_norm": np.full((steps, P), np.nan, f32),
        "weight_norm": np.full((steps, P), np.nan, f32),
        "update_norm": np.full((steps, P), np.nan, f32),
        "grad_nonfinite": np.zeros((steps, P), np.int32),
        "weight_nonfinite": np.zeros((steps, P), np.int32),
        "grad_dead_in_frac": np.full((steps, P), np.nan, f32),
        **{key: np.full((steps, M), np.nan, f32) for key in _ACT_KEYS},
    }


def _trace(trace, program, params, info, groups, module_rows, arrays) -> Trace:
    S = len(arrays["loss"])
    group_index = {g: k for k, g in enumerate(groups)}
    param_infos = []
    for item, p in zip(params, info, strict=True):
        in_group = p is not None and p.group in group_index
        param_infos.append(
            ParamInfo(
                name=p.name if p is not None else item.target,
                module=p.module if p is not None else "",
                shape=tuple(program.shapes[item.target]),
                trainable=p.trainable if p is not None else True,
                optimizer=0 if in_group else None,
                group=group_index[p.group] if in_group else None,
            )
        )
    modules = tuple(
        ModuleInfo(
            path=trace.modules[index].path,
            type=trace.modules[index].type,
            order=trace.modules[index].order,  # the recorded forward order
            activation=activation,
            grad_step=0,
        )
        for index, activation, _ in module_rows
    )
    kinds = [EventKind.CLEAR, EventKind.FORWARD, EventKind.BACKWARD, EventKind.STEP]
    events = Events(
        kind=np.tile(np.array(kinds, np.int8), S),
        row=np.repeat(np.arange(S, dtype=np.int64), len(kinds)),
        optimizer=np.tile(np.array([0, -1, -1, 0], np.int16), S),
    )
    steps = Steps(
        step=np.arange(S, dtype=np.int64),
        optimizer=np.zeros(S, np.int16),
        backward_count=np.ones(S, np.int32),
        cleared=np.ones(S, bool),
        stale_grad=np.zeros((S, len(params)), bool),
        **arrays,
    )
    opt = trace.optimizers[program.optimizer]
    return Trace(
        version=FORMAT_VERSION,
        run=RunInfo(
            torch_version=trace.run.torch_version,
            python_version=trace.run.python_version,
            platform="replay",
            command=("replay",),
            every=1,
            total_steps=S,
            ended=RunEnd.COMPLETED,
        ),
        params=tuple(param_infos),
        modules=modules,
        groups=tuple(GroupInfo(0, trace.groups[g].hyperparams) for g in groups),
        optimizers=(OptimizerInfo(opt.type, tuple(range(len(groups)))),),
        events=events,
        steps=steps,
    )
