"""The trace file: a small chunked container of safetensors blobs and JSON (see SCHEMA.md).

    file   = header chunk*
    header = b"GRADHUBT" | u32 LE version | u32 LE flags (0)
    chunk  = 4-byte ASCII tag | u64 LE payload length | payload
    "META" = UTF-8 JSON object: run info, params, modules, groups, optimizers (the last one wins)
    "ROWS" = safetensors blob: the next n rows of every per-step array plus their events

The recorder appends ROWS and META chunks as the run goes, so a run killed mid-way still loads
(with ``run.ended == "running"``). Everything read is validated; anything malformed is answered
with ``TraceFormatError("one-line reason")``. No pickle, nothing executable. No torch needed.

This module is the entry point (``load``/``loads``, ``save``/``dumps``, ``validate``) and reads
the chunks; the rest sits next to it: ``traces.layout`` (byte layout, arrays, bounds),
``traces.encoding`` (the writer's encoders), ``traces.validation`` (META and row checks) and
``traces.stream`` (the recorder's streaming writer). Their public names are importable from
here as well.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import stat
from typing import IO

import numpy as np
import safetensors

# Imported for callers too: ``traces.format`` has always been where these names are found.
from traces.encoding import (  # noqa: F401
    encode_chunk,
    encode_header,
    encode_loss_nan,
    encode_meta,
    encode_program,
    encode_rows,
    json_safe,
    trace_arrays,
    trace_meta,
)
from traces.layout import (  # noqa: F401
    CHUNK_HEAD,
    EVENT_ARRAYS,
    FRACTION_ARRAYS,
    HEADER,
    MAGIC,
    MAX_CELLS,
    MAX_CHUNKS,
    MAX_FILE_BYTES,
    MAX_GROUPS,
    MAX_JSON_DEPTH,
    MAX_META_BYTES,
    MAX_MODULES,
    MAX_NAME_CHARS,
    MAX_NDIM,
    MAX_OPTIMIZERS,
    MAX_PARAMS,
    MAX_PROGRAM_BYTES,
    MAX_PROGRAM_TENSORS,
    MAX_PROGRAM_WEIGHT_BYTES,
    MAX_ROWS,
    NORM_ARRAYS,
    PAD_VALUE,
    ROW_ARRAYS,
    ROW_END_KINDS,
    TAG_LOSS_NAN,
    TAG_META,
    TAG_PROGRAM,
    TAG_ROWS,
    TAG_WEIGHTS,
    TraceFormatError,
)
from traces.model import FORMAT_VERSION, READABLE_VERSIONS, Program, Trace  # noqa: F401
from traces.stream import TraceStream  # noqa: F401
from traces.validation import build_trace

# --------------------------------------------------------------------------------------------
# Writing


def validate(trace: Trace) -> None:
    """Raise TraceFormatError unless ``trace`` is one that ``load`` would return."""
    build_trace(
        json_safe(trace_meta(trace)),
        [_coerce_chunk(trace_arrays(trace))],
        [_loss_nan_rows(trace)],
    )


def dumps(trace: Trace) -> bytes:
    """The bytes of a trace file. The trace is validated first (TraceFormatError if invalid)."""
    meta = json_safe(trace_meta(trace))
    arrays = trace_arrays(trace)
    nan_rows = _loss_nan_rows(trace)
    # refuse to write what we would not read
    build_trace(meta, [_coerce_chunk(arrays)], [nan_rows])
    program = encode_program(trace.program) if trace.program is not None else b""
    return (
        encode_header(trace.version)
        + encode_rows(arrays)
        + encode_loss_nan(nan_rows)
        + program
        + encode_meta(meta)
    )


def _loss_nan_rows(trace: Trace) -> np.ndarray:
    flags = np.asarray(trace.steps.loss_nan)
    if flags.dtype != bool or flags.shape != (trace.num_rows,):
        raise TraceFormatError(f"steps.loss_nan must be bool[{trace.num_rows}]")
    return np.flatnonzero(flags).astype(np.int64)


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


def check_header(head: bytes | bytearray | memoryview) -> None:
    """The container header alone (magic, version, flags): what a server can check on the
    first bytes of an upload before storing it. TraceFormatError when it is wrong."""
    if len(head) < HEADER.size:
        raise TraceFormatError("truncated: file is shorter than the 16-byte header")
    magic, version, flags = HEADER.unpack_from(head, 0)
    if magic != MAGIC:
        raise TraceFormatError("wrong magic bytes: not a GradHub trace file")
    if version not in READABLE_VERSIONS:
        raise TraceFormatError(
            f"unsupported format version {version} (this reader knows "
            f"{', '.join(map(str, READABLE_VERSIONS))})"
        )
    if flags != 0:
        raise TraceFormatError(f"unknown header flags {flags:#x}")


def loads(data: bytes | bytearray | memoryview, *, max_bytes: int = MAX_FILE_BYTES) -> Trace:
    view = memoryview(data)
    if view.nbytes > max_bytes:
        raise TraceFormatError(f"file is {view.nbytes} bytes, over the {max_bytes}-byte limit")
    check_header(view)
    meta = None
    program_spec, program_weights = None, {}
    chunks = []
    nan_rows = []
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
        elif tag == TAG_PROGRAM:
            program_spec = _parse_json(payload, "prog", MAX_PROGRAM_BYTES)
        elif tag == TAG_WEIGHTS:
            program_weights = _parse_weights(payload)
        elif tag == TAG_LOSS_NAN:
            nan_rows.append(_parse_loss_nan(payload))
        elif tag[:1].isalpha() and tag[:1].islower():
            continue  # optional chunk of a newer writer: skip
        else:
            raise TraceFormatError(f"unknown required chunk {tag!r} at byte {offset - length - 12}")
    if meta is None:
        raise TraceFormatError("no META chunk")
    trace = build_trace(meta, chunks, nan_rows)
    if program_spec is None:
        return trace
    return dataclasses.replace(trace, program=Program(program_spec, program_weights))


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
    return _parse_json(payload, "META", MAX_META_BYTES)


def _parse_json(payload: memoryview, tag: str, limit: int) -> dict:
    if payload.nbytes > limit:
        raise TraceFormatError(f"{tag} chunk is {payload.nbytes} bytes, over {limit}")
    try:
        text = bytes(payload).decode("utf-8")
        _check_json_depth(text)
        meta = json.loads(text, parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise TraceFormatError(f"{tag} chunk is not UTF-8") from exc
    except (json.JSONDecodeError, RecursionError) as exc:
        raise TraceFormatError(f"{tag} chunk is not valid JSON ({str(exc)[:80]})") from exc
    if not isinstance(meta, dict):
        raise TraceFormatError(f"{tag} chunk is not a JSON object")
    return meta


def _deserialize(payload: memoryview, what: str) -> list:
    try:
        return safetensors.deserialize(bytes(payload))
    except Exception as exc:  # safetensors raises SafetensorError and others on bad headers
        raise TraceFormatError(f"{what} is not valid safetensors") from exc
    except BaseException as exc:  # a Rust panic surfaces as pyo3's PanicException
        if type(exc).__name__ != "PanicException":
            raise
        raise TraceFormatError(f"{what} is not valid safetensors") from exc


def _parse_weights(payload: memoryview) -> dict[str, np.ndarray]:
    """The wini chunk: float32 / int64 tensors by name (what a replay starts from)."""
    if payload.nbytes > MAX_PROGRAM_WEIGHT_BYTES:
        raise TraceFormatError(f"wini chunk is {payload.nbytes} bytes, over the limit")
    tensors = _deserialize(payload, "wini chunk")
    if len(tensors) > MAX_PROGRAM_TENSORS:
        raise TraceFormatError(f"wini chunk holds over {MAX_PROGRAM_TENSORS} tensors")
    weights = {}
    for name, info in tensors:
        if info["dtype"] not in ("F32", "I64"):
            raise TraceFormatError(f"wini tensor {name!r} has dtype {info['dtype']}")
        shape = tuple(int(n) for n in info["shape"])
        if len(shape) > MAX_NDIM:
            raise TraceFormatError(f"wini tensor {name!r} has over {MAX_NDIM} dimensions")
        array = np.frombuffer(info["data"], dtype=_ST_DTYPES[info["dtype"]])
        if array.size != math.prod(shape):
            raise TraceFormatError(f"wini tensor {name!r}: data does not match shape {shape}")
        weights[name] = array.reshape(shape)
    return weights


def _parse_loss_nan(payload: memoryview) -> np.ndarray:
    """The lnan chunk: one I64 array ``row`` (checked against the rows in ``build_trace``)."""
    tensors = _deserialize(payload, "lnan chunk")
    if len(tensors) != 1 or tensors[0][0] != "row" or tensors[0][1]["dtype"] != "I64":
        raise TraceFormatError("lnan chunk must hold exactly one I64 array named 'row'")
    info = tensors[0][1]
    array = np.frombuffer(info["data"], dtype="<i8")
    if len(info["shape"]) != 1 or array.size != int(info["shape"][0]):
        raise TraceFormatError("lnan chunk: 'row' must be 1-D and match its data")
    return array


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
    tensors = _deserialize(payload, f"ROWS chunk at byte {where}")
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
