import json
import subprocess
import sys
from pathlib import Path

import traces
from analysis.__main__ import main
from tests.analysis.helpers import synthetic_trace

ROOT = Path(__file__).resolve().parents[2]


def test_json_output_lists_findings_with_every_field(tmp_path, capsys):
    path = tmp_path / "run.trace"
    traces.save(synthetic_trace(num_steps=20, clear="never"), path)
    assert main(["diagnose", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["engine_version"]
    assert data["summary"]
    (f,) = [f for f in data["findings"] if f["code"] == "missing_zero_grad"]
    assert set(f) >= {
        "code",
        "severity",
        "title",
        "summary",
        "evidence",
        "fix",
        "glossary",
        "confidence",
    }
    assert f["fix"]["code"] and f["glossary"] == ["zero-grad", "gradient-accumulation", "optimizer"]
    assert {"statistic", "value", "threshold", "steps", "counterfactual"} <= set(f["evidence"])


def test_text_output_is_the_default(tmp_path, capsys):
    path = tmp_path / "run.trace"
    traces.save(synthetic_trace(num_steps=20), path)
    assert main(["diagnose", str(path)]) == 0
    assert "No problems found" in capsys.readouterr().out


def test_missing_file_exits_non_zero_with_one_line(tmp_path, capsys):
    assert main(["diagnose", str(tmp_path / "nope.trace")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file" in err


def test_corrupt_file_exits_non_zero_with_one_line(tmp_path, capsys):
    path = tmp_path / "bad.trace"
    path.write_bytes(b"GRADHUBT" + b"\x00" * 3)
    assert main(["diagnose", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a valid trace" in err


def test_module_runs_as_a_command(tmp_path):
    path = tmp_path / "run.trace"
    traces.save(synthetic_trace(num_steps=10, backward_per_step=3), path)
    out = subprocess.run(
        [sys.executable, "-m", "analysis", "diagnose", "--json", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert [f["code"] for f in json.loads(out.stdout)["findings"]] == ["gradient_accumulation"]
