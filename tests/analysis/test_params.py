"""no_gradient and not_in_optimizer: frozen, teacher and manually updated parameters are fine."""

import dataclasses

import numpy as np

from tests.analysis.helpers import codes, col, find, replace_steps, synthetic_trace
from traces.model import ModuleInfo


def _no_grad(t, names):
    fresh, grad = t.steps.fresh_grad_norm.copy(), t.steps.grad_norm.copy()
    for n in names:
        fresh[:, col(t, n)] = np.nan
        grad[:, col(t, n)] = np.nan
    return replace_steps(t, fresh_grad_norm=fresh, grad_norm=grad)


def test_parameter_in_optimizer_without_any_gradient_is_no_gradient():
    t = _no_grad(synthetic_trace(num_steps=20), ["0.weight", "0.bias"])
    f = find(t, "no_gradient")
    assert set(f.evidence.params) == {"0.weight", "0.bias"}
    assert f.evidence.details["modules_that_ran"] == ["0"]  # ran: a broken graph


def test_module_that_never_ran_is_an_unused_branch():
    t = _no_grad(synthetic_trace(num_steps=20), ["0.weight", "0.bias"])
    modules = [dataclasses.replace(m, order=-1) if m.path == "0" else m for m in t.modules]
    t = dataclasses.replace(t, modules=tuple(modules))
    f = find(t, "no_gradient")
    assert f.evidence.details["modules_that_never_ran"] == ["0"]


def test_frozen_parameters_are_not_no_gradient():
    assert codes(synthetic_trace(num_steps=20, frozen=("0.weight", "0.bias"))) == []


def test_teacher_parameters_in_no_optimizer_without_gradient_are_fine():
    t = synthetic_trace(num_steps=20, not_in_optimizer=("0.weight", "0.bias"))
    t = _no_grad(t, ["0.weight", "0.bias"])
    assert codes(t) == []


def test_parameter_with_gradient_in_no_optimizer_is_not_in_optimizer():
    t = synthetic_trace(num_steps=20, not_in_optimizer=("4.weight", "4.bias"))
    f = find(t, "not_in_optimizer")
    assert set(f.evidence.params) == {"4.weight", "4.bias"}
    assert f.severity.value == "error"


def test_manually_updated_parameter_is_not_in_optimizer_is_fine():
    t = synthetic_trace(num_steps=20, not_in_optimizer=("4.weight",))
    w = t.steps.weight_norm.copy()
    w[:, col(t, "4.weight")] = np.linspace(1.0, 1.2, 20)  # it changes: updated by hand
    assert "not_in_optimizer" not in codes(replace_steps(t, weight_norm=w))


def test_backbone_left_out_of_the_optimizer_is_info():
    t = synthetic_trace(num_steps=20, not_in_optimizer=("0.weight", "0.bias"))
    f = find(t, "not_in_optimizer")
    assert f.severity.value == "info" and f.evidence.details["leading_block"]


def test_never_ran_modules_are_unused():
    # a module listed with order -1 and no parameters in the optimizer: nothing to report
    t = synthetic_trace(num_steps=10)
    modules = list(t.modules) + [ModuleInfo(path="extra", type="Linear", order=-1, activation=None)]
    t = dataclasses.replace(t, modules=tuple(modules))
    s = t.steps
    pad = np.full((10, 1), np.nan, np.float32)
    steps = dataclasses.replace(
        s,
        **{
            k: np.concatenate([getattr(s, k), pad], axis=1)
            for k in ("act_mean", "act_std", "act_zero_frac", "act_dead_frac", "act_sat_frac")
        },
    )
    assert codes(dataclasses.replace(t, steps=steps)) == []
