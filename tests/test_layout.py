"""The code stays readable in one sitting: no module of ours past 600 lines (migrations and
tests aside)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 600
PACKAGES = ("hub", "traces", "analysis", "bench")


def test_no_module_is_over_600_lines():
    too_long = {
        str(path.relative_to(ROOT)): lines
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
        and (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}
