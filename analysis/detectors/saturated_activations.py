"""saturated_activations: sigmoid/tanh outputs pinned near their bounds.

Statistic, per hidden sigmoid/tanh module: the share of its outputs within 1e-2 of a bound
(``act_sat_frac``), where the local derivative is ~0 (sigmoid'(x) < 0.01). Output activations
(no parametrised layer of the same top-level model runs after them) are left out: a confident
classifier's sigmoid output is supposed to sit near 0 or 1. Saturation must persist from an
onset step to the end of the run.
"""

from __future__ import annotations

import numpy as np

from analysis.detectors._registry import Detector
from analysis.detectors._view import TraceView, persistent_onset
from analysis.findings import Evidence, Finding, Fix, Severity

CODE = "saturated_activations"

# DeepDiagnosis flags saturation when > 50 % of a sigmoid/tanh layer's inputs have |x| >= 5.
# Our statistic counts outputs within 1e-2 of a bound (|x| >= 4.6 for sigmoid, >= 2.6 for
# tanh); we keep DeepDiagnosis's share.
SATURATION_SHARE = 0.5
SATURATING = ("sigmoid", "tanh", "hardtanh", "hardsigmoid")


def detect(view: TraceView) -> list[Finding]:
    rows = view.sample(np.arange(view.S))
    if rows.size == 0:
        return []
    # Last parametrised layer of each top-level model: a GAN's generator ends in a tanh whose
    # output is an image (often -1 background), followed by the discriminator's layers.
    last_param_order: dict[str, float] = {}
    for i, p in enumerate(view.trace.params):
        order = view.param_order[i]
        if np.isfinite(order):
            root = view.root_of(p.module)
            last_param_order[root] = max(last_param_order.get(root, -1.0), float(order))
    hits = []
    for i, m in enumerate(view.trace.modules):
        if m.activation not in SATURATING or m.order < 0:
            continue
        if m.order > last_param_order.get(view.root_of(m.path), -1.0):
            continue  # an output activation: no parametrised layer runs after it
        series = view.steps.act_sat_frac[rows, i].astype(np.float64)
        valid = np.isfinite(series)
        if valid.sum() < 2:
            continue
        r, x = rows[valid], series[valid]
        onset = persistent_onset(x >= SATURATION_SHARE, view.S)
        if onset is None:
            continue
        hits.append(
            {
                "module": m.path,
                "activation": m.activation,
                "median_saturated_share": float(np.median(x[onset:])),
                "onset_step": view.step_of(int(r[onset])),
            }
        )
    if not hits:
        return []
    hits.sort(key=lambda h: -h["median_saturated_share"])
    worst = hits[0]
    acts = sorted({h["activation"] for h in hits})
    onset = min(h["onset_step"] for h in hits)
    where = ", ".join(
        f"{view.describe(h['module'])}: {round(100 * h['median_saturated_share'])}%"
        for h in hits[:5]
    )
    return [
        Finding(
            code=CODE,
            severity=Severity.WARNING,
            title="Saturated sigmoid/tanh activations",
            summary=(
                f"From step {onset} on, most outputs of {len(hits)} hidden activation layer(s) "
                f"sit within 1e-2 of their bounds ({where}). There the derivative is ~0, so "
                "almost no gradient passes back through them."
            ),
            evidence=Evidence(
                statistic="median share of outputs within 1e-2 of a bound",
                value=worst["median_saturated_share"],
                threshold=SATURATION_SHARE,
                comparison=">=",
                modules=tuple(h["module"] for h in hits),
                steps=(onset,),
                onset_step=onset,
                details={"layers": hits},
            ),
            fix=Fix(
                text=(
                    "Keep pre-activations small: Xavier/Glorot init, normalise inputs, add "
                    "LayerNorm/BatchNorm before the activation, lower the learning rate; or use "
                    "ReLU/GELU in hidden layers."
                ),
                code=(
                    "nn.init.xavier_uniform_(layer.weight)\n"
                    "block = nn.Sequential(nn.Linear(d, d), nn.LayerNorm(d), nn.Tanh())"
                ),
            ),
            glossary=tuple(
                [
                    "saturation",
                    *[a for a in acts if a in ("sigmoid", "tanh")],
                    "weight-initialization",
                    "batch-normalization",
                ]
            ),
            confidence=round(
                min(0.97, 0.6 + (worst["median_saturated_share"] - SATURATION_SHARE)), 3
            ),
        )
    ]


DETECTOR = Detector(code=CODE, detect=detect, cause_rank=110)
