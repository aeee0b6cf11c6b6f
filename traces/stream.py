"""Streaming writer (used by the recorder): a trace file that grows as the run goes."""

from __future__ import annotations

import os
import time

import numpy as np

from traces.encoding import (
    encode_header,
    encode_loss_nan,
    encode_meta,
    encode_program,
    encode_rows,
)
from traces.layout import PAD_VALUE, ROW_ARRAYS
from traces.model import Program


class TraceStream:
    """Append rows to a trace file as a run goes: header and META first, then a ROWS chunk and
    a fresh META every ``flush_rows`` rows or ``flush_seconds``, and a final META at ``close``.

    A row is a dict of ROW_ARRAYS names to a scalar (1-D arrays) or a vector as wide as the
    params / modules / groups known when the row was taken; narrower rows are padded when the
    chunk is written (a parameter found later reads as "not measured" in earlier rows). A row
    whose ``loss_nan`` is true (its loss was NaN at backward, not missing) is listed in the
    ``lnan`` chunk written right after its ROWS chunk.
    """

    def __init__(
        self, path: str | os.PathLike, *, flush_rows: int = 256, flush_seconds: float = 10.0
    ) -> None:
        self.path = os.fspath(path)
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self.rows: list[dict] = []
        self.events: list[tuple[int, int, int]] = []
        self.loss_nan: list[int] = []  # file-global indices of rows whose loss was NaN
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
        if row.get("loss_nan"):
            self.loss_nan.append(index)
        self.events.extend((kind, index, opt) for kind, opt in events)

    def due(self) -> bool:
        return len(self.rows) >= self.flush_rows or (
            bool(self.rows) and time.monotonic() - self._last_flush >= self.flush_seconds
        )

    def flush(self, meta: dict) -> None:
        if self.rows:
            self._write(encode_rows(self._chunk_arrays()) + encode_loss_nan(self.loss_nan))
            self.rows_written += len(self.rows)
            self.rows = []
            self.events = []
            self.loss_nan = []
        self._write(encode_meta(meta))
        self._file.flush()
        self._last_flush = time.monotonic()

    def write_program(self, spec: dict, weights: dict[str, np.ndarray]) -> None:
        """The program chunks (once per run), written at once: they do not change later."""
        self._write(encode_program(Program(spec, weights)))
        self._file.flush()

    def write_chunks(self, data: bytes) -> None:
        """Chunks encoded elsewhere (the program, from the recorder's export process)."""
        self._write(data)
        self._file.flush()

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
