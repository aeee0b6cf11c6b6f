"""Replay cost: capturing the program, replaying 200 steps, verifying every fix.

    python bench/replay.py [--steps 200] [--rounds N] [--only sigmoid]
    python bench/replay.py --capture [--rounds N] [--record-steps 5]

``--capture`` times what the program capture adds to a recorded run of the bench GPT: each round
runs the same recorded run (``--record-steps`` steps, after one warm-up step) in three fresh
processes side by side: without the capture, with it in the training process (the export on
the training path, as before), and with it in a forked child (the default). Figures: the wall
time of the ``traces.record`` block minus that of the run without capture (on a busy machine
mostly the neighbours), the training process's added CPU time, and the time the training
process itself spends in the capture (the export or the fork, appending the chunks, waiting
for the child at the end).

Three models: the deep-sigmoid MLP (16 layers, width 32: the vanishing-gradient scenario), a
small GPT (2 blocks, d_model 128, sequence 64, batch 8: ~0.5 M parameters, the issue's "model of
<= 1 M parameters") and the bench GPT of bench/recorder_overhead.py (4 blocks, d_model 256,
sequence 128, batch 16: 3.4 M parameters, over the worker's FLOPs cap, so only its capture and
a plain replay are timed). Baseline, measured in the same run: the same number of eager training
steps of the original model on one thread, so the ratio says what replaying through the
interpreter costs. One thread throughout, as in the worker.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import traces  # noqa: E402
from analysis import diagnose  # noqa: E402
from analysis.replay import program as program_module  # noqa: E402
from analysis.replay.program import load_program  # noqa: E402
from analysis.replay.train import Setup, run  # noqa: E402
from analysis.replay.verify import verify  # noqa: E402
from bench.recorder_overhead import GPT  # noqa: E402
from traces.recorder import program as recorder_program  # noqa: E402

CAPTURE_MODES = ("off", "in-process", "child")


def sigmoid_mlp():
    torch.manual_seed(24)
    layers = [nn.Linear(20, 32), nn.Sigmoid()]
    for _ in range(14):
        layers += [nn.Linear(32, 32), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(32, 1))
    x = torch.randn(256, 20)
    y = (x[:, 0] > 0).float().unsqueeze(1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def step():
        optimizer.zero_grad()
        F.binary_cross_entropy_with_logits(model(x), y).backward()
        optimizer.step()

    return model, step


def gpt(d: int, layers: int, seq: int, batch: int, lr: float = 3e-4):
    torch.manual_seed(0)
    model = GPT(vocab=512, d=d, layers=layers, heads=4, seq=seq)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    data = torch.randint(0, 512, (batch, seq + 1))

    def step():
        optimizer.zero_grad(set_to_none=True)
        logits = model(data[:, :-1])
        F.cross_entropy(logits.reshape(-1, logits.shape[-1]), data[:, 1:].reshape(-1)).backward()
        optimizer.step()

    return model, step


def measure(name: str, make, *, steps: int, record_steps: int, full: bool) -> dict:
    model, step = make()
    params = sum(p.numel() for p in model.parameters())
    path = Path(tempfile.mkdtemp()) / f"{name}.trace"
    with traces.record(path):
        for _ in range(record_steps):
            step()
    trace = traces.load(path)
    spec = trace.program.spec
    if spec["status"] != "captured":
        return {"name": name, "params": params, "error": spec.get("why")}
    model, step = make()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    eager = time.perf_counter() - started
    program = load_program(spec, trace.program.weights)
    started = time.perf_counter()
    run(trace, Setup(program), steps=steps)
    replay = time.perf_counter() - started
    out = {
        "name": name,
        "params": params,
        "capture_s": spec["capture_seconds"],
        "nodes": len(spec["nodes"]),
        "eager_s": eager,
        "replay_s": replay,
        "ratio": replay / eager,
    }
    if full:
        started = time.perf_counter()
        result = verify(trace, diagnose(trace), steps=steps)["replay"]
        out["verify_s"] = time.perf_counter() - started
        out["fixes"] = len(result["fixes"])
        out["top"] = result["fixes"][0]["fix"] if result["fixes"] else result["why"]
    return out


def capture_run(mode: str, record_steps: int) -> dict:
    """One recorded run of the bench GPT in this (fresh) process, with the capture ``mode``."""
    recorder = recorder_program.ProgramRecorder
    if mode == "off":
        recorder._program_capture = _no_capture
    recorder_program.PROGRAM_IN_CHILD = mode == "child"
    # The training process's own time in the capture: the export or the fork, and appending
    # the child's chunks (with the wait for it at the run's end).
    on_path = [0.0]
    for name in ("_program_capture", "_program_collect"):
        setattr(recorder, name, _timed(getattr(recorder, name), on_path))
    model, step = gpt(256, 4, 128, 16)
    step()  # warm-up: allocator and kernels
    path = Path(tempfile.mkdtemp()) / "capture.trace"
    wall, cpu = time.perf_counter(), time.process_time()
    with traces.record(path):
        for _ in range(record_steps):
            step()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    program = traces.load(path).program
    spec = program.spec if program is not None else {}
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "on_path_s": on_path[0],
        "status": spec.get("status", "none"),
        "capture_s": spec.get("capture_seconds"),
    }


def _no_capture(self, optimizer) -> None:
    self.program_done = True


def _timed(method, total: list[float]):
    def run(*args, **kwargs):
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            total[0] += time.perf_counter() - started

    return run


def capture_bench(rounds: int, record_steps: int) -> None:
    """Each round: the three modes in fresh processes, one after the other (side by side)."""
    rows: dict[str, list[dict]] = {mode: [] for mode in CAPTURE_MODES}
    for r in range(rounds):
        # The order turns each round, so a machine getting busier favours no mode.
        for mode in CAPTURE_MODES[r % 3 :] + CAPTURE_MODES[: r % 3]:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--capture-run",
                    mode,
                    "--record-steps",
                    str(record_steps),
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            rows[mode].append(json.loads(out.strip().splitlines()[-1]))
        base = rows["off"][-1]["wall_s"]
        print(
            f"round {r + 1}: "
            + ", ".join(
                f"{mode} {rows[mode][-1]['wall_s']:.2f} s (+{rows[mode][-1]['wall_s'] - base:.2f})"
                for mode in CAPTURE_MODES
            ),
            flush=True,
        )
    base = [row["wall_s"] for row in rows["off"]]
    print(f"bench GPT, {record_steps} recorded steps, median of {rounds} rounds:")
    for mode in CAPTURE_MODES:
        added = [row["wall_s"] - b for row, b in zip(rows[mode], base, strict=True)]
        cpu = [
            row["cpu_s"] - off["cpu_s"] for row, off in zip(rows[mode], rows["off"], strict=True)
        ]
        capture = [row["capture_s"] for row in rows[mode] if row["capture_s"] is not None]
        on_path = statistics.median(row["on_path_s"] for row in rows[mode])
        print(
            f"  {mode}: run {statistics.median(row['wall_s'] for row in rows[mode]):.2f} s, "
            f"added wall {statistics.median(added):+.2f} s, added CPU of the training process "
            f"{statistics.median(cpu):+.2f} s, capture on the training path {on_path:.2f} s"
            + (f", export {statistics.median(capture):.2f} s" if capture else "")
            + f" ({rows[mode][0]['status']})"
        )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=1, help="repeat and report medians")
    parser.add_argument("--capture", action="store_true", help="time the program capture only")
    parser.add_argument("--record-steps", type=int, default=5)
    parser.add_argument("--capture-run", choices=CAPTURE_MODES, help=argparse.SUPPRESS)
    parser.add_argument("--only", default="", help="only the models whose name contains this")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.capture_run:
        print(json.dumps(capture_run(args.capture_run, args.record_steps)))
        return 0
    if args.capture:
        capture_bench(args.rounds, args.record_steps)
        return 0
    # The bench GPT is over the worker's FLOPs cap: lift it here to time a plain replay.
    program_module.MAX_FLOPS_PER_STEP = 1e11
    cases = [
        ("deep-sigmoid MLP", sigmoid_mlp, True),
        ("small GPT (2x128, seq 64, batch 8)", lambda: gpt(128, 2, 64, 8), True),
        ("bench GPT (4x256, seq 128, batch 16)", lambda: gpt(256, 4, 128, 16), False),
    ]
    for name, make, full in cases:
        if args.only not in name:
            continue
        rows = [
            measure(name, make, steps=args.steps, record_steps=5, full=full)
            for _ in range(args.rounds)
        ]
        if "error" in rows[0]:
            print(f"{name}: no program ({rows[0]['error']})")
            continue
        med = {
            k: statistics.median(r[k] for r in rows)
            for k in rows[0]
            if isinstance(rows[0][k], float)
        }
        line = (
            f"{name}: {rows[0]['params']:,} params, {rows[0]['nodes']} nodes; export "
            f"{med['capture_s']:.2f} s (off the training path: see --capture); "
            f"{args.steps} steps: eager {med['eager_s']:.2f} s, "
            f"replay {med['replay_s']:.2f} s (x{med['ratio']:.2f})"
        )
        if full:
            line += f"; verify all fixes {med['verify_s']:.1f} s ({rows[0]['fixes']} fixes, top {rows[0]['top']})"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
