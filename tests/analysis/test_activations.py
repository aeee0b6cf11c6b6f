"""dead_relu and saturated_activations."""

import dataclasses

import numpy as np

from analysis.detectors import dead_relu, saturated_activations
from tests.analysis.helpers import col, find, mod, replace_steps, synthetic_trace, with_modules
from traces.model import ModuleInfo


def _dead(share: float, *, rows: int = 40, from_row: int = 0):
    t = synthetic_trace(num_steps=rows, layer_sizes=(8, 32, 32, 2))
    dead = t.steps.act_dead_frac.copy()
    dead[from_row:, mod(t, "1")] = share
    return replace_steps(t, act_dead_frac=dead)


def test_relu_layer_dead_above_the_share_is_dead_relu():
    f = find(_dead(dead_relu.DEAD_SHARE + 0.05), "dead_relu")
    assert f is not None and f.evidence.modules == ("1",)
    assert f.severity.value == "warning"


def test_relu_layer_dead_below_the_share_is_not():
    assert find(_dead(dead_relu.DEAD_SHARE - 0.05), "dead_relu") is None


def test_nearly_all_dead_is_an_error_with_the_onset():
    f = find(_dead(0.97, from_row=15), "dead_relu")
    assert f.severity.value == "error"
    assert f.evidence.onset_step == 15


def test_units_dead_from_the_first_step_blame_the_initialisation_not_the_learning_rate():
    f = find(_dead(0.97), "dead_relu")
    assert "initialisation" in f.evidence.details["likely_cause"]
    assert f.fix.text.startswith("Initialise biases at 0")
    assert "Lower the learning rate" not in f.fix.text


def test_units_dying_later_without_a_large_update_name_no_learning_rate_cause():
    f = find(_dead(0.97, from_row=15), "dead_relu")
    assert "initialisation" not in f.evidence.details["likely_cause"]


def test_units_dying_only_at_the_very_end_are_not_reported():
    assert find(_dead(0.9, from_row=38), "dead_relu") is None


def test_functional_relu_is_read_from_the_next_layer_gradient():
    t = synthetic_trace(num_steps=30, layer_sizes=(8, 32, 32, 2), activation=None)
    dead_in = t.steps.grad_dead_in_frac.copy()
    dead_in[:, col(t, "1.weight")] = 0.7
    f = find(replace_steps(t, grad_dead_in_frac=dead_in), "dead_relu")
    assert f is not None and "inputs of 1" in f.evidence.modules


def test_zero_input_columns_of_the_first_layer_are_data_not_dead_units():
    t = synthetic_trace(num_steps=30, layer_sizes=(8, 32, 32, 2), activation=None)
    dead_in = t.steps.grad_dead_in_frac.copy()
    dead_in[:, col(t, "0.weight")] = 0.9  # e.g. always-zero pixels at an image border
    assert find(replace_steps(t, grad_dead_in_frac=dead_in), "dead_relu") is None


def _saturated(share: float, *, output_only: bool = False):
    t = synthetic_trace(num_steps=40, layer_sizes=(8, 32, 32, 2), activation="sigmoid")
    if not output_only:
        sat = t.steps.act_sat_frac.copy()
        sat[:, mod(t, "1")] = share
        return replace_steps(t, act_sat_frac=sat)
    # Add an output sigmoid after the head (before the top-level Sequential); only it saturates.
    top = t.modules[-1]
    out = ModuleInfo(path="5", type="Sigmoid", order=top.order, activation="sigmoid")
    t = with_modules(t, [*t.modules[:-1], out, dataclasses.replace(top, order=top.order + 1)])
    s = t.steps
    fill = {"act_sat_frac": share}
    arrays = {}
    for name in ("act_mean", "act_std", "act_zero_frac", "act_dead_frac", "act_sat_frac"):
        old = getattr(s, name)
        column = np.full((40, 1), fill.get(name, np.nan), np.float32)
        arrays[name] = np.concatenate([old[:, :-1], column, old[:, -1:]], axis=1)
    return dataclasses.replace(t, steps=dataclasses.replace(s, **arrays))


def test_hidden_sigmoid_saturated_above_the_share_is_reported():
    f = find(_saturated(saturated_activations.SATURATION_SHARE + 0.1), "saturated_activations")
    assert f is not None and "1" in f.evidence.modules
    assert "sigmoid" in f.glossary


def test_hidden_sigmoid_below_the_share_is_not():
    assert (
        find(_saturated(saturated_activations.SATURATION_SHARE - 0.1), "saturated_activations")
        is None
    )


def test_a_confident_output_sigmoid_is_not_saturation():
    assert find(_saturated(0.99, output_only=True), "saturated_activations") is None


def test_a_generators_output_tanh_is_not_saturation_even_with_a_discriminator_after_it():
    t = synthetic_trace(num_steps=30, layer_sizes=(8, 16, 16, 2), activation="tanh")
    # Rename into two top-level models: G (the MLP) and D (a Linear after G's output tanh).
    g_modules = [dataclasses.replace(m, path=f"G.{m.path}" if m.path else "G") for m in t.modules]
    g_params = [
        dataclasses.replace(p, name=f"G.{p.name}", module=f"G.{p.module}") for p in t.params
    ]
    out_tanh = ModuleInfo(path="G.5", type="Tanh", order=5, activation="tanh")
    d_lin = ModuleInfo(path="D.0", type="Linear", order=7, activation=None)
    d_top = ModuleInfo(path="D", type="Sequential", order=8, activation=None)
    modules = g_modules[:-1] + [out_tanh, dataclasses.replace(g_modules[-1], order=6), d_lin, d_top]
    params = g_params[:-2] + [
        dataclasses.replace(g_params[-2], module="D.0", name="D.0.weight"),
        dataclasses.replace(g_params[-1], module="D.0", name="D.0.bias"),
    ]
    s = t.steps
    extra = np.full((30, 3), np.nan, np.float32)
    sat = np.concatenate(
        [
            s.act_sat_frac[:, :-1],
            np.full((30, 1), 0.95, np.float32),
            s.act_sat_frac[:, -1:],
            extra[:, :2],
        ],
        axis=1,
    )
    arrays = {
        k: np.concatenate(
            [getattr(s, k)[:, :-1], extra[:, :1], getattr(s, k)[:, -1:], extra[:, :2]], axis=1
        )
        for k in ("act_mean", "act_std", "act_zero_frac", "act_dead_frac")
    }
    steps = dataclasses.replace(s, act_sat_frac=sat, **arrays)
    t = dataclasses.replace(t, modules=tuple(modules), params=tuple(params), steps=steps)
    assert find(t, "saturated_activations") is None
