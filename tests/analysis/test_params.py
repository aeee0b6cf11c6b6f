"""no_gradient and not_in_optimizer: frozen, teacher and manually updated parameters are fine."""

import dataclasses

import numpy as np

from tests.analysis.helpers import codes, col, diagnose, find, replace_steps, synthetic_trace
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


def _grad_steps(t, steps: dict[str, int], default: int = 0):
    """Say when each module first ran with autograd on (``steps`` by path, else ``default``)."""
    modules = [dataclasses.replace(m, grad_step=steps.get(m.path, default)) for m in t.modules]
    return dataclasses.replace(t, modules=tuple(modules))


def test_without_an_optimizer_a_copy_that_never_ran_with_autograd_is_not_judged():
    # The word-language-model shape: manual SGD, then a reloaded copy evaluated under no_grad.
    t = _no_grad(synthetic_trace(num_steps=20, optimizer=None), ["0.weight", "0.bias"])
    assert "no_gradient" in codes(_grad_steps(t, {}))  # it ran with autograd: a broken graph
    # Module "0" and its ancestors never ran with autograd on (the synthetic model has one root,
    # so the root counts as the copy's too).
    copy = _grad_steps(t, {"0": -1, "": -1})
    assert codes(copy) == []
    note = diagnose(copy).facts["not_judged"]
    assert note.startswith("Not judged: 2 trainable parameter(s)") and "no_grad" in note


def test_a_module_first_run_with_autograd_after_the_last_step_took_no_part_in_training():
    t = _no_grad(synthetic_trace(num_steps=20, optimizer=None), ["0.weight", "0.bias"])
    last = t.run.total_steps
    assert codes(_grad_steps(t, {"0": last, "": last})) == []
    assert "no_gradient" in codes(_grad_steps(t, {"0": last - 1, "": last}))


def test_traces_that_do_not_say_keep_judging_every_trainable_parameter():
    t = _no_grad(synthetic_trace(num_steps=20, optimizer=None), ["0.weight", "0.bias"])
    assert {m.grad_step for m in t.modules} == {None}
    assert "no_gradient" in codes(t)
    assert "not_judged" not in diagnose(t).facts
