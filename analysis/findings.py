"""What the engine says: findings and the diagnosis that holds them (plain, JSON-safe data).

A ``Finding`` is one verdict (code from the DESIGN.md vocabulary) with the evidence a reader can
check and the fix to apply. A ``Diagnosis`` is every finding for one trace plus a one-line
summary. Both round-trip through ``to_dict`` / ``from_dict`` so the web app can store the JSON
and render it again later without the trace.
"""

from __future__ import annotations

import enum
import json
import math
from dataclasses import dataclass, field
from typing import Any

# The vocabulary (DESIGN.md), in its canonical order. It stays here rather than being derived
# from the detectors' registrations: the detectors import this module, and a stored diagnosis is
# validated against it when loaded (Diagnosis.from_dict). Each code has exactly one registered
# detector (analysis/detectors/__init__.py; tests/analysis/test_registry.py checks both ways).
CODES = (
    "vanishing_gradients",
    "exploding_gradients",
    "missing_zero_grad",
    "gradient_accumulation",
    "grads_cleared_before_step",
    "dead_relu",
    "saturated_activations",
    "non_finite",
    "no_gradient",
    "not_in_optimizer",
    "lr_too_high",
    "lr_too_low",
    "ranks_disagree",
)

# Glossary term slugs the findings may cite (lower-case, hyphenated glossary term names).
GLOSSARY_SLUGS = (
    "vanishing-gradient",
    "exploding-gradient",
    "zero-grad",
    "gradient-accumulation",
    "dead-relu",
    "saturation",
    "learning-rate",
    "mixed-precision",
    "optimizer",
    "computational-graph",
    "gradient-clipping",
    "weight-initialization",
    "residual-connection",
    "batch-normalization",
    "relu",
    "sigmoid",
    "tanh",
)


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True)
class Evidence:
    """The numbers behind a finding.

    ``statistic`` names what was measured, ``value`` is its value on this trace and
    ``threshold`` the limit it crossed (``comparison`` says which way). ``steps`` are optimizer
    step numbers of the run (``Trace.steps.step``), ``onset_step`` where the problem starts.
    ``counterfactual`` says what the number would be without the problem, where we can tell.
    ``details`` holds the per-layer / per-step tables (JSON-safe).
    """

    statistic: str
    value: float | None = None
    threshold: float | None = None
    comparison: str = ""  # "<", "<=", ">", ">=" (value against threshold)
    modules: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    steps: tuple[int, ...] = ()
    onset_step: int | None = None
    counterfactual: str = ""
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Fix:
    text: str
    code: str = ""  # a Python snippet showing the change


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    title: str
    summary: str
    evidence: Evidence
    fix: Fix
    glossary: tuple[str, ...]
    confidence: float  # 0..1

    def __post_init__(self):
        if self.code not in CODES:
            raise ValueError(f"unknown finding code {self.code!r}")
        unknown = set(self.glossary) - set(GLOSSARY_SLUGS)
        if unknown:
            raise ValueError(f"unknown glossary slugs {sorted(unknown)}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence {self.confidence} outside [0, 1]")
        object.__setattr__(self, "severity", Severity(self.severity))

    def to_dict(self) -> dict:
        ev = self.evidence
        return {
            "code": self.code,
            "severity": self.severity.value,
            "title": self.title,
            "summary": self.summary,
            "evidence": {
                "statistic": ev.statistic,
                "value": _plain(ev.value),
                "threshold": _plain(ev.threshold),
                "comparison": ev.comparison,
                "modules": list(ev.modules),
                "params": list(ev.params),
                "steps": [int(s) for s in ev.steps],
                "onset_step": None if ev.onset_step is None else int(ev.onset_step),
                "counterfactual": ev.counterfactual,
                "details": _plain(ev.details),
            },
            "fix": {"text": self.fix.text, "code": self.fix.code},
            "glossary": list(self.glossary),
            "confidence": round(float(self.confidence), 3),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Finding:
        ev = data["evidence"]
        return cls(
            code=data["code"],
            severity=Severity(data["severity"]),
            title=data["title"],
            summary=data["summary"],
            evidence=Evidence(
                statistic=ev["statistic"],
                value=ev.get("value"),
                threshold=ev.get("threshold"),
                comparison=ev.get("comparison", ""),
                modules=tuple(ev.get("modules", ())),
                params=tuple(ev.get("params", ())),
                steps=tuple(ev.get("steps", ())),
                onset_step=ev.get("onset_step"),
                counterfactual=ev.get("counterfactual", ""),
                details=ev.get("details") or {},
            ),
            fix=Fix(text=data["fix"]["text"], code=data["fix"].get("code", "")),
            glossary=tuple(data.get("glossary", ())),
            confidence=float(data["confidence"]),
        )


@dataclass(frozen=True)
class Diagnosis:
    engine_version: str
    findings: tuple[Finding, ...]
    summary: str
    facts: dict = field(default_factory=dict)  # what was read: rows, steps, params, optimizers

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    @property
    def healthy(self) -> bool:
        return not any(f.severity in (Severity.ERROR, Severity.WARNING) for f in self.findings)

    def to_dict(self) -> dict:
        return {
            "engine_version": self.engine_version,
            "summary": self.summary,
            "healthy": self.healthy,
            "facts": _plain(self.facts),
            "findings": [f.to_dict() for f in self.findings],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict) -> Diagnosis:
        return cls(
            engine_version=data["engine_version"],
            findings=tuple(Finding.from_dict(f) for f in data.get("findings", ())),
            summary=data.get("summary", ""),
            facts=data.get("facts") or {},
        )


def _plain(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, non-finite floats to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return str(value)
