"""The Gradient Doctor on real training code: public programs run as their READMEs run them.

    python bench/realworld.py --checkouts /work/ext                # every program, every variant
    python bench/realworld.py --checkouts /work/ext mnist nanogpt  # only these programs
    python bench/realworld.py --checkouts /work/ext --healthy-only --jobs 2

``bench/realworld.yaml`` (the manifest) lists the programs: which checkout, the command its README
gives on a tiny CPU configuration, the generated data it reads, the healthy configurations, and
the mutated variants with the finding codes each must give. ``--checkouts DIR`` holds one folder
per checkout, named as the manifest names it (``DIR/pytorch+examples``, ...): get them with
``git clone`` of the repositories the manifest lists. Never commit their code.

Each run copies the program into a temporary folder (the checkout is never written), writes the
generated data there, applies the variant's mutation to the copy, runs
``python -m traces.capture -o run.trace <script> <args>`` and diagnoses the trace. Then it prints
one line per run and the figures:

- false alarms: healthy runs with an ``error`` or ``warning`` finding (bar: 0 of >= 30 runs from
  >= 6 code bases and frameworks);
- recall: mutated variants that gave one of their expected codes (bar: >= 0.95);
- precision: ``error`` / ``warning`` findings that were expected (healthy runs expect none; a
  variant expects its codes and tolerates the side effects the manifest allows).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import analysis  # noqa: E402
import traces  # noqa: E402
from bench.realcode import data, torchvision_shim  # noqa: E402
from bench.realcode.mutations import SOURCE_MUTATIONS, MutationError  # noqa: E402

MANIFEST = Path(__file__).with_name("realworld.yaml")
TIMEOUT = 600  # seconds per run; the slowest tiny configuration takes ~60 s on a busy core
PROBLEMS = ("error", "warning")
# What each kind of variant must give (any one of the codes), unless the manifest says more.
LR_FACTORS = {"lr_x100": 100.0, "lr_div1000": 1e-3}


@dataclass
class Run:
    program: dict
    variant: str  # "healthy" or a mutation name
    args: list[str]
    expect: list[str] = field(default_factory=list)  # any one of these must be found
    may: list[str] = field(default_factory=list)  # side effects that are not false alarms
    mutation: dict | None = None
    label: str = ""
    # filled in by execute
    codes: dict[str, str] = field(default_factory=dict)  # code -> severity
    error: str = ""
    seconds: float = 0.0
    loss: tuple[float, float] | None = None  # median loss over the first and last tenth of rows

    @property
    def problems(self) -> set[str]:
        return {code for code, severity in self.codes.items() if severity in PROBLEMS}

    @property
    def detected(self) -> bool:
        return bool(set(self.expect) & set(self.codes))

    @property
    def false_codes(self) -> set[str]:
        return self.problems - set(self.expect) - set(self.may)


def load_manifest(path: Path = MANIFEST) -> dict:
    return yaml.safe_load(path.read_text())


def plan(manifest: dict, names: list[str], *, healthy_only: bool) -> list[Run]:
    runs = []
    defaults = manifest.get("variant_defaults", {})
    for program in manifest["programs"]:
        if names and program["name"] not in names and program["checkout"] not in names:
            continue
        for i, extra in enumerate(program.get("runs", [[]])):
            args = _args(program, extra, program.get("lr"))
            runs.append(Run(program, "healthy", args, label=f"healthy#{i + 1}"))
        if healthy_only:
            continue
        for variant, spec in (program.get("mutations") or {}).items():
            spec = {**defaults.get(variant, {}), **(spec or {})}
            lr = program.get("lr")
            if variant in LR_FACTORS and lr is not None:
                lr = lr * LR_FACTORS[variant]
            runs.append(
                Run(
                    program,
                    variant,
                    _args(program, spec.get("args", []), lr),
                    expect=list(spec["expect"]),
                    may=list(spec.get("may", [])),
                    mutation=None if variant in LR_FACTORS and "kind" not in spec else spec,
                    label=variant,
                )
            )
    return runs


def _args(program: dict, extra: list, lr: float | None) -> list[str]:
    out = [str(a) for a in program.get("args", [])] + [str(a) for a in extra]
    return [a.replace("{lr}", f"{lr:g}") if lr is not None else a for a in out]


def _mutate(copy: Path, cwd: Path, run: Run) -> None:
    spec = run.mutation
    if not spec or spec.get("kind") == "args":  # a configuration of the program, no mutation
        return
    kind = spec.get("kind", run.variant)
    target = cwd / spec.get("file", run.program["script"])
    options = {k: v for k, v in spec.items() if k in ("target", "old", "new", "call")}
    try:
        target.write_text(SOURCE_MUTATIONS[kind](target.read_text(), **options))
    except MutationError as exc:
        raise MutationError(f"{run.program['name']} {run.variant}: {exc}") from exc


def execute(run: Run, checkouts: Path, shim: Path, keep: Path | None = None) -> Run:
    program = run.program
    base = ROOT if program["checkout"] == "@gradhub" else checkouts / program["checkout"]
    source = base / program.get("root", ".")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"rw-{program['name']}-") as tmp:
        copy = Path(tmp) / "code"
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns(".git", "*.ipynb", "assets"))
        cwd = copy / program.get("cwd", ".")
        for name in program.get("data", []):
            data.GENERATORS[name](cwd)
        try:
            _mutate(copy, cwd, run)
        except MutationError as exc:
            run.error = str(exc)
            return run
        paths = [str(ROOT)] + ([str(shim)] if program.get("torchvision") else [])
        paths += [str(copy / p) for p in program.get("pythonpath", [])]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(paths)}
        env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "WANDB_MODE": "disabled"}
        env |= {k: str(v) for k, v in (program.get("env") or {}).items()}
        for command in program.get("setup", []):
            subprocess.run(
                [sys.executable, *command.split()], cwd=cwd, env=env, timeout=TIMEOUT,
                capture_output=True, check=True,
            )  # fmt: skip
        out = Path(tmp) / "run.trace"
        command = [sys.executable, "-m", "traces.capture", "-o", str(out), program["script"]]
        done = None
        try:
            done = subprocess.run(
                command + run.args, cwd=cwd, env=env, timeout=TIMEOUT, capture_output=True,
                text=True,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            run.error = f"timed out after {TIMEOUT} s"
        else:
            if done.returncode != 0 and run.variant == "healthy":
                run.error = f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}"
        if out.exists():
            if keep is not None:  # for re-diagnosing without running again (--from-traces)
                shutil.copy(out, keep / trace_name(run))
            _diagnose(run, out, crashed=done is not None and done.returncode != 0)
        else:
            run.error = run.error or "no trace written"
    run.seconds = time.monotonic() - started
    return run


def trace_name(run: Run) -> str:
    return f"{run.program['name']}.{run.label}.trace"


def rediagnose(run: Run, folder: Path) -> Run:
    """Diagnose the trace a previous run kept (``--keep``): an engine change re-scored without
    running the programs again (their traces do not depend on the engine)."""
    path = folder / trace_name(run)
    if not path.exists():
        run.error = "no kept trace"
        return run
    started = time.monotonic()
    _diagnose(run, path, crashed=None)
    run.seconds = time.monotonic() - started
    return run


def _diagnose(run: Run, path: Path, *, crashed: bool | None) -> None:
    trace = traces.load(path)
    diagnosis = analysis.diagnose(trace)
    run.loss = _loss_trend(trace)
    run.codes = {f.code: f.severity.value for f in diagnosis.findings}
    if crashed is None:  # a kept trace: its run end says whether the program failed
        end = trace.run
        crashed = end.ended == "exception" or (
            end.ended == "exit" and end.exit_code not in (0, None)
        )
        if crashed and run.variant == "healthy":
            run.error = f"{end.ended}: {end.error[:60]}"
    if not diagnosis.facts["rows"] and run.variant == "healthy":
        run.error = run.error or "no optimizer step recorded"
    elif not diagnosis.facts["rows"] and crashed:
        # the mutation made the program crash before its first step (p.data.add_ of a None
        # .grad): Python's traceback says it, there is nothing to diagnose
        run.error = f"crashed before its first step: {trace.run.error[:60]}"
    # a variant that ran without a step (a manual update of zeroed gradients changes nothing)
    # and got no finding is scored as missed, not left out


def _loss_trend(trace) -> tuple[float, float] | None:
    """Whether the run learned, for the reader of the table: the median loss over its first and
    last tenth of rows (at least 2)."""
    loss = trace.steps.loss[np.isfinite(trace.steps.loss)]
    if loss.size < 4:
        return None
    k = max(2, loss.size // 10)
    return float(np.median(loss[:k])), float(np.median(loss[-k:]))


def verdict(run: Run) -> str:
    if run.error:
        return f"RUN FAILED ({run.error})"
    if not run.expect:  # healthy, or a variant that training shrugs off (`expect: []`)
        return "ok" if not run.false_codes else "FALSE ALARM"
    if not run.detected:
        return "MISSED"
    return "ok" if not run.false_codes else "found (+unexpected)"


def report(runs: list[Run]) -> str:
    lines = [f"{'program':20} {'variant':26} {'expected':34} {'findings':46} {'loss':13} verdict"]
    for run in runs:
        found = ", ".join(
            f"{code}{'' if sev in PROBLEMS else '(info)'}" for code, sev in run.codes.items()
        )
        expected = "|".join(run.expect) or "-"
        loss = f"{run.loss[0]:.2f}->{run.loss[1]:.2f}" if run.loss else "-"
        lines.append(
            f"{run.program['name']:20} {run.label:26} {expected:34} {found or '-':46} "
            f"{loss:13} {verdict(run)}  [{run.seconds:.0f} s]"
        )
    lines += ["", *figures(runs)]
    return "\n".join(lines)


def figures(runs: list[Run]) -> list[str]:
    ran = [r for r in runs if not r.error]
    healthy = [r for r in ran if r.variant == "healthy"]
    quiet = [r for r in ran if r.variant != "healthy" and not r.expect]
    mutated = [r for r in ran if r.expect]
    bases = sorted({r.program.get("code_base", r.program["checkout"]) for r in healthy})
    alarms = [r for r in healthy if r.false_codes]
    quiet_alarms = [r for r in quiet if r.false_codes]
    detected = [r for r in mutated if r.detected]
    flagged = sum(len(r.problems) for r in ran)
    wrong = sum(len(r.false_codes) for r in ran)
    failed = [r for r in runs if r.error]
    out = [
        f"healthy runs: {len(healthy)} from {len(bases)} code bases and frameworks "
        f"({', '.join(bases)})",
        f"false alarms (healthy runs with an error or warning): {len(alarms)} of {len(healthy)}"
        + (f" = {len(alarms) / len(healthy):.3f}" if healthy else ""),
    ]
    if quiet:
        out.append(
            f"variants that train fine (expect nothing) with an error or warning: "
            f"{len(quiet_alarms)} of {len(quiet)}"
        )
    if mutated:
        out.append(
            f"recall on mutated variants: {len(detected)} of {len(mutated)} = "
            f"{len(detected) / len(mutated):.3f}"
        )
    if flagged:
        out.append(
            f"precision of error/warning findings: {flagged - wrong} of {flagged} = "
            f"{(flagged - wrong) / flagged:.3f}"
        )
    if failed:
        out.append(f"runs that failed to run (not scored): {len(failed)}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("programs", nargs="*", help="program or checkout names (default: all)")
    parser.add_argument("--checkouts", type=Path, required=True, help="folder of checkouts")
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    parser.add_argument("--healthy-only", action="store_true")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (one per core)")
    parser.add_argument("--keep", type=Path, help="copy each run's trace into this folder")
    parser.add_argument(
        "--from-traces", type=Path, help="diagnose the traces --keep kept there; run nothing"
    )
    args = parser.parse_args(argv)
    runs = plan(load_manifest(args.manifest), args.programs, healthy_only=args.healthy_only)
    if args.from_traces is not None:
        print(report([rediagnose(r, args.from_traces) for r in runs]))
        return 0
    missing = sorted(
        {r.program["checkout"] for r in runs} - _present(args.checkouts) - {"@gradhub"}
    )
    if missing:
        print(f"missing checkouts under {args.checkouts}: {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rw-shim-") as shim:
        torchvision_shim.write(Path(shim))
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            done = []
            for run in pool.map(lambda r: execute(r, args.checkouts, Path(shim), args.keep), runs):
                print(f"  {run.program['name']} {run.label}: {verdict(run)}", file=sys.stderr)
                done.append(run)
    print(report(done))
    return 0


def _present(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else set()


if __name__ == "__main__":
    sys.exit(main())
