"""The detector registry. A detector is a module with ``CODE`` and ``detect(view) -> list[Finding]``.

Adding one: write ``analysis/detectors/<code>.py`` and add its name on one line below.
"""

from __future__ import annotations

import importlib
from types import ModuleType

DETECTOR_MODULES = (
    "non_finite",
    "missing_zero_grad",
    "grads_cleared_before_step",
    "gradient_accumulation",
    "no_gradient",
    "not_in_optimizer",
    "vanishing_gradients",
    "exploding_gradients",
    "dead_relu",
    "saturated_activations",
    "lr_too_high",
    "lr_too_low",
)

DETECTORS: tuple[ModuleType, ...] = tuple(
    importlib.import_module(f"analysis.detectors.{name}") for name in DETECTOR_MODULES
)
