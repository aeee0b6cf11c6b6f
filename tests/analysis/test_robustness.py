"""Whatever a valid trace holds (NaN, Inf, zeros, odd shapes), the engine answers, in JSON."""

import json

import numpy as np
import pytest

from analysis import diagnose
from analysis.plots import render_svgs
from analysis.report import render_markdown, render_text
from tests.analysis.helpers import replace_steps, synthetic_trace

FLOAT_ARRAYS = ("grad_norm", "fresh_grad_norm", "weight_norm", "update_norm")
FRACTIONS = ("grad_dead_in_frac", "act_zero_frac", "act_dead_frac", "act_sat_frac")


def _mangled(seed: int):
    rng = np.random.default_rng(seed)
    kwargs = dict(
        num_steps=int(rng.integers(1, 60)),
        layer_sizes=tuple(int(n) for n in rng.integers(1, 12, size=int(rng.integers(2, 7)))),
        activation=rng.choice(["relu", "sigmoid", "tanh", "gelu", None]),
        optimizer=rng.choice(["SGD", "Adam", None]),
        clear=rng.choice(["before_backward", "never", "before_step"]),
        backward_per_step=int(rng.integers(1, 4)),
    )
    t = synthetic_trace(**kwargs)
    s = t.steps
    arrays = {}
    for name in FLOAT_ARRAYS:
        a = getattr(s, name).copy()
        for value in (np.nan, np.inf, 0.0, 1e30, 1e-30):
            a[rng.random(a.shape) < 0.1] = value
        arrays[name] = a
    for name in FRACTIONS:
        a = getattr(s, name).copy()
        a[rng.random(a.shape) < 0.3] = rng.random()
        a[rng.random(a.shape) < 0.1] = np.nan
        arrays[name] = a
    loss = s.loss.copy()
    loss[rng.random(loss.shape) < 0.2] = rng.choice([np.nan, np.inf, -np.inf, 0.0, -5.0])
    arrays["loss"] = loss
    arrays["stale_grad"] = rng.random(s.stale_grad.shape) < rng.random()
    arrays["grad_nonfinite"] = (rng.random(s.grad_nonfinite.shape) < 0.05).astype(np.int32)
    return replace_steps(t, **arrays)


@pytest.mark.parametrize("seed", range(40))
def test_engine_answers_any_valid_trace_with_strict_json(seed):
    trace = _mangled(seed)
    d = diagnose(trace)
    json.loads(d.to_json())  # allow_nan=False inside: no NaN/Inf leaks into the JSON
    assert render_text(d) and render_markdown(d)
    if seed % 8 == 0:  # plots are slower; a sample is enough
        for svg in render_svgs(trace, d).values():
            assert svg.lstrip().startswith("<?xml") or "<svg" in svg
