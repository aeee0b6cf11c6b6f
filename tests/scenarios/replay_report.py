"""How the replay does on the scenario scripts: programs captured, diagnoses reproduced, top
verified fix against the label.

    python -m tests.scenarios.replay_report TRACE_DIR [--steps N] [--jobs 2]

TRACE_DIR holds ``<scenario>.trace`` files recorded with ``python -m traces.capture`` (one per
script in ``scripts/``). A scenario "applies" when its label's ``must`` codes include one a
replay can verify (``analysis.replay.verify.REPLAYABLE``). The top fix "matches the label" when
its finding is one of the scenario's ``must`` codes and its verdict is ``resolves``; more
loosely, when its fix is one of the candidates of a ``must`` code (``FAMILY``: clipping fixes
both exploding gradients and an lr too high) and it resolves what it was tried for.
"""

from __future__ import annotations

import argparse
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tests.scenarios.run import load_labels

# The candidate fixes of each finding code (analysis/replay/fixes.py).
FAMILY = {
    "vanishing_gradients": {"relu_kaiming", "gelu_kaiming", "layer_norm", "kaiming_init"},
    "exploding_gradients": {"clip_1", "lr_div10", "lr_no_spike", "scaled_init"},
    "lr_too_high": {"lr_div10", "lr_engine", "lr_no_spike", "clip_1"},
    "lr_too_low": {"lr_x10", "lr_engine"},
    "dead_relu": {"leaky_relu", "lr_div10", "lr_no_spike", "bias_init"},
    "saturated_activations": {"init_gain", "layer_norm"},
    "non_finite": {"clip_1", "lr_div10"},
}


NO_LOSS = "replay unavailable: cannot stand in for the loss"


def _one(args: tuple[str, str, list[str], int]) -> dict:
    name, path, must, steps = args
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import traces
    from analysis import diagnose
    from analysis.replay.verify import REPLAYABLE, verify

    out = {"name": name, "must": must}
    try:
        trace = traces.load(path)
    except (OSError, traces.TraceFormatError) as exc:
        return out | {"error": str(exc)}
    spec = trace.program.spec if trace.program else {}
    out["program"] = spec.get("status", "none")
    out["program_why"] = spec.get("why", "")
    out["loss"] = (spec.get("loss") or {}).get("kind")
    out["applies"] = bool(set(must) & set(REPLAYABLE))
    if not out["applies"]:
        return out
    result = verify(trace, diagnose(trace), steps=steps)["replay"]
    top = result["fixes"][0] if result["fixes"] else None
    return out | {
        "reproduced": result["reproduced"],
        "why": result["why"],
        "seconds": result.get("seconds"),
        "top": top and {k: top[k] for k in ("finding", "fix", "verdict")},
        "top_matches": bool(top and top["finding"] in must and top["verdict"] == "resolves"),
        "top_helps": bool(top and top["finding"] in must and top["verdict"] != "no_effect"),
        "top_in_family": bool(
            top
            and top["verdict"] == "resolves"
            and any(top["fix"] in FAMILY.get(code, ()) for code in must)
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("traces", type=Path)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write every row here")
    args = parser.parse_args()
    labels = load_labels()
    jobs = [
        (name, str(args.traces / f"{name}.trace"), list(label.get("must") or ()), args.steps)
        for name, label in labels.items()
    ]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(_one, jobs))
    for row in rows:
        print(json.dumps(row))
    if args.json:
        args.traces.joinpath(args.json).write_text(json.dumps(rows, indent=1))
    captured = [r for r in rows if r.get("program") == "captured"]
    applies = [r for r in rows if r.get("applies")]
    replayed = [r for r in applies if r.get("program") == "captured"]
    reproduced = [r for r in replayed if r.get("reproduced")]
    # The replay trains with the recorded loss; where the recorder could neither name it nor
    # write it as a program (SCHEMA.md section 7: an op a replay does not rebuild), there is
    # nothing faithful to train: no replayable program.
    stand_in = [r for r in replayed if not r.get("why", "").startswith(NO_LOSS)]
    print(f"\nscenarios: {len(rows)}; program captured: {len(captured)} ({_pct(captured, rows)})")
    for r in rows:
        if r.get("program") != "captured":
            print(f"  no program: {r['name']}: {r.get('program_why') or r.get('error', '')}")
    print(f"replay applies (a replayable must code): {len(applies)}; with a program: {len(replayed)}")
    print(f"reproduced: {len(reproduced)}/{len(replayed)} ({_pct(reproduced, replayed)})")
    for r in replayed:
        if not r.get("reproduced"):
            print(f"  not reproduced: {r['name']}: {r['why']}")
    print(
        f"reproduced where the replay can stand in for the loss: {len(reproduced)}/"
        f"{len(stand_in)} ({_pct(reproduced, stand_in)}); no stand-in: "
        + ", ".join(r["name"] for r in replayed if r not in stand_in)
    )
    matches = [r for r in reproduced if r["top_matches"]]
    helps = [r for r in reproduced if r["top_helps"]]
    print(f"top fix = labelled finding, resolves: {len(matches)}/{len(reproduced)} ({_pct(matches, reproduced)})")
    print(f"top fix = labelled finding, resolves or partial: {len(helps)}/{len(reproduced)}")
    family = [r for r in reproduced if r["top_in_family"]]
    print(f"top fix resolves and is a fix of a labelled code: {len(family)}/{len(reproduced)}")
    for r in reproduced:
        if not r["top_matches"]:
            print(f"  top fix: {r['name']}: {r['top']} (must {r['must']})")


def _pct(part: list, whole: list) -> str:
    return f"{100 * len(part) / len(whole):.0f} %" if whole else "—"


if __name__ == "__main__":
    main()
