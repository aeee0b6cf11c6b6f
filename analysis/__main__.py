"""``python -m analysis diagnose TRACE [--json]``: print the diagnosis of a trace file.
``python -m analysis replay TRACE [--steps N] [--json]``: replay the recorded model and verify
the candidate fixes of its findings (needs torch).

Exit 0 whenever the trace was read, whatever was found; 2 with a one-line message when it
cannot be read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from analysis.engine import ENGINE_VERSION, diagnose
from analysis.report import render_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("diagnose", help="diagnose a trace file")
    d.add_argument("trace", help="path to a .trace file")
    d.add_argument("--json", action="store_true", help="print JSON instead of text")
    r = sub.add_parser("replay", help="replay the recorded model and verify fixes")
    r.add_argument("trace", help="path to a .trace file")
    r.add_argument("--steps", type=_steps, default=200, help="training steps per replay (200)")
    r.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)

    import traces

    if not os.path.isfile(args.trace):
        print(f"error: no such file: {args.trace}", file=sys.stderr)
        return 2
    try:
        trace = traces.load(args.trace)
    except FileNotFoundError:
        print(f"error: no such file: {args.trace}", file=sys.stderr)
        return 2
    except traces.TraceFormatError as exc:
        print(f"error: {args.trace} is not a valid trace: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot read {args.trace}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    diagnosis = diagnose(trace)
    if args.command == "replay":
        return _replay(trace, diagnosis, args)
    if args.json:
        data = diagnosis.to_dict()
        data["engine_version"] = ENGINE_VERSION
        text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    else:
        text = render_text(diagnosis)
    return _write(text)


def _replay(trace, diagnosis, args) -> int:
    from analysis.replay import report, verify

    result = verify.verify(trace, diagnosis, steps=args.steps)
    if args.json:
        return _write(json.dumps(result, indent=2, allow_nan=False) + "\n")
    return _write(report.render_text(result))


def _steps(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError("--steps must be between 1 and 10000")
    return value


def _write(text: str) -> int:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `... | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
