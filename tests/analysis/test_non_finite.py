import dataclasses

import numpy as np

from analysis.detectors import non_finite as nf
from tests.analysis.helpers import col, find, replace_steps, synthetic_trace
from traces.model import EventKind, Events


def test_nan_gradients_name_the_first_step_and_first_layer():
    t = synthetic_trace(num_steps=30)
    bad = t.steps.grad_nonfinite.copy()
    bad[12:, col(t, "2.weight")] = 5
    bad[13:, col(t, "0.weight")] = 5
    # the loss stays finite: backward made the NaN (a non-finite loss is named as the origin,
    # test_non_finite_origin.py)
    f = find(replace_steps(t, grad_nonfinite=bad), "non_finite")
    assert f.evidence.onset_step == 12
    assert f.evidence.modules == ("2",)
    assert f.severity.value == "error"


def test_non_finite_weights_are_reported_as_lost():
    t = synthetic_trace(num_steps=30)
    w = t.steps.weight_nonfinite.copy()
    w[20:, :] = 1
    f = find(replace_steps(t, weight_nonfinite=w), "non_finite")
    assert f.evidence.details["weights_non_finite_from_step"] == 20


def _with_skips(t, rows):
    ev = t.events
    kinds, erows, opts = list(ev.kind), list(ev.row), list(ev.optimizer)
    for r in sorted(rows, reverse=True):
        i = erows.index(r)  # first event of the row's window
        kinds.insert(i, int(EventKind.SKIPPED_STEP))
        erows.insert(i, r)
        opts.insert(i, 0)
    events = Events(
        kind=np.array(kinds, np.int8),
        row=np.array(erows, np.int64),
        optimizer=np.array(opts, np.int16),
    )
    return dataclasses.replace(t, events=events)


def test_isolated_steps_skipped_by_a_grad_scaler_are_normal():
    t = _with_skips(synthetic_trace(num_steps=40), [0, 1, 2, 3])
    assert find(t, "non_finite") is None


def test_a_grad_scaler_skipping_most_steps_is_reported():
    t = _with_skips(synthetic_trace(num_steps=10), list(range(10)) * 2)
    f = find(t, "non_finite")
    assert f is not None and f.severity.value == "warning"
    assert f.evidence.value >= nf.SKIPPED_SHARE


def test_nan_loss_that_was_never_observed_is_not_non_finite():
    t = synthetic_trace(num_steps=20)
    loss = np.full(20, np.nan)  # the recorder could not see the loss
    assert find(replace_steps(t, loss=loss), "non_finite") is None


def test_infinite_loss_is_non_finite():
    t = synthetic_trace(num_steps=20)
    loss = t.steps.loss.copy()
    loss[7] = np.inf
    assert find(replace_steps(t, loss=loss), "non_finite").evidence.onset_step == 7
