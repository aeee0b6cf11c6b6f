"""Validation of a trace's META and rows, shared by the reader and the writer: whatever does
not hold is answered with ``TraceFormatError("one-line reason")``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from traces.layout import (
    EVENT_ARRAYS,
    FRACTION_ARRAYS,
    MAX_CELLS,
    MAX_GROUPS,
    MAX_MODULES,
    MAX_NAME_CHARS,
    MAX_NDIM,
    MAX_OPTIMIZERS,
    MAX_PARAMS,
    MAX_ROWS,
    NORM_ARRAYS,
    PAD_VALUE,
    ROW_ARRAYS,
    ROW_END_KINDS,
    TraceFormatError,
)
from traces.model import (
    READABLE_VERSIONS,
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


@dataclass
class _Path:
    """Where in META a value sits, for error messages."""

    text: str

    def __truediv__(self, part) -> _Path:
        return _Path(f"{self.text}.{part}" if isinstance(part, str) else f"{self.text}[{part}]")


def _fields(
    obj: Any, where: _Path, required: dict[str, tuple], optional: dict | None = None
) -> dict:
    if not isinstance(obj, dict):
        raise TraceFormatError(f"{where.text} must be a JSON object")
    optional = optional or {}
    for key in obj:
        if key not in required and key not in optional:
            raise TraceFormatError(f"{where.text}: unknown field {key!r}")
    out = {}
    for key, types in {**required, **optional}.items():
        if key not in obj:
            if key in required:
                raise TraceFormatError(f"{where.text}: missing field {key!r}")
            out[key] = optional[key][1]
            continue
        value = obj[key]
        allowed = types if key in required else optional[key][0]
        if not _is_type(value, allowed):
            names = "/".join("null" if t is type(None) else t.__name__ for t in allowed)
            raise TraceFormatError(f"{(where / key).text} must be {names}")
        if isinstance(value, str) and len(value) > MAX_NAME_CHARS and key != "error":
            raise TraceFormatError(
                f"{(where / key).text} is longer than {MAX_NAME_CHARS} characters"
            )
        out[key] = value
    return out


def _is_type(value: Any, allowed: tuple) -> bool:
    for t in allowed:
        if t is int and isinstance(value, int) and not isinstance(value, bool):
            return True
        if t is not int and isinstance(value, t):
            return True
    return False


def _index(value: int | None, size: int, where: _Path, *, allow_none: bool = True) -> None:
    if value is None:
        if not allow_none:
            raise TraceFormatError(f"{where.text} must not be null")
        return
    if not 0 <= value < size:
        raise TraceFormatError(f"{where.text} = {value} is out of range [0, {size})")


NoneType = type(None)


def build_trace(
    meta: dict, chunks: list[dict[str, np.ndarray]], loss_nan: list[np.ndarray] = ()
) -> Trace:
    """The Trace of a META object, its ROWS chunks' arrays and its lnan chunks' row indices
    (rows whose loss was NaN at backward), all validated."""
    root = _Path("META")
    top = _fields(
        meta,
        root,
        {
            "format": (str,),
            "version": (int,),
            "run": (dict,),
            "params": (list,),
            "modules": (list,),
            "groups": (list,),
            "optimizers": (list,),
        },
        {"extra": ((dict,), {})},
    )
    if top["format"] != "gradhub-trace":
        raise TraceFormatError(f"META.format is {top['format']!r}, expected 'gradhub-trace'")
    if top["version"] not in READABLE_VERSIONS:
        raise TraceFormatError(f"META.version {top['version']} is not one of {READABLE_VERSIONS}")
    if len(top["params"]) > MAX_PARAMS:
        raise TraceFormatError(f"{len(top['params'])} parameters, over the limit of {MAX_PARAMS}")
    if len(top["modules"]) > MAX_MODULES:
        raise TraceFormatError(f"{len(top['modules'])} modules, over the limit of {MAX_MODULES}")
    if len(top["groups"]) > MAX_GROUPS:
        raise TraceFormatError(f"{len(top['groups'])} param groups, over the limit of {MAX_GROUPS}")
    if len(top["optimizers"]) > MAX_OPTIMIZERS:
        raise TraceFormatError(f"{len(top['optimizers'])} optimizers, over {MAX_OPTIMIZERS}")

    run_d = _fields(
        top["run"],
        root / "run",
        {
            "torch_version": (str,),
            "python_version": (str,),
            "platform": (str,),
            "command": (list,),
            "every": (int,),
            "total_steps": (int,),
            "ended": (str,),
        },
        {"exit_code": ((int, NoneType), None), "error": ((str,), "")},
    )
    for i, part in enumerate(run_d["command"]):
        if not isinstance(part, str):
            raise TraceFormatError(f"META.run.command[{i}] must be str")
    if run_d["every"] < 1:
        raise TraceFormatError(f"META.run.every must be >= 1, got {run_d['every']}")
    if run_d["total_steps"] < 0:
        raise TraceFormatError("META.run.total_steps must be >= 0")
    try:
        ended = RunEnd(run_d["ended"])
    except ValueError:
        raise TraceFormatError(
            f"META.run.ended {run_d['ended']!r} is not one of {[e.value for e in RunEnd]}"
        ) from None

    optimizers = []
    n_groups = len(top["groups"])
    group_owner: dict[int, int] = {}
    for i, raw in enumerate(top["optimizers"]):
        d = _fields(raw, root / "optimizers" / i, {"type": (str,), "groups": (list,)})
        for j, g in enumerate(d["groups"]):
            where = root / "optimizers" / i / "groups" / j
            if not _is_type(g, (int,)):
                raise TraceFormatError(f"{where.text} must be int")
            _index(g, n_groups, where, allow_none=False)
            if g in group_owner:
                raise TraceFormatError(f"{where.text}: group {g} listed twice")
            group_owner[g] = i
        optimizers.append(OptimizerInfo(type=d["type"], groups=tuple(d["groups"])))

    groups = []
    for i, raw in enumerate(top["groups"]):
        d = _fields(raw, root / "groups" / i, {"optimizer": (int,), "hyperparams": (dict,)})
        _index(d["optimizer"], len(optimizers), root / "groups" / i / "optimizer", allow_none=False)
        if group_owner.get(i) != d["optimizer"]:
            raise TraceFormatError(f"META.groups[{i}] is not listed by optimizer {d['optimizer']}")
        groups.append(GroupInfo(optimizer=d["optimizer"], hyperparams=d["hyperparams"]))

    modules = []
    paths = set()
    for i, raw in enumerate(top["modules"]):
        d = _fields(
            raw,
            root / "modules" / i,
            {"path": (str,), "type": (str,), "order": (int,), "activation": (str, NoneType)},
            {"grad_step": ((int,), None)},
        )
        if d["order"] < -1:
            raise TraceFormatError(f"META.modules[{i}].order must be >= -1")
        if d["grad_step"] is not None and d["grad_step"] < -1:
            raise TraceFormatError(f"META.modules[{i}].grad_step must be >= -1")
        if d["path"] in paths:
            raise TraceFormatError(f"META.modules[{i}].path {d['path']!r} is listed twice")
        paths.add(d["path"])
        modules.append(ModuleInfo(**d))

    params = []
    names = set()
    for i, raw in enumerate(top["params"]):
        where = root / "params" / i
        d = _fields(
            raw,
            where,
            {
                "name": (str,),
                "module": (str,),
                "shape": (list,),
                "trainable": (bool,),
                "optimizer": (int, NoneType),
                "group": (int, NoneType),
            },
        )
        if not d["name"] or d["name"] in names:
            raise TraceFormatError(f"{where.text}.name {d['name']!r} is empty or listed twice")
        names.add(d["name"])
        if len(d["shape"]) > MAX_NDIM or not all(
            _is_type(n, (int,)) and 0 <= n < 2**53 for n in d["shape"]
        ):
            raise TraceFormatError(
                f"{where.text}.shape must be a list of at most {MAX_NDIM} non-negative ints"
            )
        _index(d["optimizer"], len(optimizers), where / "optimizer")
        _index(d["group"], n_groups, where / "group")
        if (d["optimizer"] is None) != (d["group"] is None):
            raise TraceFormatError(f"{where.text}: optimizer and group must both be null or set")
        if d["group"] is not None and groups[d["group"]].optimizer != d["optimizer"]:
            raise TraceFormatError(
                f"{where.text}: group {d['group']} is not in optimizer {d['optimizer']}"
            )
        params.append(
            ParamInfo(
                name=d["name"],
                module=d["module"],
                shape=tuple(d["shape"]),
                trainable=d["trainable"],
                optimizer=d["optimizer"],
                group=d["group"],
            )
        )

    steps, events = _build_rows(
        chunks,
        len(params),
        len(modules),
        n_groups,
        len(optimizers),
        [math.prod(p.shape) for p in params],
        loss_nan,
    )
    total = run_d["total_steps"]
    if steps.step.size:
        last = int(steps.step[-1])
        if ended is RunEnd.RUNNING:
            total = max(total, last + 1)  # the last META may predate the last ROWS chunk
        elif last >= total:
            raise TraceFormatError(f"steps.step reaches {last} but run.total_steps is {total}")
    run = RunInfo(
        torch_version=run_d["torch_version"],
        python_version=run_d["python_version"],
        platform=run_d["platform"],
        command=tuple(run_d["command"]),
        every=run_d["every"],
        total_steps=total,
        ended=ended,
        exit_code=run_d["exit_code"],
        error=run_d["error"],
    )
    return Trace(
        version=top["version"],
        run=run,
        params=tuple(params),
        modules=tuple(modules),
        groups=tuple(groups),
        optimizers=tuple(optimizers),
        events=events,
        steps=steps,
        extra=top["extra"],
    )


def _build_rows(chunks, n_params, n_modules, n_groups, n_optimizers, numels, loss_nan=()):
    widths = {"P": n_params, "M": n_modules, "G": n_groups}
    total_rows = 0
    total_events = 0
    for c, chunk in enumerate(chunks):
        n = _check_chunk_shapes(chunk, c, widths)
        total_rows += n
        total_events += chunk["event_kind"].shape[0]
    if total_rows > MAX_ROWS:
        raise TraceFormatError(f"{total_rows} rows, over the limit of {MAX_ROWS}")
    if total_rows * (n_params + n_modules + n_groups + 1) > MAX_CELLS:
        raise TraceFormatError(
            f"{total_rows} rows x {n_params} params x {n_modules} modules is over the size limit"
        )

    columns = {}
    for name, (dtype, _, axis) in ROW_ARRAYS.items():
        shape = (total_rows,) if axis is None else (total_rows, widths[axis])
        out = np.full(shape, PAD_VALUE[dtype], dtype=dtype)
        row = 0
        for chunk in chunks:
            part = chunk[name]
            if axis is None:
                out[row : row + part.shape[0]] = part
            else:
                out[row : row + part.shape[0], : part.shape[1]] = part
            row += part.shape[0]
        columns[name] = out
    ev = {}
    for name, (dtype, _) in EVENT_ARRAYS.items():
        parts = [chunk[name] for chunk in chunks]
        ev[name] = np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)
    assert ev["event_kind"].shape[0] == total_events
    steps = Steps(**columns, loss_nan=_loss_nan_flags(loss_nan, columns["loss"]))
    events = Events(kind=ev["event_kind"], row=ev["event_row"], optimizer=ev["event_optimizer"])
    _check_values(steps, events, n_optimizers, numels)
    return steps, events


def _loss_nan_flags(parts: list[np.ndarray], loss: np.ndarray) -> np.ndarray:
    """bool[S] from the lnan chunks' row indices: strictly increasing over the file, each a row
    whose ``loss`` is NaN."""
    flags = np.zeros(loss.shape[0], dtype=bool)
    rows = np.concatenate([np.asarray(p, dtype=np.int64) for p in parts]) if parts else None
    if rows is None or not rows.size:
        return flags
    if np.any(np.diff(rows) <= 0):
        raise TraceFormatError("lnan rows must be strictly increasing")
    if rows[0] < 0 or rows[-1] >= loss.shape[0]:
        raise TraceFormatError(f"lnan names a row outside [0, {loss.shape[0]})")
    if not np.isnan(loss[rows]).all():
        raise TraceFormatError("lnan flags a row with a finite loss (or an infinite one) as NaN")
    flags[rows] = True
    return flags


def _check_chunk_shapes(chunk: dict[str, np.ndarray], c: int, widths: dict[str, int]) -> int:
    n = chunk["step"].shape[0] if chunk["step"].ndim == 1 else -1
    if n < 0:
        raise TraceFormatError(f"ROWS chunk {c}: step must be 1-D")
    chunk_widths: dict[str, int] = {}
    for name, (_, _, axis) in ROW_ARRAYS.items():
        shape = chunk[name].shape
        if axis is None:
            if shape != (n,):
                raise TraceFormatError(f"ROWS chunk {c}: {name} has shape {shape}, expected ({n},)")
            continue
        if len(shape) != 2 or shape[0] != n:
            raise TraceFormatError(
                f"ROWS chunk {c}: {name} has shape {shape}, expected ({n}, {axis})"
            )
        width = chunk_widths.setdefault(axis, shape[1])
        if shape[1] != width:
            raise TraceFormatError(
                f"ROWS chunk {c}: {name} has {shape[1]} columns, other "
                f"{axis}-wide arrays have {width}"
            )
        if width > widths[axis]:
            raise TraceFormatError(
                f"ROWS chunk {c}: {name} has {width} columns but META lists {widths[axis]}"
            )
    e = chunk["event_kind"].shape
    for name in EVENT_ARRAYS:
        if chunk[name].ndim != 1 or chunk[name].shape != e:
            raise TraceFormatError(
                f"ROWS chunk {c}: {name} has shape {chunk[name].shape}, expected {e}"
            )
    return n


def _check_values(steps: Steps, events: Events, n_optimizers: int, numels: list[int]) -> None:
    s = steps.step.shape[0]
    if s and (steps.step[0] < 0 or np.any(np.diff(steps.step) <= 0)):
        raise TraceFormatError("steps.step must be non-negative and strictly increasing")
    if np.any((steps.optimizer < -1) | (steps.optimizer >= n_optimizers)):
        raise TraceFormatError(f"steps.optimizer must be -1 or an index below {n_optimizers}")
    if np.any(steps.backward_count < 0):
        raise TraceFormatError("steps.backward_count must be >= 0")
    for name in NORM_ARRAYS:
        values = getattr(steps, name)
        if np.any(values < 0):  # NaN (not measured) and +inf compare False: both allowed
            raise TraceFormatError(f"steps.{name} has a negative value")
    for name in FRACTION_ARRAYS:
        values = getattr(steps, name)
        if np.any((values < 0) | (values > 1)) or np.any(np.isinf(values)):
            raise TraceFormatError(f"steps.{name} has a value outside [0, 1]")
    limit = np.asarray(numels, dtype=np.float64)
    for name in ("grad_nonfinite", "weight_nonfinite"):
        values = getattr(steps, name)
        if np.any(values < 0) or (values.size and np.any(values > limit[None, :])):
            raise TraceFormatError(f"steps.{name} must count between 0 and the parameter's size")

    kind, row, opt = events.kind, events.row, events.optimizer
    if kind.size:
        valid_kinds = np.array([k.value for k in EventKind])
        if not np.all(np.isin(kind, valid_kinds)):
            raise TraceFormatError(f"events.kind has a value outside {valid_kinds.tolist()}")
        if row.min() < 0 or row.max() >= s:
            raise TraceFormatError(f"events.row must index a row in [0, {s})")
        if np.any(np.diff(row) < 0):
            raise TraceFormatError("events.row must be non-decreasing (events are in time order)")
        if np.any((opt < -1) | (opt >= n_optimizers)):
            raise TraceFormatError(f"events.optimizer must be -1 or an index below {n_optimizers}")
        with_opt = np.isin(kind, [EventKind.STEP, EventKind.SKIPPED_STEP])
        if np.any(with_opt & (opt < 0)):
            raise TraceFormatError("a STEP or SKIPPED_STEP event must name its optimizer")
    # Every row ends with exactly one STEP (its optimizer) or MANUAL_UPDATE (optimizer -1) event.
    ends = np.isin(kind, [k.value for k in ROW_END_KINDS])
    end_rows = row[ends]
    if end_rows.size != s or (s and np.any(end_rows != np.arange(s))):
        raise TraceFormatError("every row must have exactly one STEP or MANUAL_UPDATE event")
    if s:
        last_of_row = np.r_[row[1:] != row[:-1], True]
        if np.any(ends != last_of_row):
            raise TraceFormatError("a row's STEP or MANUAL_UPDATE must be its last event")
        end_kind = kind[ends]
        expected_opt = np.where(end_kind == EventKind.STEP, opt[ends], -1)
        if np.any((end_kind == EventKind.STEP) & (opt[ends] < 0)) or np.any(
            expected_opt != steps.optimizer
        ):
            raise TraceFormatError(
                "steps.optimizer does not match the row's STEP/MANUAL_UPDATE event"
            )
        # backward_count counts the passes since the row's last SKIPPED_STEP (AMP), if any.
        last_skip = np.full(s, -1, dtype=np.int64)
        positions = np.arange(kind.size)
        skips = kind == EventKind.SKIPPED_STEP
        np.maximum.at(last_skip, row[skips], positions[skips])
        counted = (kind == EventKind.BACKWARD) & (positions > last_skip[row])
        backward = np.bincount(row[counted], minlength=s)
        if np.any(backward > steps.backward_count):
            raise TraceFormatError("a row has more BACKWARD events than steps.backward_count")
