"""A NaN loss is told apart from "no loss recorded": the optional ``lnan`` chunk (SCHEMA.md
section 3) lists the rows whose loss *was* NaN at backward; old files without it still load."""

import numpy as np
import pytest
import safetensors.numpy
import torch
from torch import nn

import traces
from tests.traces.test_trace_format import _meta_and_rows as _chunks
from tests.traces.test_trace_format import _rebuild
from traces import format as fmt
from traces import recorder as recorder_module
from traces.model import RunEnd, Steps
from traces.synthetic import replace_steps, synthetic_trace


def _nan_loss_trace(rows=(1, 3)):
    t = synthetic_trace(num_steps=5)
    loss = t.steps.loss.copy()
    loss[list(rows)] = np.nan
    flags = np.zeros(5, dtype=bool)
    flags[list(rows)] = True
    return replace_steps(t, loss=loss, loss_nan=flags)


# ------------------------------------------------------------------ the recorder


def test_a_nan_loss_with_finite_gradients_is_recorded_as_nan_not_as_missing(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    path = tmp_path / "run.trace"
    recorder = recorder_module.start(path, every=1, command=("test",))
    recorder.stream.flush_rows = 2  # several ROWS chunks, each with its own lnan chunk
    try:
        for step in range(6):
            opt.zero_grad()
            out = model(torch.randn(8, 4))
            if step % 3 == 2:
                out.backward(torch.ones_like(out))  # no scalar loss: nothing recorded
            else:
                # a NaN term whose gradient is zero: the loss is NaN, the gradients finite
                nan_term = torch.where(out > 1e9, out, torch.full_like(out, float("nan")))
                loss = out.pow(2).mean() + 0.0 * nan_term.mean()
                loss.backward()
            opt.step()
    finally:
        recorder.finish(RunEnd.COMPLETED)
    trace = traces.load(path)
    s = trace.steps
    assert trace.num_rows == 6
    assert np.isnan(s.loss).all()
    np.testing.assert_array_equal(s.loss_nan, [True, True, False, True, True, False])
    assert not s.grad_nonfinite.any() and np.isfinite(s.grad_norm).all()
    assert trace.version == fmt.FORMAT_VERSION == 2


def test_a_finite_or_infinite_loss_is_not_flagged_nan(tmp_path):
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with traces.record(tmp_path / "run.trace"):
        for step in range(3):
            opt.zero_grad()
            loss = model(torch.randn(8, 4)).pow(2).mean()
            (loss + (float("inf") if step == 1 else 0.0)).backward()
            opt.step()
    s = traces.load(tmp_path / "run.trace").steps
    assert not s.loss_nan.any()
    assert np.isfinite(s.loss[[0, 2]]).all() and np.isposinf(s.loss[1])


# ------------------------------------------------------------------ the file


def test_nan_loss_flags_round_trip_in_an_optional_chunk():
    trace = _nan_loss_trace()
    data = traces.dumps(trace)
    tags = [tag for tag, _ in _chunks(data)]
    assert fmt.TAG_LOSS_NAN in tags and fmt.TAG_LOSS_NAN[:1].islower()  # skipped by old readers
    back = traces.loads(data)
    np.testing.assert_array_equal(back.steps.loss_nan, [False, True, False, True, False])
    assert back.version == 2


def test_a_file_without_the_chunk_reads_every_nan_loss_as_not_recorded():
    # what every file written before the chunk looks like: the same bytes minus lnan
    data = traces.dumps(_nan_loss_trace())
    old = _rebuild([c for c in _chunks(data) if c[0] != fmt.TAG_LOSS_NAN])
    back = traces.loads(old)
    assert np.isnan(back.steps.loss[[1, 3]]).all()
    assert back.steps.loss_nan.dtype == bool and not back.steps.loss_nan.any()


def test_a_trace_without_nan_losses_writes_no_chunk():
    data = traces.dumps(synthetic_trace(num_steps=3))
    assert fmt.TAG_LOSS_NAN not in [tag for tag, _ in _chunks(data)]


def test_steps_built_without_the_flags_have_none_set():
    s = synthetic_trace(num_steps=4).steps
    fields = {name: getattr(s, name) for name in fmt.ROW_ARRAYS}
    assert Steps(**fields).loss_nan.tolist() == [False] * 4


def _with_lnan(rows) -> bytes:
    data = traces.dumps(_nan_loss_trace())
    blob = safetensors.numpy.save({"row": np.asarray(rows, dtype=np.int64)})
    return _rebuild(
        [(tag, blob if tag == fmt.TAG_LOSS_NAN else payload) for tag, payload in _chunks(data)]
    )


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([0], "finite loss"),  # row 0's loss is finite: it cannot have been NaN
        ([7], "row"),
        ([3, 1], "increasing"),
        ([1, 1], "increasing"),
    ],
)
def test_the_reader_refuses_nan_flags_that_contradict_the_rows(rows, message):
    with pytest.raises(fmt.TraceFormatError, match=message):
        traces.loads(_with_lnan(rows))


def test_the_reader_refuses_a_malformed_lnan_chunk():
    data = traces.dumps(_nan_loss_trace())
    bad = safetensors.numpy.save({"rows": np.array([1], dtype=np.int32)})
    chunks = [(t, bad if t == fmt.TAG_LOSS_NAN else p) for t, p in _chunks(data)]
    with pytest.raises(fmt.TraceFormatError, match="lnan"):
        traces.loads(_rebuild(chunks))


def test_validate_refuses_a_nan_flag_on_a_finite_loss():
    t = synthetic_trace(num_steps=3)
    with pytest.raises(fmt.TraceFormatError, match="finite loss"):
        replace_steps(t, loss_nan=np.array([False, True, False]))
