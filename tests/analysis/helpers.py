"""Small builders of synthetic traces for the detector tests (on top of traces.synthetic)."""

from __future__ import annotations

import dataclasses

import numpy as np

from analysis import diagnose
from traces.model import ModuleInfo, Trace
from traces.synthetic import replace_steps, synthetic_trace

__all__ = ["codes", "diagnose", "find", "replace_steps", "synthetic_trace", "with_modules", "col"]


def codes(trace: Trace) -> list[str]:
    return [f.code for f in diagnose(trace).findings]


def find(trace: Trace, code: str):
    found = [f for f in diagnose(trace).findings if f.code == code]
    return found[0] if found else None


def col(trace: Trace, name: str) -> int:
    """Index of a parameter by name."""
    return [p.name for p in trace.params].index(name)


def mod(trace: Trace, path: str) -> int:
    return [m.path for m in trace.modules].index(path)


def with_modules(trace: Trace, modules: list[ModuleInfo]) -> Trace:
    return dataclasses.replace(trace, modules=tuple(modules))


def series(n: int, value: float, *, from_row: int = 0, before: float | None = None) -> np.ndarray:
    out = np.full(n, value if before is None else before, dtype=np.float64)
    out[from_row:] = value
    return out
