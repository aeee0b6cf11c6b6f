"""Loading a trace reserves memory for the file's size, not for the format's upper limit."""

import tracemalloc

from traces import format as fmt
from traces.synthetic import synthetic_trace

# The default limit reserves hundreds of MB; a small file must cost a tiny fraction of it.
SMALL_SHARE_OF_LIMIT = 0.01


def test_loading_a_small_file_does_not_reserve_the_size_limit(tmp_path):
    path = tmp_path / "small.trace"
    fmt.save(synthetic_trace(num_steps=5), path)
    tracemalloc.start()
    try:
        fmt.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < SMALL_SHARE_OF_LIMIT * fmt.MAX_FILE_BYTES
    assert peak < 10 * path.stat().st_size + 5_000_000


def test_loading_from_an_open_file_object_does_not_reserve_the_size_limit(tmp_path):
    path = tmp_path / "small.trace"
    fmt.save(synthetic_trace(num_steps=5), path)
    with open(path, "rb") as f:
        tracemalloc.start()
        try:
            trace = fmt.load(f)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert trace.num_rows == 5
    assert peak < SMALL_SHARE_OF_LIMIT * fmt.MAX_FILE_BYTES
