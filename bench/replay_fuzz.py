"""Fuzz the replay's program loader at volume: N mutated programs (default 100,000), each loaded
and, when it loads, run with every op replaced by a recorder of its name.

    python bench/replay_fuzz.py [-n 100000] [--seed 0] [--loss]

With ``--loss`` the mutations go to a hand-written loss's program (the program chunk's
``loss.program``) inside a valid forward program, and what loads is run through ``run_loss``.
Prints how many were refused (ProgramError, one line), loaded, crashed (any other exception:
must be 0) and called an op outside the allowlist (must be 0). The hypothesis tests in
tests/analysis/replay/test_program_loader.py run a few hundred of the same kind in the suite.
"""

from __future__ import annotations

import argparse
import copy
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from analysis.replay import execute  # noqa: E402
from analysis.replay.loss_program import run_loss  # noqa: E402
from analysis.replay.ops import ALLOWED_OPS  # noqa: E402
from analysis.replay.program import ProgramError, load_program  # noqa: E402
from tests.analysis.replay.test_loss_program_loader import _loss_spec, _with_loss  # noqa: E402
from tests.analysis.replay.test_program_loader import HOSTILE_OPS, _spec  # noqa: E402

OPS = sorted(ALLOWED_OPS) + HOSTILE_OPS + ["", None, 3, "aten.linear", "getitem"]
FIELDS = ["op", "args", "kwargs", "kind", "name", "shape", "module"]
SPEC_KEYS = ["version", "status", "inputs", "optimizer", "mutations", "init"]
LOSS_KEYS = ["version", "inputs", "nodes"]
INPUT_FIELDS = ["kind", "index", "shape", "dtype", "form", "node", "min", "max"]


def value(rng: random.Random, names: list[str], depth: int = 0):
    pick = rng.randrange(11)
    if pick == 0:
        return None
    if pick == 1:
        return rng.choice([True, False])
    if pick == 2:
        return rng.choice([0, 1, -1, 2**31, -(2**62), 7])
    if pick == 3:
        return rng.choice([0.5, float("inf"), float("nan"), -1e308])
    if pick == 4:
        return rng.choice(["", "x", "builtins.eval", "a" * 100])
    if pick == 5:
        return {"node": rng.choice(names + ["nowhere", ""])}
    if pick == 6:
        return {
            rng.choice(["dtype", "device", "layout", "memory_format", "float", "code"]): rng.choice(
                ["float32", "cpu", "object", "inf", "os"]
            )
        }
    if pick == 7 and depth < 5:
        return [value(rng, names, depth + 1) for _ in range(rng.randrange(5))]
    if pick == 8:
        return rng.choice(OPS)
    if pick == 9:
        return [rng.randrange(1, 2**14) for _ in range(rng.randrange(1, 5))]
    return {"node": rng.choice(names)}


def mutate(rng: random.Random, spec: dict, keys: list[str] = SPEC_KEYS) -> dict:
    spec = copy.deepcopy(spec)
    names = [n["name"] for n in spec["nodes"]]
    for _ in range(rng.randrange(1, 4)):
        action = rng.randrange(7)
        nodes = spec["nodes"] if isinstance(spec.get("nodes"), list) else []
        dicts = [n for n in nodes if isinstance(n, dict)]
        if action == 0 and dicts:
            rng.choice(dicts)[rng.choice(FIELDS)] = value(rng, names)
        elif action == 1 and nodes:
            nodes.insert(rng.randrange(len(nodes) + 1), copy.deepcopy(rng.choice(nodes)))
        elif action == 2 and nodes:
            nodes.pop(rng.randrange(len(nodes)))
        elif action == 3 and len(nodes) > 1:
            i, j = rng.randrange(len(nodes)), rng.randrange(len(nodes))
            nodes[i], nodes[j] = nodes[j], nodes[i]
        elif action == 4:
            spec[rng.choice(keys)] = value(rng, names)
        elif action == 5 and isinstance(spec.get("inputs"), list) and spec["inputs"]:
            item = rng.choice(spec["inputs"])
            if isinstance(item, dict):
                item[rng.choice(INPUT_FIELDS)] = value(rng, names)
        else:
            node = rng.choice(dicts) if dicts else {}
            node["op"] = rng.choice(OPS)
    return spec


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--loss", action="store_true", help="fuzz the loss program")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    base, weights = _with_loss(_loss_spec()) if args.loss else _spec()
    called_outside = crashed = refused = loaded = 0
    calls: list[str] = []

    def fake(name):
        calls.append(name)
        return lambda *a, **k: torch.zeros(1)

    execute._op = fake
    started = time.perf_counter()
    for i in range(args.n):
        if args.loss:
            spec = copy.deepcopy(base)
            spec["loss"]["program"] = mutate(rng, _loss_spec(), LOSS_KEYS)
        else:
            spec = mutate(rng, base)
        try:
            program = load_program(spec, weights)
        except ProgramError as exc:
            refused += 1
            assert "\n" not in str(exc)
            continue
        except Exception as exc:  # noqa: BLE001 - what the fuzzing looks for
            crashed += 1
            print(f"crash #{i}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        loaded += 1
        calls.clear()
        try:
            state = {t: torch.zeros(1) for t in program.shapes}
            users = [torch.zeros(1) for x in program.inputs if x.kind == "user_input"]
            execute.forward(program, state, users)
            if program.loss_program is not None:
                lp = program.loss_program
                targets = {x.node: torch.zeros(1) for x in lp.inputs if x.kind == "target"}
                run_loss(lp, [torch.zeros(1)] * 64, targets)
        except ProgramError:
            pass
        except Exception as exc:  # noqa: BLE001
            crashed += 1
            print(f"crash in forward #{i}: {type(exc).__name__}: {exc}", file=sys.stderr)
        called_outside += sum(name not in ALLOWED_OPS for name in calls)
    seconds = time.perf_counter() - started
    print(
        f"{args.n} programs in {seconds:.1f} s: {refused} refused, {loaded} loaded, "
        f"{crashed} crashes, {called_outside} calls outside the allowlist"
    )
    return 1 if crashed or called_outside else 0


if __name__ == "__main__":
    sys.exit(main())
