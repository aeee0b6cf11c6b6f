"""``python -m analysis diagnose TRACE [--json]``: print the diagnosis of a trace file.
``python -m analysis replay TRACE [--steps N] [--json]``: replay the recorded model and verify
the candidate fixes of its findings (needs torch).

A distributed run's files go together: ``diagnose run.trace`` (or ``run.rank0.trace``) reads
``run.rank0.trace``, ``run.rank1.trace``, … and diagnoses rank 0, comparing the other ranks
with it (``ranks_disagree``); several files may also be named.

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
from traces.distributed import rank_files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("diagnose", help="diagnose a trace file")
    d.add_argument("trace", nargs="+", help="path to a .trace file (or a run's rank files)")
    d.add_argument("--json", action="store_true", help="print JSON instead of text")
    r = sub.add_parser("replay", help="replay the recorded model and verify fixes")
    r.add_argument("trace", help="path to a .trace file")
    r.add_argument("--steps", type=_steps, default=200, help="training steps per replay (200)")
    r.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)

    import traces

    paths = args.trace if isinstance(args.trace, list) else [args.trace]
    if len(paths) == 1 and (not os.path.isfile(paths[0]) or ".rank" in os.path.basename(paths[0])):
        paths = [str(p) for p in rank_files(paths[0])] or paths  # run.trace -> its rank files
    loaded = []
    for path in paths:
        trace = _load(traces, path)
        if trace is None:
            return 2
        loaded.append(trace)
    loaded.sort(key=lambda t: t.extra.get("rank", 0) if isinstance(t.extra.get("rank"), int) else 0)
    trace, peers = loaded[0], loaded[1:]
    diagnosis = diagnose(trace, peers=peers)
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


def _load(traces, path: str):
    """The trace at ``path``, or None after a one-line message on stderr."""
    if not os.path.isfile(path):
        print(f"error: no such file: {path}", file=sys.stderr)
        return None
    try:
        return traces.load(path)
    except FileNotFoundError:
        print(f"error: no such file: {path}", file=sys.stderr)
    except traces.TraceFormatError as exc:
        print(f"error: {path} is not a valid trace: {exc}", file=sys.stderr)
    except OSError as exc:
        print(f"error: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
    return None


if __name__ == "__main__":
    sys.exit(main())
