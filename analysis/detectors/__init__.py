"""The detector registry: every detector the engine runs, in the order it runs them.

A detector is a module named after its code that ends its rule with
``DETECTOR = Detector(code, detect, cause_rank, suppresses)`` (``_registry.py``). Adding one:
write ``analysis/detectors/<code>.py``, add its code to ``findings.CODES`` (the vocabulary) and
its ``DETECTOR`` on one line below. The engine's cause order and suppressions are derived here
from the registrations; ``tests/analysis/test_registry.py`` checks they are complete.
"""

from __future__ import annotations

from analysis.detectors import (
    dead_relu,
    exploding_gradients,
    gradient_accumulation,
    grads_cleared_before_step,
    lr_too_high,
    lr_too_low,
    missing_zero_grad,
    no_gradient,
    non_finite,
    not_in_optimizer,
    ranks_disagree,
    saturated_activations,
    vanishing_gradients,
)
from analysis.detectors._registry import Detector

DETECTORS: tuple[Detector, ...] = (
    ranks_disagree.DETECTOR,
    non_finite.DETECTOR,
    missing_zero_grad.DETECTOR,
    grads_cleared_before_step.DETECTOR,
    gradient_accumulation.DETECTOR,
    no_gradient.DETECTOR,
    not_in_optimizer.DETECTOR,
    vanishing_gradients.DETECTOR,
    exploding_gradients.DETECTOR,
    dead_relu.DETECTOR,
    saturated_activations.DETECTOR,
    lr_too_high.DETECTOR,
    lr_too_low.DETECTOR,
)

# Within a severity the report lists root causes before their symptoms.
CAUSE_ORDER: tuple[str, ...] = tuple(d.code for d in sorted(DETECTORS, key=lambda d: d.cause_rank))

# A root cause found hides the symptoms it produces.
SUPPRESSES: dict[str, tuple[str, ...]] = {d.code: d.suppresses for d in DETECTORS if d.suppresses}
