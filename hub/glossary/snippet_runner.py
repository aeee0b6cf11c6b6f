"""Run glossary snippets and compare what they print with the `output` their file states.

    python -m hub.glossary.snippet_runner                # check every content/glossary/*.yaml
    python -m hub.glossary.snippet_runner --write relu   # (re)record relu.yaml's output
    python -m hub.glossary.snippet_runner --lesson content/lesson/backprop.yaml  # + main.py

One process runs every snippet in turn, each in a fresh namespace (torch is imported once).
Only our own content files are run: never user input. No Django needed.
"""

import argparse
import contextlib
import io
import json
import sys
import traceback
import warnings
from pathlib import Path

import yaml

CONTENT_DIR = Path(__file__).resolve().parents[2] / "content" / "glossary"


def normalise_output(text: str) -> str:
    return "\n".join(line.rstrip() for line in (text or "").strip().splitlines())


def run_snippet(code: str) -> tuple[str, str | None]:
    """(stdout, error traceback or None) of one snippet, in its own namespace.

    A warning counts as an error: code we teach with should not trigger one.
    """
    buffer = io.StringIO()
    namespace = {"__name__": "__snippet__"}
    try:
        with contextlib.redirect_stdout(buffer), warnings.catch_warnings():
            warnings.simplefilter("error")
            exec(compile(code, "torch.py", "exec"), namespace)  # noqa: S102 - our content only
    except Exception:
        return buffer.getvalue(), traceback.format_exc(limit=3)
    return buffer.getvalue(), None


def check_files(paths: list[Path]) -> list[dict]:
    results = []
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        stdout, error = run_snippet(data.get("snippet", ""))
        results.append(
            {
                "slug": path.stem,
                "ok": error is None
                and normalise_output(stdout) == normalise_output(data.get("output", "")),
                "stdout": stdout,
                "expected": data.get("output", ""),
                "error": error,
            }
        )
    return results


def check_lesson(path: Path) -> list[dict]:
    """Run each step's main.py of a lesson file: it must run without an error or a warning."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    results = []
    for step in data["steps"]:
        stdout, error = run_snippet(step.get("code", ""))
        results.append(
            {"slug": f"lesson-step-{step['number']}", "ok": error is None, "stdout": stdout,
             "expected": "", "error": error}
        )  # fmt: skip
    return results


def _write_output(path: Path, stdout: str) -> None:
    text = path.read_text(encoding="utf-8")
    head = text.split("\noutput: |\n")[0].rstrip("\n")
    block = "".join(f"  {line}\n" if line else "\n" for line in stdout.rstrip("\n").split("\n"))
    path.write_text(f"{head}\noutput: |\n{block}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("slugs", nargs="*", help="terms to run (default: all)")
    parser.add_argument("--write", action="store_true", help="record the printed output")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--dir", type=Path, default=CONTENT_DIR)
    parser.add_argument("--lesson", type=Path, help="also run a lesson file's main.py steps")
    args = parser.parse_args(argv)
    paths = (
        [args.dir / f"{slug}.yaml" for slug in args.slugs]
        if args.slugs
        else sorted(args.dir.glob("*.yaml"))
    )
    results = check_files(paths)
    lesson_results = check_lesson(args.lesson) if args.lesson else []
    if args.json:
        json.dump(results + lesson_results, sys.stdout)
        return 0
    failed = 0
    for path, result in zip(
        paths + [None] * len(lesson_results), results + lesson_results, strict=True
    ):
        if args.write and path is not None and result["error"] is None:
            _write_output(path, result["stdout"])
        status = "ok" if result["ok"] else ("ERROR" if result["error"] else "DIFFERS")
        failed += status != "ok"
        print(f"--- {result['slug']}: {status}")
        print(result["error"] or result["stdout"], end="")
    return 1 if failed and not args.write else 0


if __name__ == "__main__":
    sys.exit(main())
