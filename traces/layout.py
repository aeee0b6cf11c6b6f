"""What a trace file holds: its byte layout, its per-step arrays and the bounds a reader
enforces (see SCHEMA.md). Shared by the reader, the writers and the validation.
"""

from __future__ import annotations

import struct

import numpy as np

from traces.model import EventKind

MAGIC = b"GRADHUBT"
HEADER = struct.Struct("<8sII")  # magic, version, flags
CHUNK_HEAD = struct.Struct("<4sQ")  # tag, payload length
TAG_META = b"META"
TAG_ROWS = b"ROWS"
TAG_PROGRAM = b"prog"  # optional: the model's forward as JSON (SCHEMA.md section 7)
TAG_WEIGHTS = b"wini"  # optional: its initial weights, a safetensors blob
TAG_LOSS_NAN = b"lnan"  # optional: the rows whose loss was NaN at backward (SCHEMA.md section 3)

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
MAX_PROGRAM_BYTES = 16 * 2**20  # the prog chunk's JSON
MAX_PROGRAM_WEIGHT_BYTES = 128 * 2**20  # the wini chunk (the recorder writes at most 64 MiB)
MAX_PROGRAM_TENSORS = 100_000


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
