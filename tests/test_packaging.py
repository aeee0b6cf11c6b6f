"""The wheel users install into their training environment: `pip install 'gradhub-traces[record]'`.

Built from this checkout, installed into a fresh venv (torch comes from constraints.txt's pin),
then used as the README says, from a folder outside the checkout: record an unmodified script
with `python -m traces.capture`, diagnose it with `python -m analysis`.
"""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

TRAIN_WITHOUT_ZERO_GRAD = """
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
x, y = torch.randn(64, 8), torch.randn(64, 1)
for step in range(40):
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()  # no optimizer.zero_grad(): the gradients pile up
    optimizer.step()
"""


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    completed = subprocess.run(args, capture_output=True, text=True, timeout=900, **kwargs)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", out, ROOT])
    (built,) = out.glob("gradhub_traces-*.whl")
    return built


def test_the_wheel_holds_every_subpackage_of_the_libraries_and_nothing_of_the_site(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    packages = {name.rsplit("/", 1)[0] for name in names if name.endswith("__init__.py")}
    on_disk = {
        str(init.parent.relative_to(ROOT))
        for root in ("traces", "analysis")
        for init in (ROOT / root).rglob("__init__.py")
    }
    assert packages == on_disk
    assert "analysis/detectors/__init__.py" in names
    assert not [name for name in names if name.startswith(("hub/", "tests/", "bench/"))]


@pytest.mark.slow
def test_the_installed_wheel_records_and_diagnoses_from_any_folder(wheel, tmp_path):
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv])
    python = str(venv / "bin" / "python")
    _run(
        [python, "-m", "pip", "install", "--quiet", f"{wheel}[record]",
         "-c", ROOT / "constraints.txt"]
    )  # fmt: skip
    work = tmp_path / "work"
    work.mkdir()
    (work / "train.py").write_text(TRAIN_WITHOUT_ZERO_GRAD)

    _run([python, "-m", "traces.capture", "-o", "run.trace", "train.py"], cwd=work)
    report = _run([python, "-m", "analysis", "diagnose", "run.trace", "--json"], cwd=work)

    codes = [finding["code"] for finding in json.loads(report.stdout)["findings"]]
    assert "missing_zero_grad" in codes
    site = _run([python, "-c", "import analysis, traces; print(analysis.__file__)"], cwd=work)
    assert str(venv) in site.stdout  # the wheel's copy, not this checkout's
    no_site = subprocess.run([python, "-c", "import hub"], cwd=work, capture_output=True)
    assert no_site.returncode != 0
