"""What a detector is: its code, its rule, its place among the causes and what it hides.

Each detector module ends its public part with one ``DETECTOR = Detector(...)``;
``analysis/detectors/__init__.py`` lists them and derives the engine's cause order and
suppressions from them, so a detector's ordering and suppressions sit next to its rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analysis.detectors._view import TraceView
    from analysis.findings import Finding


@dataclass(frozen=True)
class Detector:
    code: str  # one of findings.CODES; the module is named after it
    detect: Callable[[TraceView], list[Finding]]
    # Within a severity the report lists lower ranks first: root causes before the symptoms
    # they produce. Ranks go in tens so a new detector can slot in between two.
    cause_rank: int
    # Codes this one hides when both are found: the symptoms this root cause produces, so the
    # fix shown is the right one.
    suppresses: tuple[str, ...] = ()
