"""Every glossary snippet runs with torch and prints exactly the output its file states; every
lesson step's main.py runs. Warnings count as errors: code we teach with should be clean."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LESSON = ROOT / "content" / "lesson" / "backprop.yaml"


@pytest.mark.slow
def test_every_snippet_and_lesson_step_runs_and_prints_what_the_text_claims():
    # One subprocess for everything (torch is imported once); each snippet has its own namespace.
    completed = subprocess.run(
        [sys.executable, "-m", "hub.glossary.snippet_runner", "--json", "--lesson", str(LESSON)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    results = json.loads(completed.stdout)
    glossary = [r for r in results if not r["slug"].startswith("lesson-step-")]
    assert len(glossary) >= 40 and len(results) - len(glossary) == 8
    failures = [
        f"{r['slug']}: {r['error'] or 'printed ' + repr(r['stdout']) + ' expected ' + repr(r['expected'])}"
        for r in results
        if not r["ok"]
    ]
    assert failures == []


def test_the_runner_reports_a_snippet_whose_output_differs(tmp_path):
    from hub.glossary.snippet_runner import check_files

    (tmp_path / "wrong.yaml").write_text("snippet: print(2 + 2)\noutput: '5'\n")
    (tmp_path / "raises.yaml").write_text("snippet: 1 / 0\noutput: ''\n")
    (tmp_path / "right.yaml").write_text("snippet: print(2 + 2)\noutput: |\n  4\n")
    results = {r["slug"]: r for r in check_files(sorted(tmp_path.glob("*.yaml")))}
    assert results["right"]["ok"]
    assert not results["wrong"]["ok"] and results["wrong"]["stdout"] == "4\n"
    assert not results["raises"]["ok"] and "ZeroDivisionError" in results["raises"]["error"]


def test_the_runner_counts_a_warning_in_lesson_code_as_an_error(tmp_path):
    from hub.glossary.snippet_runner import check_lesson

    lesson = tmp_path / "lesson.yaml"
    lesson.write_text(
        "steps:\n  - number: 1\n    code: |\n      import warnings\n"
        "      warnings.warn('deprecated')\n      print('still ran')\n"
    )
    (result,) = check_lesson(lesson)
    assert not result["ok"] and "UserWarning: deprecated" in result["error"]
