"""Encoding a trace's parts as the bytes of the file (see ``traces.layout``)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import safetensors.numpy

from traces.layout import (
    CHUNK_HEAD,
    EVENT_ARRAYS,
    HEADER,
    MAGIC,
    ROW_ARRAYS,
    TAG_LOSS_NAN,
    TAG_META,
    TAG_PROGRAM,
    TAG_ROWS,
    TAG_WEIGHTS,
)
from traces.model import FORMAT_VERSION, Program, RunEnd, Trace


def encode_header(version: int = FORMAT_VERSION) -> bytes:
    return HEADER.pack(MAGIC, version, 0)


def encode_chunk(tag: bytes, payload: bytes) -> bytes:
    return CHUNK_HEAD.pack(tag, len(payload)) + payload


def encode_meta(meta: dict) -> bytes:
    text = json.dumps(json_safe(meta), separators=(",", ":"), allow_nan=False)
    return encode_chunk(TAG_META, text.encode("utf-8"))


def encode_rows(arrays: dict[str, np.ndarray]) -> bytes:
    """One ROWS chunk from row arrays (names of ROW_ARRAYS) and event arrays (EVENT_ARRAYS)."""
    blob = {}
    for name, (dtype, _, _) in ROW_ARRAYS.items():
        blob[name] = np.ascontiguousarray(arrays[name], dtype=dtype)
    for name, (dtype, _) in EVENT_ARRAYS.items():
        blob[name] = np.ascontiguousarray(arrays[name], dtype=dtype)
    return encode_chunk(TAG_ROWS, safetensors.numpy.save(blob))


def encode_loss_nan(rows) -> bytes:
    """The optional ``lnan`` chunk: file-global indices of the rows whose loss was NaN at
    backward (not merely unrecorded); b"" when there are none."""
    rows = np.ascontiguousarray(rows, dtype="<i8")
    if not rows.size:
        return b""
    return encode_chunk(TAG_LOSS_NAN, safetensors.numpy.save({"row": rows}))


def encode_program(program: Program) -> bytes:
    """The ``prog`` chunk and, when there are weights, the ``wini`` chunk."""
    text = json.dumps(json_safe(program.spec), separators=(",", ":"), allow_nan=False)
    out = encode_chunk(TAG_PROGRAM, text.encode("utf-8"))
    if program.weights:
        blob = {name: np.ascontiguousarray(a) for name, a in program.weights.items()}
        out += encode_chunk(TAG_WEIGHTS, safetensors.numpy.save(blob))
    return out


def json_safe(value: Any) -> Any:
    """Plain JSON: non-finite floats become None, tuples lists, numpy scalars Python ones."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
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
            | ({} if m.grad_step is None else {"grad_step": m.grad_step})
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
