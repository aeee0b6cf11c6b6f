"""Replay cost: capturing the program, replaying 200 steps, verifying every fix.

    python bench/replay.py [--steps 200] [--rounds N] [--only sigmoid]

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
import os
import statistics
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


def gpt(d: int, layers: int, seq: int, batch: int):
    torch.manual_seed(0)
    model = GPT(vocab=512, d=d, layers=layers, heads=4, seq=seq)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=1, help="repeat and report medians")
    parser.add_argument("--only", default="", help="only the models whose name contains this")
    args = parser.parse_args()
    torch.set_num_threads(1)
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
            f"{name}: {rows[0]['params']:,} params, {rows[0]['nodes']} nodes; capture "
            f"{med['capture_s']:.2f} s; {args.steps} steps: eager {med['eager_s']:.2f} s, "
            f"replay {med['replay_s']:.2f} s (x{med['ratio']:.2f})"
        )
        if full:
            line += f"; verify all fixes {med['verify_s']:.1f} s ({rows[0]['fixes']} fixes, top {rows[0]['top']})"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
