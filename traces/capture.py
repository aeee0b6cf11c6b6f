"""Record an unmodified training script: ``python -m traces.capture [-o OUT] [--every K] script.py
[args...]``.

The script runs the way ``python -m cProfile`` runs it: as ``__main__``, with ``sys.argv`` set to
the script and its arguments, ``sys.path[0]`` its directory, the working directory unchanged.
The recorder's hooks go in right after the script's own ``import torch`` (importing torch first
would change what the script sees, e.g. its own thread settings). The script's output and exit
status pass through; when it raises, calls ``sys.exit``, or is stopped by Ctrl-C or SIGTERM, the
trace is still complete and says how the run ended.
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.util
import os
import platform
import sys
import traceback
import types

from traces.distributed import per_rank_path

# Only the standard library is imported before the script runs (numpy and torch come later).

EXIT_USAGE = 2  # argparse's convention


class _AfterTorchImport(importlib.abc.MetaPathFinder):
    """Calls ``callback`` once, right after ``import torch`` has finished executing."""

    def __init__(self, callback) -> None:
        self.callback = callback

    def find_spec(self, name, path=None, target=None):
        if name != "torch":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("torch")
        if spec is None or spec.loader is None:
            return spec
        loader, callback = spec.loader, self.callback

        class Loader(importlib.abc.Loader):
            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                loader.exec_module(module)
                callback()

        spec.loader = Loader()
        return spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m traces.capture",
        description="Run a PyTorch training script and record a gradient trace of it.",
    )
    parser.add_argument(
        "-o", "--output", default=None, help="trace file to write (default: <script name>.trace)"
    )
    parser.add_argument(
        "--every",
        type=int,
        default=1,
        help="record every K-th optimizer step (default: every step)",
    )
    parser.add_argument("script", help="the training script")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the script")
    options = parser.parse_args(argv)
    if options.every < 1:
        parser.error("--every must be at least 1")
    script = options.script
    if not os.path.isfile(script):
        parser.error(f"no such script: {script}")
    output = options.output or os.path.splitext(os.path.basename(script))[0] + ".trace"
    output = os.path.abspath(output)  # the script may change directory before importing torch
    output = per_rank_path(output)  # torchrun: each rank its own file
    try:
        with open(script, "rb") as f:
            code = compile(f.read(), script, "exec")
    except (OSError, SyntaxError, ValueError) as exc:
        print(f"traces.capture: cannot run {script}: {exc}", file=sys.stderr)
        return 1
    return run(code, script=script, args=options.args, output=output, every=options.every)


def run(code: types.CodeType, *, script: str, args: list[str], output: str, every: int) -> int:
    command = [script, *args]
    main_module = types.ModuleType("__main__")
    main_module.__dict__.update(
        {
            "__file__": script,
            "__builtins__": __builtins__,
            "__spec__": None,
            "__package__": None,
            "__cached__": None,
        }
    )
    state: dict = {"recorder": None}

    def install() -> None:
        from traces import recorder

        state["recorder"] = recorder.start(
            output, every=every, command=tuple(command), main_globals=main_module.__dict__
        )

    finder = None
    if "torch" in sys.modules:
        install()
    else:
        finder = _AfterTorchImport(install)
        sys.meta_path.insert(0, finder)

    saved_main = sys.modules.get("__main__")
    sys.argv[:] = command
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    sys.modules["__main__"] = main_module
    from traces.runend import Terminated, sigterm_unwinds

    exc: BaseException | None = None
    try:
        with sigterm_unwinds():
            exec(code, main_module.__dict__)
    except BaseException as caught:  # noqa: BLE001 - every ending is recorded, then re-raised
        exc = caught
    finally:
        if finder is not None and finder in sys.meta_path:
            sys.meta_path.remove(finder)
        if saved_main is not None:
            sys.modules["__main__"] = saved_main
    _finish(state["recorder"], exc, output=output, command=command, every=every)
    if isinstance(exc, Terminated):
        from traces.runend import die_of_sigterm

        die_of_sigterm()
    if exc is not None:
        raise exc
    return 0


def _finish(recorder, exc, *, output: str, command: list[str], every: int) -> None:
    from traces.runend import outcome

    ended, code, error = outcome(exc)
    if recorder is not None:
        recorder.finish(ended, exit_code=code, error=error)
        return
    # The script never imported torch: an empty trace that still says how it ended.
    from traces import format as trace_format

    stream = trace_format.TraceStream(output)
    stream.close(
        {
            "format": "gradhub-trace",
            "version": 1,
            "run": {
                "torch_version": "",
                "python_version": platform.python_version(),
                "platform": platform.platform(),
                "command": command,
                "every": every,
                "total_steps": 0,
                "ended": ended.value,
                "exit_code": code,
                "error": error,
            },
            "params": [],
            "modules": [],
            "groups": [],
            "optimizers": [],
            "extra": {},
        }
    )


def cli() -> None:
    """The command line: exit with the script's own status."""
    try:
        sys.exit(main())
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException:
        # The script's own exception: print its traceback as Python would, exit with status 1.
        traceback.print_exc()
        sys.exit(1)


if __name__ == "__main__":
    cli()
