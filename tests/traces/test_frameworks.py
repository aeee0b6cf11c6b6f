"""The big training frameworks as their users run them, under ``python -m traces.capture``:
HF Trainer (a tiny randomly initialised GPT-2, nothing downloaded), PyTorch Lightning and HF
accelerate. Healthy → no error or warning; with gradient accumulation → that note only.

The scripts live in tests/traces/frameworks/; all six runs go two at a time, once per session.
"""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import analysis
import traces
from traces.model import RunEnd

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).resolve().parent / "frameworks"
TIMEOUT = 300  # seconds per run: ~10 s each alone, more with the suite on two cores
RUNS = {
    # name: (script, accumulation steps, optimizer steps the script takes)
    "hf_trainer": ("hf_trainer.py", 1, 24),
    "hf_trainer_accumulation": ("hf_trainer.py", 4, 24),
    "lightning": ("lightning_fit.py", 1, 30),
    "lightning_accumulation": ("lightning_fit.py", 4, 30),
    "accelerate": ("accelerate_loop.py", 1, 30),
    "accelerate_accumulation": ("accelerate_loop.py", 4, 30),
}


def _capture(name: str, workdir: Path) -> subprocess.CompletedProcess:
    script, accumulation, _ = RUNS[name]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}  # proves nothing is downloaded
    return subprocess.run(
        [sys.executable, "-m", "traces.capture", "-o", str(workdir / f"{name}.trace"),
         str(SCRIPTS / script), str(accumulation)],
        capture_output=True, text=True, timeout=TIMEOUT, env=env, cwd=workdir,
    )  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("frameworks")
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = dict(zip(RUNS, pool.map(lambda name: _capture(name, workdir), RUNS), strict=True))
    return workdir, done


@pytest.mark.parametrize("name", list(RUNS))
def test_framework_run_is_recorded_and_judged_by_what_it_does(runs, name):
    workdir, done = runs
    assert done[name].returncode == 0, done[name].stderr[-3000:]
    trace = traces.load(workdir / f"{name}.trace")
    assert trace.run.ended is RunEnd.COMPLETED
    assert trace.num_rows == RUNS[name][2]
    diagnosis = analysis.diagnose(trace)
    codes = [f.code for f in diagnosis.findings]
    expected = ["gradient_accumulation"] if RUNS[name][1] > 1 else []
    assert codes == expected, diagnosis.summary
