import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_every_lesson_main_py_runs_without_errors_or_warnings():
    completed = subprocess.run(
        [sys.executable, "-m", "hub.glossary.snippet_runner", "--json",
         "--lesson", str(ROOT / "content" / "lesson" / "backprop.yaml")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    results = json.loads(completed.stdout)
    assert len(results) == 8
    assert [r["slug"] + ": " + r["error"] for r in results if not r["ok"]] == []
