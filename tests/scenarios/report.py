"""Precision and recall of the engine per finding code over the scenario scripts.

    python -m tests.scenarios.report            # capture + diagnose every scenario, then score
    python -m tests.scenarios.report --stats    # also print each trace's key statistics

A finding counts as a true positive when its code is one of the scenario's ``must`` codes, a
false negative when a ``must`` code is missing, and a false positive when the code is in
neither ``must`` nor ``may``; ``may`` codes are neutral. Held-out scenarios (written after the
thresholds were fixed) are scored on their own as well.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from analysis.findings import CODES
from tests.scenarios.run import Outcome, run_all


def score(outcomes: list[Outcome]) -> dict[str, dict[str, float]]:
    table = {}
    for code in CODES:
        tp = sum(code in o.must and code in o.codes for o in outcomes)
        fn = sum(code in o.must and code not in o.codes for o in outcomes)
        fp = sum(code in o.codes and code not in o.must | o.may for o in outcomes)
        table[code] = {
            "tp": tp,
            "fn": fn,
            "fp": fp,
            "precision": tp / (tp + fp) if tp + fp else float("nan"),
            "recall": tp / (tp + fn) if tp + fn else float("nan"),
        }
    return table


def print_score(title: str, outcomes: list[Outcome]) -> None:
    table = score(outcomes)
    print(f"\n{title} ({len(outcomes)} scenarios, {sum(o.ok for o in outcomes)} exactly right)")
    print(f"{'code':28} {'TP':>3} {'FN':>3} {'FP':>3} {'precision':>10} {'recall':>8}")
    for code, row in table.items():
        if row["tp"] + row["fn"] + row["fp"] == 0:
            continue
        print(
            f"{code:28} {row['tp']:3d} {row['fn']:3d} {row['fp']:3d} "
            f"{row['precision']:10.2f} {row['recall']:8.2f}"
        )
    tp = sum(r["tp"] for r in table.values())
    fn = sum(r["fn"] for r in table.values())
    fp = sum(r["fp"] for r in table.values())
    print(
        f"{'all codes':28} {tp:3d} {fn:3d} {fp:3d} "
        f"{tp / (tp + fp) if tp + fp else float('nan'):10.2f} "
        f"{tp / (tp + fn) if tp + fn else float('nan'):8.2f}"
    )
    for o in outcomes:
        if not o.ok:
            print(
                f"  wrong: {o.name}: missing {sorted(o.missing)} unexpected "
                f"{sorted(o.unexpected)} {o.error}"
            )


def trace_stats(path: Path) -> dict[str, float]:
    """The statistics the thresholds are set on (what we measured on the scenarios)."""
    import traces
    from analysis.detectors._signal import forward_signal
    from analysis.detectors._updates import update_stats
    from analysis.detectors._view import TraceView, nanmedian, pooled_norm
    from analysis.detectors.exploding_gradients import _depth_profile

    t = traces.load(path)
    v = TraceView(t)
    s = t.steps
    out: dict[str, float] = {}
    ratios, gw, early, typical, drop, spike, collapse = [], [], [], [], [], [], []
    size, growth = [], []
    for a in v.actors:
        depth = _depth_profile(v, a, v.sample(v.rows_of(a)))
        if depth is not None and len(depth.layers) >= 2:
            size.append(nanmedian(depth.size))
            growth.append(nanmedian(depth.growth))
        sig = forward_signal(v, a)
        if sig is not None:
            collapse.append(float(np.median(sig.drawdown)))
        rows = v.rows_of(a)
        layers = v.hidden_layers(a)
        if len(layers) >= 2:
            first = pooled_norm(s.fresh_grad_norm, rows, layers[0].params)
            last = pooled_norm(s.fresh_grad_norm, rows, layers[-1].params)
            with np.errstate(all="ignore"):
                ratios.append(np.nanmedian(first / last))
        params = v.params_of(a)
        with np.errstate(all="ignore"):
            gw.append(
                np.nanmax(
                    pooled_norm(s.fresh_grad_norm, rows, params)
                    / pooled_norm(s.weight_norm, rows, params)
                )
            )
        st = update_stats(v, a)
        if st is not None:
            early.append(st.early)
            typical.append(st.typical)
            if st.loss is not None:
                drop.append(st.loss.rel_drop)
                spike.append(st.loss.spike)
    relu = [i for i, m in enumerate(t.modules) if m.activation in ("relu", "relu6")]
    sat = [i for i, m in enumerate(t.modules) if m.activation in ("sigmoid", "tanh")]
    with np.errstate(all="ignore"):
        out["first/last"] = min(ratios) if ratios else np.nan
        out["max g/w"] = max(gw) if gw else np.nan
        out["size"] = np.nanmax(size) if size else np.nan
        out["growth"] = np.nanmax(growth) if growth else np.nan
        out["upd early"] = max(early) if early else np.nan
        out["upd run"] = min(typical) if typical else np.nan
        out["loss drop"] = min(drop) if drop else np.nan
        out["loss spike"] = max(spike) if spike else np.nan
        out["dead max"] = (
            float(np.nanmax(np.nanmedian(s.act_dead_frac[:, relu], axis=0))) if relu else np.nan
        )
        out["collapse"] = min(collapse) if collapse else np.nan
        out["sat max"] = (
            float(np.nanmax(np.nanmedian(s.act_sat_frac[:, sat], axis=0))) if sat else np.nan
        )
    return out


def print_stats(outcomes: list[Outcome], workdir: Path) -> None:
    keys = None
    for o in outcomes:
        path = workdir / f"{o.name}.trace"
        if not path.is_file():
            continue
        stats = trace_stats(path)
        if keys is None:
            keys = list(stats)
            print("\n" + f"{'scenario':40}" + "".join(f"{k:>11}" for k in keys))
        print(f"{o.name:40}" + "".join(f"{stats[k]:11.3g}" for k in keys))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.scenarios.report")
    parser.add_argument("--stats", action="store_true", help="print per-trace statistics")
    parser.add_argument("names", nargs="*")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="scenario-report-") as tmp:
        workdir = Path(os.environ.get("SCENARIO_TRACES") or tmp)
        os.environ["SCENARIO_TRACES"] = str(workdir)
        outcomes = run_all(args.names or None)
        developed = [o for o in outcomes if not o.held_out]
        held = [o for o in outcomes if o.held_out]
        print_score("Development scenarios", developed)
        if held:
            print_score("Held-out scenarios", held)
            print_score("All scenarios", outcomes)
        if args.stats:
            print_stats(outcomes, workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
