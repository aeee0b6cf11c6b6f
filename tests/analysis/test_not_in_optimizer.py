"""not_in_optimizer when a layer is replaced after the optimizer was built: the optimizer keeps
the old layer's tensors (owned by no module of the model any more), the new layer is in no param
group. A frozen-backbone reading needs optimized layers the forward pass uses after the missing
ones."""

import dataclasses

import numpy as np

from tests.analysis.helpers import codes, find, synthetic_trace
from traces.model import ParamInfo


def _with_orphans(t, shapes):
    """Append tensors held by optimizer 0 that no module owns (the recorder's name for a tensor
    it met only in a param group) and that never get a gradient or change."""
    s = t.steps
    S, k = t.num_rows, len(shapes)
    params = list(t.params) + [
        ParamInfo(
            name=f"optimizer0.group0.{j}",
            module="",
            shape=shape,
            trainable=True,
            optimizer=0,
            group=0,
        )
        for j, shape in enumerate(shapes)
    ]

    def pad(name, value, dtype):
        a = getattr(s, name)
        return np.concatenate([a, np.full((S, k), value, dtype)], axis=1)

    steps = dataclasses.replace(
        s,
        grad_norm=pad("grad_norm", np.nan, np.float32),
        fresh_grad_norm=pad("fresh_grad_norm", np.nan, np.float32),
        weight_norm=pad("weight_norm", 1.5, np.float32),
        update_norm=pad("update_norm", 0.0, np.float32),
        grad_nonfinite=pad("grad_nonfinite", 0, np.int32),
        weight_nonfinite=pad("weight_nonfinite", 0, np.int32),
        stale_grad=pad("stale_grad", False, bool),
        grad_dead_in_frac=pad("grad_dead_in_frac", np.nan, np.float32),
    )
    return dataclasses.replace(t, params=tuple(params), steps=steps)


def _head_replaced_with_frozen_backbone():
    # backbone 0, 2 frozen; the optimizer was built on the old head (now orphaned); the new
    # head 4 runs last and gets gradients, in no param group.
    t = synthetic_trace(
        num_steps=30,
        frozen=("0.weight", "0.bias", "2.weight", "2.bias"),
        not_in_optimizer=("4.weight", "4.bias"),
    )
    return _with_orphans(t, [(10, 32), (10,)])


def test_head_replaced_after_the_optimizer_with_a_frozen_backbone_is_an_error():
    f = find(_head_replaced_with_frozen_backbone(), "not_in_optimizer")
    assert f.severity.value == "error"
    assert not f.evidence.details["leading_block"]
    assert "backbone" not in f.title.lower()
    assert "before the optimized layers" not in f.summary
    # the orphaned old tensors are explained in the same finding
    assert f.evidence.details["orphaned_tensors"] == ["optimizer0.group0.0", "optimizer0.group0.1"]
    assert "no module" in f.summary


def test_the_orphaned_tensors_are_not_a_separate_no_gradient_finding():
    assert codes(_head_replaced_with_frozen_backbone()) == ["not_in_optimizer"]


def test_orphaned_tensors_alone_are_not_said_to_have_run():
    # a layer swapped for a parameter-free one after the optimizer was built: the old tensors
    # stay in the optimizer and never get a gradient; nothing ran them.
    f = find(_with_orphans(synthetic_trace(num_steps=30), [(10, 32), (10,)]), "no_gradient")
    assert f is not None
    assert f.evidence.details["modules_that_ran"] == []
    assert "ran in the forward pass" not in f.summary
    assert "no module" in f.summary


def test_backbone_before_an_optimized_head_is_still_info():
    t = synthetic_trace(num_steps=30, not_in_optimizer=("0.weight", "0.bias", "2.weight", "2.bias"))
    f = find(t, "not_in_optimizer")
    assert f.severity.value == "info" and f.evidence.details["leading_block"]


def test_a_head_after_the_optimized_layers_is_an_error():
    t = synthetic_trace(num_steps=30, not_in_optimizer=("4.weight", "4.bias"))
    f = find(t, "not_in_optimizer")
    assert f.severity.value == "error" and not f.evidence.details["leading_block"]
