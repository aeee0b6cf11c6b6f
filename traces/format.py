"""The trace file: a small chunked container of safetensors blobs and JSON (see SCHEMA.md).

    file   = header chunk*
    header = b"GRADHUBT" | u32 LE version | u32 LE flags (0)
    chunk  = 4-byte ASCII tag | u64 LE payload length | payload
    "META" = UTF-8 JSON object: run info, params, modules, groups, optimizers (the last one wins)
    "ROWS" = safetensors blob: the next n rows of every per-step array plus their events

The recorder appends ROWS and META chunks as the run goes, so a run killed mid-way still loads
(with ``run.ended == "running"``). Everything read is validated; anything malformed is answered
with ``TraceFormatError("one-line reason")``. No pickle, nothing executable. No torch needed.
"""

from __future__ import annotations

import json
import math
import os
import stat
import struct
import time
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import safetensors
import safetensors.numpy

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

MAGIC = b"GRADHUBT"
HEADER = struct.Struct("<8sII")  # magic, version, flags
CHUNK_HEAD = struct.Struct("<4sQ")  # tag, payload length
TAG_META = b"META"
TAG_ROWS = b"ROWS"

# Bounds. A trace of 10k steps x 1k parameters every step is ~300 MB, so 512 MiB leaves room
# for real runs while keeping an upload (and the memory needed to read it) bounded.
MAX_FILE_BYTES = 512 * 2**20
MAX_PARAMS = 100_000
MAX_MODULES = 100_000
MAX_GROUPS = 4096
MAX_OPTIMIZERS = 256
MAX_ROWS = 10_000_000
MAX_CHUNKS = 1_000_000
# Rows x (params + modules + groups) of the decoded arrays: ~30 bytes per cell, so 1 GiB in memory
# at most; chunks may be narrower than the final META (parameters found later), and this cap keeps
# the padding a hostile file could ask for bounded.
MAX_CELLS = 32 * 2**20
MAX_META_BYTES = 64 * 2**20
MAX_NAME_CHARS = 4096
MAX_NDIM = 32
MAX_JSON_DEPTH = 64


class TraceFormatError(ValueError):
    """The input is not a valid trace; the message says why, in one line."""


# name -> (numpy dtype, safetensors dtype, axis-2 width: None (1-D), "P", "M" or "G")
ROW_ARRAYS: dict[str, tuple[str, str, str | None]] = {
    "step": ("<i8", "I64", None),
    "optimizer": ("<i2", "I16", None),
    "backward_count": ("<i4", "I32", None),
    "cleared": ("bool", "BOOL", None),
    "loss": ("<f8", "F64", None),
    "lr": ("<f8", "F64", "G"),
    "grad_norm": ("<f4", "F32", "P"),
    "fresh_grad_norm": ("<f4", "F32", "P"),
    "weight_norm": ("<f4", "F32", "P"),
    "update_norm": ("<f4", "F32", "P"),
    "grad_nonfinite": ("<i4", "I32", "P"),
    "weight_nonfinite": ("<i4", "I32", "P"),
    "stale_grad": ("bool", "BOOL", "P"),
    "grad_dead_in_frac": ("<f4", "F32", "P"),
    "act_mean": ("<f4", "F32", "M"),
    "act_std": ("<f4", "F32", "M"),
    "act_zero_frac": ("<f4", "F32", "M"),
    "act_dead_frac": ("<f4", "F32", "M"),
    "act_sat_frac": ("<f4", "F32", "M"),
}
EVENT_ARRAYS: dict[str, tuple[str, str]] = {
    "event_kind": ("<i1", "I8"),
    "event_row": ("<i8", "I64"),
    "event_optimizer": ("<i2", "I16"),
}
# What a column that a chunk did not have yet (a parameter found later) reads as.
PAD_VALUE = {"<f4": np.nan, "<f8": np.nan, "<i4": 0, "<i2": 0, "<i8": 0, "bool": False}
NORM_ARRAYS = ("grad_norm", "fresh_grad_norm", "weight_norm", "update_norm", "act_std")
FRACTION_ARRAYS = ("grad_dead_in_frac", "act_zero_frac", "act_dead_frac", "act_sat_frac")
ROW_END_KINDS = (EventKind.STEP, EventKind.MANUAL_UPDATE)


# --------------------------------------------------------------------------------------------
# Writing


def encode_header(version: int = FORMAT_VERSION) -> bytes:
    return HEADER.pack(MAGIC, version, 0)


def encode_chunk(tag: bytes, payload: bytes) -> bytes:
    return CHUNK_HEAD.pack(tag, len(payload)) + payload


def encode_meta(meta: dict) -> bytes:
    text = json.dumps(_json_safe(meta), separators=(",", ":"), allow_nan=False)
    return encode_chunk(TAG_META, text.encode("utf-8"))


def encode_rows(arrays: dict[str, np.ndarray]) -> bytes:
    """One ROWS chunk from row arrays (names of ROW_ARRAYS) and event arrays (EVENT_ARRAYS)."""
    blob = {}
    for name, (dtype, _, _) in ROW_ARRAYS.items():
        blob[name] = np.ascontiguousarray(arrays[name], dtype=dtype)
    for name, (dtype, _) in EVENT_ARRAYS.items():
        blob[name] = np.ascontiguousarray(arrays[name], dtype=dtype)
    return encode_chunk(TAG_ROWS, safetensors.numpy.save(blob))


def _json_safe(value: Any) -> Any:
    """Plain JSON: non-finite floats become None, tuples lists, numpy scalars Python ones."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


def trace_meta(trace: Trace) -> dict:
    """The META JSON object of a Trace."""
    run = trace.run
    return {
        "format": "gradhub-trace",
        "version": trace.version,
        "run": {
            "torch_version": run.torch_version,
            "python_version": run.python_version,
            "platform": run.platform,
            "command": list(run.command),
            "every": run.every,
            "total_steps": run.total_steps,
            "ended": str(run.ended.value if isinstance(run.ended, RunEnd) else run.ended),
            "exit_code": run.exit_code,
            "error": run.error,
        },
        "params": [
            {
                "name": p.name,
                "module": p.module,
                "shape": list(p.shape),
                "trainable": p.trainable,
                "optimizer": p.optimizer,
                "group": p.group,
            }
            for p in trace.params
        ],
        "modules": [
            {"path": m.path, "type": m.type, "order": m.order, "activation": m.activation}
            for m in trace.modules
        ],
        "groups": [{"optimizer": g.optimizer, "hyperparams": g.hyperparams} for g in trace.groups],
        "optimizers": [{"type": o.type, "groups": list(o.groups)} for o in trace.optimizers],
        "extra": trace.extra,
    }


def trace_arrays(trace: Trace) -> dict[str, np.ndarray]:
    arrays = {name: getattr(trace.steps, name) for name in ROW_ARRAYS}
    arrays["event_kind"] = trace.events.kind
    arrays["event_row"] = trace.events.row
    arrays["event_optimizer"] = trace.events.optimizer
    return arrays


def validate(trace: Trace) -> None:
    """Raise TraceFormatError unless ``trace`` is one that ``load`` would return."""
    _build_trace(_json_safe(trace_meta(trace)), [_coerce_chunk(trace_arrays(trace))])


def dumps(trace: Trace) -> bytes:
    """The bytes of a trace file. The trace is validated first (TraceFormatError if invalid)."""
    meta = _json_safe(trace_meta(trace))
    arrays = trace_arrays(trace)
    _build_trace(meta, [_coerce_chunk(arrays)])  # refuse to write what we would not read
    return encode_header(trace.version) + encode_rows(arrays) + encode_meta(meta)


def save(trace: Trace, path: str | os.PathLike | IO[bytes]) -> None:
    """Write a whole Trace to a file path or a binary file object."""
    data = dumps(trace)
    if hasattr(path, "write"):
        path.write(data)
        return
    with open(path, "wb") as f:
        f.write(data)


def _coerce_chunk(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for name, (dtype, _, _) in ROW_ARRAYS.items():
        out[name] = _as_dtype(arrays, name, dtype)
    for name, (dtype, _) in EVENT_ARRAYS.items():
        out[name] = _as_dtype(arrays, name, dtype)
    return out


def _as_dtype(arrays: dict, name: str, dtype: str) -> np.ndarray:
    value = np.asarray(arrays[name])
    target = np.dtype(dtype)
    if (value.dtype.kind == "b") != (target.kind == "b") or not np.can_cast(
        value.dtype, target, casting="same_kind"
    ):
        raise TraceFormatError(f"array {name} has dtype {value.dtype}, expected {target}")
    return value.astype(target, copy=False)


# --------------------------------------------------------------------------------------------
# Reading


def load(
    source: str | os.PathLike | bytes | bytearray | memoryview | IO[bytes],
    *,
    max_bytes: int = MAX_FILE_BYTES,
) -> Trace:
    """Read and validate a trace from a path, bytes or a binary file object."""
    data = _read_source(source, max_bytes=max_bytes)
    return loads(data, max_bytes=max_bytes)


def loads(data: bytes | bytearray | memoryview, *, max_bytes: int = MAX_FILE_BYTES) -> Trace:
    view = memoryview(data)
    if view.nbytes > max_bytes:
        raise TraceFormatError(f"file is {view.nbytes} bytes, over the {max_bytes}-byte limit")
    if view.nbytes < HEADER.size:
        raise TraceFormatError("truncated: file is shorter than the 16-byte header")
    magic, version, flags = HEADER.unpack_from(view, 0)
    if magic != MAGIC:
        raise TraceFormatError("wrong magic bytes: not a GradHub trace file")
    if version != FORMAT_VERSION:
        raise TraceFormatError(
            f"unsupported format version {version} (this reader knows {FORMAT_VERSION})"
        )
    if flags != 0:
        raise TraceFormatError(f"unknown header flags {flags:#x}")
    meta = None
    chunks = []
    offset = HEADER.size
    while offset < view.nbytes:
        if len(chunks) >= MAX_CHUNKS:
            raise TraceFormatError(f"more than {MAX_CHUNKS} chunks")
        if view.nbytes - offset < CHUNK_HEAD.size:
            raise TraceFormatError(f"truncated: chunk header at byte {offset} is cut off")
        tag, length = CHUNK_HEAD.unpack_from(view, offset)
        start = offset + CHUNK_HEAD.size
        if length > view.nbytes - start:
            raise TraceFormatError(
                f"truncated: chunk at byte {offset} needs {length} bytes, "
                f"{view.nbytes - start} left"
            )
        payload = view[start : start + length]
        offset = start + length
        if tag == TAG_META:
            meta = _parse_meta(payload)
        elif tag == TAG_ROWS:
            chunks.append(_parse_rows(payload, offset - length - CHUNK_HEAD.size))
        elif tag[:1].isalpha() and tag[:1].islower():
            continue  # optional chunk of a newer writer: skip
        else:
            raise TraceFormatError(f"unknown required chunk {tag!r} at byte {offset - length - 12}")
    if meta is None:
        raise TraceFormatError("no META chunk")
    return _build_trace(meta, chunks)


def _read_source(source, *, max_bytes: int) -> bytes | memoryview:
    if isinstance(source, bytes | bytearray | memoryview):
        return source
    if hasattr(source, "read"):
        # read(n) reserves n bytes up front: ask for no more than what is left in the file.
        size = _remaining_size(source)
        limit = max_bytes if size is None else min(size, max_bytes)
        data = source.read(limit + 1)
        if not isinstance(data, bytes | bytearray):
            raise TraceFormatError("file object must be opened in binary mode")
        if len(data) > max_bytes:
            raise TraceFormatError(f"file is over the {max_bytes}-byte limit")
        return data
    if isinstance(source, str | os.PathLike):
        try:
            size = os.path.getsize(source)
            if size > max_bytes:
                raise TraceFormatError(f"file is {size} bytes, over the {max_bytes}-byte limit")
            with open(source, "rb") as f:
                return _read_source(f, max_bytes=max_bytes)
        except OSError as exc:
            raise TraceFormatError(f"cannot read {os.fspath(source)!r}: {exc.strerror}") from exc
    raise TraceFormatError(f"cannot read a trace from {type(source).__name__}")


def _remaining_size(f) -> int | None:
    """Bytes left to read in a regular file, or None when unknown (a pipe, a socket, BytesIO)."""
    try:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            return None
        return max(0, st.st_size - f.tell())
    except (AttributeError, OSError, ValueError):
        return None


def _reject_constant(name: str):
    raise TraceFormatError(f"META JSON contains {name}, which is not JSON")


def _parse_meta(payload: memoryview) -> dict:
    if payload.nbytes > MAX_META_BYTES:
        raise TraceFormatError(f"META chunk is {payload.nbytes} bytes, over {MAX_META_BYTES}")
    try:
        text = bytes(payload).decode("utf-8")
        _check_json_depth(text)
        meta = json.loads(text, parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise TraceFormatError("META chunk is not UTF-8") from exc
    except (json.JSONDecodeError, RecursionError) as exc:
        raise TraceFormatError(f"META chunk is not valid JSON ({str(exc)[:80]})") from exc
    if not isinstance(meta, dict):
        raise TraceFormatError("META chunk is not a JSON object")
    return meta


def _check_json_depth(text: str) -> None:
    """Refuse deeply nested JSON before parsing it (the parser recurses)."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise TraceFormatError(f"META JSON nests deeper than {MAX_JSON_DEPTH}")
        elif char in "]}":
            depth -= 1


_ST_DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "<i1",
    "BOOL": "u1",
}


def _parse_rows(payload: memoryview, where: int) -> dict[str, np.ndarray]:
    try:
        tensors = safetensors.deserialize(bytes(payload))
    except Exception as exc:  # safetensors raises SafetensorError and others on bad headers
        raise TraceFormatError(f"ROWS chunk at byte {where} is not valid safetensors") from exc
    except BaseException as exc:  # a Rust panic surfaces as pyo3's PanicException
        if type(exc).__name__ != "PanicException":
            raise
        raise TraceFormatError(f"ROWS chunk at byte {where} is not valid safetensors") from exc
    expected = {name: spec[1] for name, spec in ROW_ARRAYS.items()}
    expected.update({name: spec[1] for name, spec in EVENT_ARRAYS.items()})
    arrays = {}
    for name, info in tensors:
        if name not in expected:
            raise TraceFormatError(f"ROWS chunk at byte {where}: unknown array {name!r}")
        if info["dtype"] != expected[name]:
            raise TraceFormatError(
                f"array {name} has dtype {info['dtype']}, expected {expected[name]}"
            )
        shape = tuple(int(n) for n in info["shape"])
        array = np.frombuffer(info["data"], dtype=_ST_DTYPES[info["dtype"]])
        if array.size != math.prod(shape):
            raise TraceFormatError(f"array {name}: data does not match shape {shape}")
        array = array.reshape(shape)
        if info["dtype"] == "BOOL":
            if array.size and array.max() > 1:
                raise TraceFormatError(f"array {name}: booleans must be 0 or 1")
            array = array.astype(bool)
        arrays[name] = array
    missing = set(expected) - set(arrays)
    if missing:
        raise TraceFormatError(f"ROWS chunk at byte {where}: missing array {sorted(missing)[0]!r}")
    return arrays


# --------------------------------------------------------------------------------------------
# Validation (shared by the reader and the writer)


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


def _build_trace(meta: dict, chunks: list[dict[str, np.ndarray]]) -> Trace:
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
    if top["version"] != FORMAT_VERSION:
        raise TraceFormatError(f"META.version {top['version']} is not {FORMAT_VERSION}")
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
        )
        if d["order"] < -1:
            raise TraceFormatError(f"META.modules[{i}].order must be >= -1")
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


def _build_rows(chunks, n_params, n_modules, n_groups, n_optimizers, numels):
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
    steps = Steps(**columns)
    events = Events(kind=ev["event_kind"], row=ev["event_row"], optimizer=ev["event_optimizer"])
    _check_values(steps, events, n_optimizers, numels)
    return steps, events


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


# --------------------------------------------------------------------------------------------
# Streaming writer (used by the recorder)


class TraceStream:
    """Append rows to a trace file as a run goes: header and META first, then a ROWS chunk and
    a fresh META every ``flush_rows`` rows or ``flush_seconds``, and a final META at ``close``.

    A row is a dict of ROW_ARRAYS names to a scalar (1-D arrays) or a vector as wide as the
    params / modules / groups known when the row was taken; narrower rows are padded when the
    chunk is written (a parameter found later reads as "not measured" in earlier rows).
    """

    def __init__(
        self, path: str | os.PathLike, *, flush_rows: int = 256, flush_seconds: float = 10.0
    ) -> None:
        self.path = os.fspath(path)
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.rows: list[dict] = []
        self.events: list[tuple[int, int, int]] = []
        self.rows_written = 0
        self.bytes_written = 0
        self._file = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self._write(encode_header())
        self._last_flush = time.monotonic()

    @property
    def num_rows(self) -> int:
        return self.rows_written + len(self.rows)

    def add_row(self, row: dict, events: list[tuple[int, int]]) -> None:
        """Add one row and its window's events as (kind, optimizer) pairs, in time order."""
        index = self.num_rows
        self.rows.append(row)
        self.events.extend((kind, index, opt) for kind, opt in events)

    def due(self) -> bool:
        return len(self.rows) >= self.flush_rows or (
            bool(self.rows) and time.monotonic() - self._last_flush >= self.flush_seconds
        )

    def flush(self, meta: dict) -> None:
        if self.rows:
            self._write(encode_rows(self._chunk_arrays()))
            self.rows_written += len(self.rows)
            self.rows = []
            self.events = []
        self._write(encode_meta(meta))
        self._file.flush()
        self._last_flush = time.monotonic()

    def close(self, meta: dict) -> None:
        if self._file.closed:
            return
        self.flush(meta)
        self._file.close()

    def _write(self, data: bytes) -> None:
        self._file.write(data)
        self.bytes_written += len(data)

    def _chunk_arrays(self) -> dict[str, np.ndarray]:
        arrays = {}
        n = len(self.rows)
        for name, (dtype, _, axis) in ROW_ARRAYS.items():
            if axis is None:
                arrays[name] = np.array([row[name] for row in self.rows], dtype=dtype)
                continue
            width = max(len(row[name]) for row in self.rows)
            out = np.full((n, width), PAD_VALUE[dtype], dtype=dtype)
            for i, row in enumerate(self.rows):
                value = row[name]
                out[i, : len(value)] = value
            arrays[name] = out
        events = np.array(self.events, dtype=np.int64).reshape(-1, 3)
        arrays["event_kind"] = events[:, 0].astype("<i1")
        arrays["event_row"] = events[:, 1].astype("<i8")
        arrays["event_optimizer"] = events[:, 2].astype("<i2")
        return arrays
