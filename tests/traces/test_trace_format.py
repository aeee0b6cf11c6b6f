"""The trace file format: round trips, streaming, and the refusals of the reader."""

import dataclasses
import io
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy

import traces
from traces import format as fmt
from traces.model import EventKind, RunEnd
from traces.synthetic import replace_steps, synthetic_trace


def _meta_and_rows(data: bytes):
    """Split a file written by ``dumps`` (header, one ROWS chunk, one META chunk)."""
    offset = fmt.HEADER.size
    chunks = []
    while offset < len(data):
        tag, length = fmt.CHUNK_HEAD.unpack_from(data, offset)
        start = offset + fmt.CHUNK_HEAD.size
        chunks.append((tag, data[start : start + length]))
        offset = start + length
    return chunks


def _rebuild(chunks) -> bytes:
    return fmt.encode_header() + b"".join(fmt.encode_chunk(tag, payload) for tag, payload in chunks)


def _with_meta(trace, change) -> bytes:
    meta = fmt.trace_meta(trace)
    change(meta)
    rows = fmt.encode_rows(fmt.trace_arrays(trace))
    payload = json.dumps(meta).encode()
    return fmt.encode_header() + rows + fmt.encode_chunk(fmt.TAG_META, payload)


def _with_arrays(trace, **arrays) -> bytes:
    blob = dict(fmt.trace_arrays(trace))
    blob.update(arrays)
    payload = safetensors.numpy.save({k: np.ascontiguousarray(v) for k, v in blob.items()})
    return (
        fmt.encode_header()
        + fmt.encode_chunk(fmt.TAG_ROWS, payload)
        + fmt.encode_meta(fmt.trace_meta(trace))
    )


def _assert_same(a, b):
    assert a.run == b.run
    assert a.params == b.params and a.modules == b.modules
    assert a.groups == b.groups and a.optimizers == b.optimizers
    assert a.extra == b.extra
    for name in ("kind", "row", "optimizer"):
        np.testing.assert_array_equal(getattr(a.events, name), getattr(b.events, name))
    for f in dataclasses.fields(a.steps):
        x, y = getattr(a.steps, f.name), getattr(b.steps, f.name)
        assert x.dtype == y.dtype, f.name
        np.testing.assert_array_equal(x, y, err_msg=f.name)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"clear": "never"},
        {"clear": "before_step", "backward_per_step": 3},
        {"optimizer": None},
        {"activation": "sigmoid", "not_in_optimizer": ["0.weight"], "frozen": ["2.bias"]},
        {"num_steps": 0},
        {"every": 10, "ended": RunEnd.EXCEPTION},
    ],
)
def test_trace_round_trips_through_bytes_path_and_file_object(options, tmp_path):
    trace = synthetic_trace(**options)
    data = traces.dumps(trace)
    _assert_same(trace, traces.loads(data))
    path = tmp_path / "run.trace"
    traces.save(trace, path)
    _assert_same(trace, traces.load(path))
    _assert_same(trace, traces.load(str(path)))
    with open(path, "rb") as f:
        _assert_same(trace, traces.load(f))
    _assert_same(trace, traces.load(io.BytesIO(data)))


def test_nan_and_infinite_statistics_survive_a_round_trip():
    trace = synthetic_trace(num_steps=3)
    grad = trace.steps.grad_norm.copy()
    grad[1, 0] = np.inf
    grad[2, 1] = np.nan
    loss = trace.steps.loss.copy()
    loss[2] = np.nan
    trace = replace_steps(trace, grad_norm=grad, loss=loss)
    back = traces.loads(traces.dumps(trace))
    assert np.isinf(back.steps.grad_norm[1, 0]) and np.isnan(back.steps.grad_norm[2, 1])
    assert np.isnan(back.steps.loss[2])


def test_importing_traces_and_loading_needs_neither_torch_nor_django(tmp_path):
    path = tmp_path / "run.trace"
    traces.save(synthetic_trace(num_steps=2), path)
    code = (
        "import sys, traces; t = traces.load(sys.argv[1]); "
        "print(t.num_rows, 'torch' in sys.modules, 'django' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["2", "False", "False"]


def test_stream_written_in_chunks_with_growing_parameter_count_pads_earlier_rows(tmp_path):
    full = synthetic_trace(num_steps=5, layer_sizes=(4, 8, 2))
    meta = fmt.trace_meta(full)
    path = tmp_path / "stream.trace"
    stream = fmt.TraceStream(path, flush_rows=2)
    P = len(full.params)
    for r in range(5):
        width = P - 2 if r < 3 else P  # the last layer's parameters appear at row 3
        row = {
            name: (
                getattr(full.steps, name)[r]
                if axis is None
                else getattr(full.steps, name)[r, : width if axis == "P" else None]
            )
            for name, (_, _, axis) in fmt.ROW_ARRAYS.items()
        }
        events = [
            (int(k), int(o))
            for k, rr, o in zip(
                full.events.kind, full.events.row, full.events.optimizer, strict=True
            )
            if rr == r
        ]
        stream.add_row(row, events)
        if stream.due():
            stream.flush(meta)
    stream.close(meta)
    back = traces.load(path)
    assert back.num_rows == 5
    assert np.isnan(back.steps.grad_norm[:3, P - 2 :]).all()
    np.testing.assert_array_equal(back.steps.grad_norm[3:], full.steps.grad_norm[3:])
    np.testing.assert_array_equal(
        back.steps.grad_norm[:3, : P - 2], full.steps.grad_norm[:3, : P - 2]
    )
    assert not back.steps.stale_grad[:3, P - 2 :].any()
    np.testing.assert_array_equal(back.events.row, full.events.row)


def test_file_cut_after_a_complete_chunk_loads_as_running(tmp_path):
    meta = fmt.trace_meta(synthetic_trace(num_steps=4))
    meta["run"]["ended"] = "running"
    meta["run"]["total_steps"] = 0  # the META written before the rows
    trace = synthetic_trace(num_steps=4)
    data = fmt.encode_header() + fmt.encode_meta(meta) + fmt.encode_rows(fmt.trace_arrays(trace))
    back = traces.loads(data)
    assert back.run.ended is RunEnd.RUNNING
    assert back.num_rows == 4
    assert back.run.total_steps == 4


def test_last_meta_chunk_wins():
    trace = synthetic_trace(num_steps=2)
    first = fmt.trace_meta(trace)
    first["run"]["ended"] = "running"
    data = traces.dumps(trace)
    data = data[: fmt.HEADER.size] + fmt.encode_meta(first) + data[fmt.HEADER.size :]
    assert traces.loads(data).run.ended is RunEnd.COMPLETED


def test_optional_lowercase_chunks_are_skipped_and_unknown_uppercase_ones_refused():
    data = traces.dumps(synthetic_trace(num_steps=2))
    assert traces.loads(data + fmt.encode_chunk(b"note", b"anything")).num_rows == 2
    with pytest.raises(traces.TraceFormatError, match="unknown required chunk"):
        traces.loads(data + fmt.encode_chunk(b"NOTE", b"anything"))


BAD_FILES = {
    "empty": (b"", "truncated"),
    "wrong magic": (b"NOTATRACE" + bytes(20), "wrong magic"),
    "pickle": (b"\x80\x04\x95" + bytes(30), "wrong magic"),
    "future version": (struct.pack("<8sII", fmt.MAGIC, 99, 0), "unsupported format version 99"),
    "flags": (struct.pack("<8sII", fmt.MAGIC, 1, 4), "unknown header flags"),
    "no meta": (fmt.encode_header(), "no META chunk"),
    "cut chunk header": (fmt.encode_header() + b"MET", "truncated"),
    "meta not json": (fmt.encode_header() + fmt.encode_chunk(b"META", b"{nope"), "not valid JSON"),
    "meta not utf8": (fmt.encode_header() + fmt.encode_chunk(b"META", b"\xff\xfe"), "not UTF-8"),
    "meta list": (fmt.encode_header() + fmt.encode_chunk(b"META", b"[1]"), "not a JSON object"),
    "meta nested": (
        fmt.encode_header() + fmt.encode_chunk(b"META", b"[" * 100000 + b"]" * 100000),
        "nests deeper",
    ),
    "meta NaN": (fmt.encode_header() + fmt.encode_chunk(b"META", b'{"a": NaN}'), "not JSON"),
    "rows not safetensors": (
        fmt.encode_header() + fmt.encode_chunk(b"ROWS", b"\xff" * 40),
        "not valid safetensors",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_malformed_container_is_refused_with_a_one_line_reason(name):
    data, reason = BAD_FILES[name]
    with pytest.raises(traces.TraceFormatError, match=reason) as err:
        traces.loads(data)
    assert "\n" not in str(err.value)


def test_truncated_file_is_refused():
    data = traces.dumps(synthetic_trace(num_steps=3))
    for cut in (17, len(data) // 2, len(data) - 1):
        with pytest.raises(traces.TraceFormatError, match="truncated"):
            traces.loads(data[:cut])


def test_oversize_input_is_refused_before_reading_it(tmp_path):
    data = traces.dumps(synthetic_trace(num_steps=3))
    path = tmp_path / "big.trace"
    path.write_bytes(data)
    with pytest.raises(traces.TraceFormatError, match="over the 100-byte limit"):
        traces.load(path, max_bytes=100)
    with pytest.raises(traces.TraceFormatError, match="limit"):
        traces.load(io.BytesIO(data), max_bytes=100)
    with pytest.raises(traces.TraceFormatError, match="limit"):
        traces.loads(data, max_bytes=100)


def test_missing_file_is_a_format_error_not_an_oserror(tmp_path):
    with pytest.raises(traces.TraceFormatError, match="cannot read"):
        traces.load(tmp_path / "nope.trace")


META_MUTATIONS = {
    "unknown top-level field": (lambda m: m.update(surprise=1), "unknown field 'surprise'"),
    "missing params": (lambda m: m.pop("params"), "missing field 'params'"),
    "wrong format name": (lambda m: m.update(format="other"), "expected 'gradhub-trace'"),
    "ended not an enum value": (lambda m: m["run"].update(ended="exploded"), "ended"),
    "every zero": (lambda m: m["run"].update(every=0), "every must be >= 1"),
    "total steps too small": (lambda m: m["run"].update(total_steps=1), "total_steps"),
    "bool as int": (lambda m: m["run"].update(every=True), "every must be int"),
    "param group out of range": (lambda m: m["params"][0].update(group=7), "out of range"),
    "param optimizer without group": (lambda m: m["params"][0].update(group=None), "both be null"),
    "duplicate param name": (lambda m: m["params"][1].update(name="0.weight"), "listed twice"),
    "negative shape": (lambda m: m["params"][0].update(shape=[-1, 2]), "non-negative ints"),
    "duplicate module path": (lambda m: m["modules"][1].update(path="0"), "listed twice"),
    "module order below -1": (lambda m: m["modules"][0].update(order=-5), "order"),
    "module grad_step below -1": (lambda m: m["modules"][0].update(grad_step=-2), "grad_step"),
    "module grad_step not an int": (lambda m: m["modules"][0].update(grad_step="0"), "grad_step"),
    "group not listed by its optimizer": (
        lambda m: m["optimizers"][0].update(groups=[]),
        "not listed by optimizer",
    ),
    "fewer params than columns": (lambda m: m["params"].pop(), "columns but META lists"),
}


def test_a_modules_grad_step_round_trips_and_is_unknown_in_older_traces():
    trace = synthetic_trace(num_steps=3)
    assert {m.grad_step for m in trace.modules} == {None}  # written without the field
    marked = dataclasses.replace(
        trace, modules=tuple(dataclasses.replace(m, grad_step=-1) for m in trace.modules)
    )
    assert {m.grad_step for m in traces.loads(traces.dumps(marked)).modules} == {-1}


@pytest.mark.parametrize("name", sorted(META_MUTATIONS))
def test_inconsistent_metadata_is_refused(name):
    change, reason = META_MUTATIONS[name]
    data = _with_meta(synthetic_trace(num_steps=3), change)
    with pytest.raises(traces.TraceFormatError, match=reason):
        traces.loads(data)


def test_inconsistent_arrays_are_refused():
    trace = synthetic_trace(num_steps=3)
    S, P = trace.steps.grad_norm.shape
    cases = {
        "wrong dtype": ({"grad_norm": trace.steps.grad_norm.astype(np.float64)}, "dtype F64"),
        "wrong row count": ({"loss": np.zeros(S + 1)}, "shape"),
        "ragged widths": ({"weight_norm": np.zeros((S, P - 1), np.float32)}, "columns"),
        "unknown array": ({"secret": np.zeros(1)}, "unknown array 'secret'"),
        "negative norm": ({"update_norm": -np.ones((S, P), np.float32)}, "negative"),
        "fraction above one": (
            {"act_zero_frac": np.full(trace.steps.act_zero_frac.shape, 2, np.float32)},
            "outside \\[0, 1\\]",
        ),
        "steps not increasing": ({"step": np.array([0, 2, 1])}, "strictly increasing"),
        "optimizer out of range": ({"optimizer": np.array([0, 5, 0], np.int16)}, "steps.optimizer"),
        "bad event kind": ({"event_kind": np.full(trace.events.kind.shape, 9, np.int8)}, "kind"),
        "event row out of range": (
            {"event_row": np.full(trace.events.row.shape, 99, np.int64)},
            "events.row",
        ),
        "too many non-finite": ({"grad_nonfinite": np.full((S, P), 10**6, np.int32)}, "count"),
        "backward events above count": (
            {"backward_count": np.zeros(S, np.int32)},
            "more BACKWARD events",
        ),
    }
    for name, (arrays, reason) in cases.items():
        with pytest.raises(traces.TraceFormatError, match=reason):
            traces.loads(_with_arrays(trace, **arrays))
            pytest.fail(name)


def test_a_row_without_its_step_event_is_refused():
    trace = synthetic_trace(num_steps=2)
    kind = trace.events.kind.copy()
    kind[kind == EventKind.STEP] = EventKind.BACKWARD
    with pytest.raises(traces.TraceFormatError, match="exactly one STEP"):
        traces.loads(_with_arrays(trace, event_kind=kind))


def test_boolean_arrays_must_hold_zero_or_one():
    trace = synthetic_trace(num_steps=2)
    payload = bytearray(fmt.encode_rows(fmt.trace_arrays(trace)))
    # Find the "cleared" BOOL tensor's bytes in the safetensors blob and put a 2 there.
    header_len = struct.unpack_from("<Q", payload, 12)[0]
    header = json.loads(payload[20 : 20 + header_len])
    start = 20 + header_len + header["cleared"]["data_offsets"][0]
    payload[start] = 2
    data = fmt.encode_header() + bytes(payload) + fmt.encode_meta(fmt.trace_meta(trace))
    with pytest.raises(traces.TraceFormatError, match="booleans"):
        traces.loads(data)


def test_save_refuses_to_write_an_invalid_trace(tmp_path):
    trace = synthetic_trace(num_steps=2)
    bad = dataclasses.replace(trace, params=trace.params[:-1])
    with pytest.raises(traces.TraceFormatError):
        traces.save(bad, tmp_path / "bad.trace")


def test_schema_md_writer_example_produces_a_valid_trace(tmp_path, monkeypatch):
    schema = (Path(fmt.__file__).parent / "SCHEMA.md").read_text()
    example = schema.split("## 5. Writing one from another tool")[1]
    code = example.split("```python")[1].split("```")[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "SCHEMA.md", "exec"), {})
    trace = traces.load(tmp_path / "run.trace")
    assert trace.num_rows == 2 and trace.params[0].name == "w"


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "traces"


def test_committed_fixture_traces_recorded_by_the_recorder_still_load():
    # Recorded with python -m traces.capture from tests/traces/scripts/{healthy,missing_zero_grad}.py
    healthy = traces.load(FIXTURES / "healthy.trace")
    assert healthy.num_rows == 5 and healthy.run.ended is RunEnd.COMPLETED
    assert not healthy.steps.stale_grad.any()
    missing = traces.load(FIXTURES / "missing_zero_grad.trace")
    assert missing.num_rows == 4 and missing.steps.stale_grad[1:].all()
