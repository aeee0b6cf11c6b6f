"""Property tests: whatever bytes arrive, the reader loads a trace or raises TraceFormatError."""

import json
import tracemalloc

import numpy as np
import safetensors.numpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import traces
from traces import format as fmt
from traces.synthetic import synthetic_trace

VALID = traces.dumps(synthetic_trace(num_steps=4, layer_sizes=(3, 5, 2)))
VALID_MANUAL = traces.dumps(synthetic_trace(num_steps=3, layer_sizes=(2, 3), optimizer=None))
SEEDS = [VALID, VALID_MANUAL]
SMALL = synthetic_trace(num_steps=2, layer_sizes=(3, 2))
SMALL_META = json.dumps(fmt.trace_meta(SMALL))
SMALL_ROWS = fmt.encode_rows(fmt.trace_arrays(SMALL))
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# A reader that allocates more than this for a ~10 KB input is not bounded.
MEMORY_BOUND = 64 * 2**20


def _load_or_refuse(data: bytes) -> None:
    tracemalloc.start()
    try:
        trace = traces.loads(data)
    except traces.TraceFormatError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert isinstance(trace, traces.Trace)
        assert trace.steps.grad_norm.shape == (trace.num_rows, len(trace.params))
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < MEMORY_BOUND


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_load_or_are_refused(data):
    _load_or_refuse(data)


@FUZZ
@given(st.binary(max_size=512))
def test_arbitrary_bytes_after_a_valid_header_load_or_are_refused(data):
    _load_or_refuse(fmt.encode_header() + data)


@FUZZ
@given(
    seed=st.sampled_from(SEEDS),
    edits=st.lists(
        st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=8
    ),
)
def test_valid_traces_with_flipped_bytes_load_or_are_refused(seed, edits):
    data = bytearray(seed)
    for position, value in edits:
        data[position % len(data)] = value
    _load_or_refuse(bytes(data))


@FUZZ
@given(seed=st.sampled_from(SEEDS), cut=st.integers(min_value=0), junk=st.binary(max_size=64))
def test_valid_traces_cut_or_extended_load_or_are_refused(seed, cut, junk):
    _load_or_refuse(seed[: cut % (len(seed) + 1)] + junk)


@FUZZ
@given(
    seed=st.sampled_from(SEEDS),
    position=st.integers(min_value=0),
    value=st.sampled_from([0, 1, 2**31 - 1, 2**32 - 1, 2**63 - 1, 2**64 - 1]),
)
def test_valid_traces_with_corrupted_length_fields_load_or_are_refused(seed, position, value):
    data = bytearray(seed)
    position = position % max(len(data) - 8, 1)
    data[position : position + 8] = value.to_bytes(8, "little")
    _load_or_refuse(bytes(data))


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@FUZZ
@given(
    path=st.sampled_from(
        [
            ("run", "every"),
            ("run", "total_steps"),
            ("run", "ended"),
            ("run", "command"),
            ("run", "exit_code"),
            ("params", 0, "shape"),
            ("params", 1, "group"),
            ("params", 0, "optimizer"),
            ("params", 1, "name"),
            ("modules", 0, "order"),
            ("modules", 1, "activation"),
            ("groups", 0, "hyperparams"),
            ("groups", 0, "optimizer"),
            ("optimizers", 0, "groups"),
            ("optimizers", 0),
            ("version",),
            ("extra",),
            ("params",),
        ]
    ),
    value=JSON_VALUES,
)
def test_valid_traces_with_any_json_in_a_metadata_field_load_or_are_refused(path, value):
    meta = json.loads(SMALL_META)
    target = meta
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    data = (
        fmt.encode_header() + SMALL_ROWS + fmt.encode_chunk(fmt.TAG_META, json.dumps(meta).encode())
    )
    _load_or_refuse(data)


@FUZZ
@given(
    name=st.sampled_from(sorted(fmt.ROW_ARRAYS) + sorted(fmt.EVENT_ARRAYS)),
    shape=st.lists(st.integers(0, 6), min_size=0, max_size=3),
    dtype=st.sampled_from(["<f4", "<f8", "<i1", "<i2", "<i4", "<i8", "bool"]),
    fill=st.sampled_from([0, 1, -1, 3, 1e9, np.nan, np.inf]),
)
def test_valid_traces_with_any_array_swapped_in_load_or_are_refused(name, shape, dtype, fill):
    arrays = dict(fmt.trace_arrays(SMALL))
    with np.errstate(invalid="ignore"):
        arrays[name] = np.full(shape, fill).astype(dtype)
    payload = safetensors.numpy.save({k: np.ascontiguousarray(v) for k, v in arrays.items()})
    data = (
        fmt.encode_header()
        + fmt.encode_chunk(fmt.TAG_ROWS, payload)
        + fmt.encode_chunk(fmt.TAG_META, SMALL_META.encode())
    )
    _load_or_refuse(data)
