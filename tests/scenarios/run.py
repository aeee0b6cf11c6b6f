"""Capture and diagnose the scenario scripts through the two command lines, in parallel.

python -m tests.scenarios.run [NAME ...]     # print each scenario's codes and verdict
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCRIPTS = HERE / "scripts"
LABELS = HERE / "labels.yaml"
# Two cores: one scenario per core; each torch process is told to use one thread.
JOBS = int(os.environ.get("SCENARIO_JOBS", "2"))
TIMEOUT = 120  # seconds per command; a scenario trains for 1-3 s plus ~4 s of torch start-up


@dataclass
class Outcome:
    name: str
    must: set[str]
    may: set[str]
    held_out: bool
    codes: set[str] = field(default_factory=set)
    severities: dict[str, str] = field(default_factory=dict)
    error: str = ""

    @property
    def missing(self) -> set[str]:
        return self.must - self.codes

    @property
    def unexpected(self) -> set[str]:
        return self.codes - self.must - self.may

    @property
    def ok(self) -> bool:
        return not self.error and not self.missing and not self.unexpected


def load_labels() -> dict[str, dict]:
    labels = yaml.safe_load(LABELS.read_text())
    for name in labels:
        if not (SCRIPTS / f"{name}.py").is_file():
            raise FileNotFoundError(f"labels.yaml names {name} but scripts/{name}.py is missing")
    return labels


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    env["MKL_NUM_THREADS"] = "1"
    return env


def run_one(name: str, label: dict, workdir: Path) -> Outcome:
    out = Outcome(
        name=name,
        must=set(label.get("must") or ()),
        may=set(label.get("may") or ()),
        held_out=bool(label.get("held_out")),
    )
    trace = workdir / f"{name}.trace"
    script = SCRIPTS / f"{name}.py"
    env = _env()
    cap = subprocess.run(
        [sys.executable, "-m", "traces.capture", "-o", str(trace), str(script)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    if not trace.is_file():
        out.error = f"capture failed ({cap.returncode}): {cap.stderr.strip()[-500:]}"
        return out
    diag = subprocess.run(
        [sys.executable, "-m", "analysis", "diagnose", "--json", str(trace)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    if diag.returncode != 0:
        out.error = f"diagnose failed ({diag.returncode}): {diag.stderr.strip()[-500:]}"
        return out
    data = json.loads(diag.stdout)
    out.codes = {f["code"] for f in data["findings"]}
    out.severities = {f["code"]: f["severity"] for f in data["findings"]}
    return out


def run_all(names: list[str] | None = None, *, jobs: int = JOBS) -> list[Outcome]:
    labels = load_labels()
    names = names or list(labels)
    keep = os.environ.get("SCENARIO_TRACES")  # keep the traces there (for inspection)
    with tempfile.TemporaryDirectory(prefix="scenarios-") as tmp:
        workdir = Path(keep) if keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(run_one, n, labels[n], workdir) for n in names]
            return [f.result() for f in futures]


def main(argv: list[str]) -> int:
    outcomes = run_all(argv or None)
    for o in outcomes:
        verdict = "ok " if o.ok else "BAD"
        extra = ""
        if o.missing:
            extra += f" missing={sorted(o.missing)}"
        if o.unexpected:
            extra += f" unexpected={sorted(o.unexpected)}"
        if o.error:
            extra += f" error={o.error}"
        print(f"{verdict} {o.name}: {sorted(o.codes)}{extra}")
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
