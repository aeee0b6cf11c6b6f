"""Benchmark: time and peak memory of the diagnosis against plainly loading the same file.

    .venv/bin/python bench/diagnose.py [--quick]

For synthetic traces from 100 to 100,000 steps and 10 to 1,000 parameters (sizes over the
format's cell limit are skipped), prints the time to ``traces.load`` the file, the time to
``analysis.diagnose`` the loaded trace, and the peak memory each allocates (tracemalloc, which
sees numpy's buffers), with diagnose/load ratios. Memory is compared with the loaded trace's
arrays ("trace MB"): the loader's own peak ("load MB") includes a read buffer sized to the
format's file limit whatever the file's size. Targets (issue 4): ratio <= 1.5 and linear
growth. Each figure is the median of REPEAT runs; machines are noisy, ratios less so.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import traces  # noqa: E402
from analysis import diagnose  # noqa: E402
from traces.format import MAX_CELLS  # noqa: E402
from traces.synthetic import synthetic_trace  # noqa: E402

STEPS = (100, 1_000, 10_000, 100_000)
PARAMS = (10, 100, 1_000)
REPEAT = 3


def build(steps: int, params: int):
    layers = params // 2  # weight + bias per Linear
    sizes = (16,) * layers + (4,)
    # activation=None keeps modules (and cells) down so the biggest sizes fit the format's cap.
    return synthetic_trace(num_steps=steps, layer_sizes=sizes, activation=None, seed=1)


def timed(fn) -> tuple[float, object]:
    gc.collect()
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def peak(fn) -> int:
    gc.collect()
    tracemalloc.start()
    out = fn()
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del out
    return top


def trace_bytes(trace) -> int:
    """Bytes of the loaded trace's arrays: the memory a reader must hold in any case."""
    steps = trace.steps
    arrays = [getattr(steps, name) for name in steps.__dataclass_fields__]
    arrays += [trace.events.kind, trace.events.row, trace.events.optimizer]
    return sum(a.nbytes for a in arrays)


def measure(path: Path) -> dict:
    load_t, diag_t = [], []
    for _ in range(REPEAT):
        t, trace = timed(lambda: traces.load(path))
        load_t.append(t)
        t, _ = timed(lambda trace=trace: diagnose(trace))
        diag_t.append(t)
    trace = traces.load(path)
    load_m = peak(lambda: traces.load(path))
    diag_m = peak(lambda: diagnose(trace))
    return {
        "load_s": statistics.median(load_t),
        "diag_s": statistics.median(diag_t),
        "load_mb": load_m / 2**20,
        "trace_mb": trace_bytes(trace) / 2**20,
        "diag_mb": diag_m / 2**20,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="up to 10,000 steps only")
    args = parser.parse_args(argv)
    steps_grid = STEPS[:3] if args.quick else STEPS
    print(
        f"{'steps':>8} {'params':>7} {'file MB':>8} {'load s':>8} {'diag s':>8} {'time x':>7} "
        f"{'load MB':>8} {'trace MB':>9} {'diag MB':>8} {'mem x':>6} {'diag ns/cell':>12}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for params in PARAMS:
            for steps in steps_grid:
                width = params + params // 2 + 2
                if steps * width > MAX_CELLS:
                    continue
                path = Path(tmp) / f"{steps}x{params}.trace"
                traces.save(build(steps, params), path)
                r = measure(path)
                cells = steps * params
                print(
                    f"{steps:8d} {params:7d} {path.stat().st_size / 2**20:8.1f} "
                    f"{r['load_s']:8.3f} {r['diag_s']:8.3f} {r['diag_s'] / r['load_s']:7.2f} "
                    f"{r['load_mb']:8.1f} {r['trace_mb']:9.1f} {r['diag_mb']:8.1f} "
                    f"{r['diag_mb'] / r['trace_mb']:6.2f} "
                    f"{1e9 * r['diag_s'] / cells:12.1f}",
                    flush=True,
                )
                path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
