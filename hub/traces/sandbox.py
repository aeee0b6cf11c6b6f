"""The sandbox: the engine runs on an uploaded trace in a forked child with capped memory and
time, and answers in JSON over a pipe (never pickle: the data stems from an upload)."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import resource
import select
import signal
import time
import traceback
from dataclasses import dataclass

import psutil

import analysis
import analysis.plots
import analysis.report
from traces.format import TraceFormatError, load

logger = logging.getLogger(__name__)

# A plot name becomes a URL part: keep it to a safe alphabet.
PLOT_NAME_ALPHABET = set("abcdefghijklmnopqrstuvwxyz0123456789-_")

# What one diagnosis may add to the address space of its forked child, on top of what it
# inherited. Uploads are capped at settings.TRACE_MAX_UPLOAD_BYTES (64 MiB, ~100k steps x 1000
# parameters); a 50k-step trace needs a few hundred MB (bench/pipeline.py), so 2 GiB leaves
# headroom without letting one trace take the machine or kill the worker.
DIAGNOSE_MEMORY_BYTES = 2 * 2**30
# Wall-clock budget of one diagnosis, below the task's soft time limit (hub/traces/tasks.py).
DIAGNOSE_TIMEOUT_SECONDS = 75
# The replay that verifies fixes trains the user's model several times (analysis.replay):
# minutes at most on the models it accepts (its own caps on parameters and FLOPs per step),
# in the same memory cap; below the replay task's soft time limit (hub/traces/tasks.py).
REPLAY_TIMEOUT_SECONDS = 240
# Exit codes of the forked child, so the parent can tell what happened.
_EXIT_OK = 0
_EXIT_FORMAT = 3
_EXIT_MEMORY = 4
_EXIT_ENGINE = 5


class EngineFailure(Exception):
    """The diagnosis could not be made; ``str(exc)`` is a reason a person can read."""


@dataclass(frozen=True)
class EngineResult:
    diagnosis: dict  # analysis.Diagnosis.to_dict()
    markdown: str  # analysis.report.render_markdown()
    plots: dict[str, str]  # plot name -> SVG text


def _render_plots(trace, diagnosis) -> dict[str, str]:
    rendered = analysis.plots.render_svgs(trace, diagnosis)
    return {
        str(name): str(svg)
        for name, svg in rendered.items()
        if set(str(name)) <= PLOT_NAME_ALPHABET and svg
    }


def _engine_child(path: str, max_bytes: int, memory_bytes: int, fd: int, job) -> None:
    """In the forked child: cap memory, load + validate, run ``job(trace)``; answer in JSON."""
    code = _EXIT_ENGINE
    try:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGQUIT):
            signal.signal(sig, signal.SIG_DFL)  # not the worker's handlers
        limit = psutil.Process().memory_info().vms + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            trace = load(path, max_bytes=max_bytes)
        except TraceFormatError as exc:
            _write_all(fd, json.dumps({"error": str(exc)}).encode())
            code = _EXIT_FORMAT
            return
        _write_all(fd, json.dumps(job(trace), allow_nan=False).encode())
        code = _EXIT_OK
    except MemoryError:
        code = _EXIT_MEMORY
    except BaseException as exc:  # an engine bug: name it, never take the worker down
        logger.exception("diagnosis engine failed on %s", path)
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" in {os.path.basename(last[0].filename)}:{last[0].lineno}" if last else ""
        try:
            _write_all(fd, json.dumps({"crash": f"{type(exc).__name__}{where}"}).encode())
        except BaseException:
            pass
    finally:
        os._exit(code)


def _diagnose_job(trace, *, with_plots: bool, peer_paths=(), max_bytes: int = 0) -> dict:
    # The other ranks of a distributed run, read in this same capped child. A rank file that
    # cannot be read is left out of the comparison, not a failure of rank 0's diagnosis.
    peers = []
    for peer in peer_paths:
        with contextlib.suppress(TraceFormatError):
            peers.append(load(peer, max_bytes=max_bytes))
    diagnosis = analysis.diagnose(trace, peers=peers)
    return {
        "diagnosis": diagnosis.to_dict(),
        "markdown": analysis.report.render_markdown(diagnosis),
        "plots": _render_plots(trace, diagnosis) if with_plots else {},
    }


def _plots_job(trace, *, diagnosis_data: dict) -> dict:
    return {"plots": _render_plots(trace, analysis.Diagnosis.from_dict(diagnosis_data))}


def _replay_job(trace, *, diagnosis_data: dict, steps: int) -> dict:
    from analysis.replay.verify import verify

    result = verify(trace, analysis.Diagnosis.from_dict(diagnosis_data), steps=steps)
    return result | {"plots": _replay_plots(result)}


def _replay_plots(result: dict) -> dict[str, str]:
    """The verified fix's before/after plot; a plot that cannot be drawn is left out, never
    the replay's result."""
    try:
        svg = analysis.plots.verified_fix_svg(result)
    except Exception:  # noqa: BLE001 - the verdicts stand without their plot
        logger.exception("the verified fix's plot could not be drawn")
        return {}
    return {analysis.plots.VERIFIED_FIX_PLOT: svg} if svg else {}


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read_until_eof(fd: int, *, deadline: float) -> bytes | None:
    """Everything the child writes, or None when the deadline passes first."""
    chunks = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _run_in_child(
    *, path: str, max_bytes: int, job, memory_bytes: int, timeout_seconds: float
) -> dict:
    """Run ``job(loaded trace)`` in a forked child with an address-space cap and a deadline.

    Raises TraceFormatError (the file is invalid) or EngineFailure (too big, too slow, or an
    engine bug). A plain os.fork (Celery's pool children may not start multiprocessing
    children); the result comes back as JSON over a pipe: never pickle, the data stems from an
    upload.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns from here
        os.close(read_fd)
        _engine_child(path, max_bytes, memory_bytes, write_fd, job)
    os.close(write_fd)
    status = None
    try:
        raw = _read_until_eof(read_fd, deadline=time.monotonic() + timeout_seconds)
        if raw is None:
            raise EngineFailure(
                f"The diagnosis took longer than {timeout_seconds:.0f} seconds and was stopped. "
                "Record fewer steps (python -m traces.capture --every 10 ...) and upload again."
            )
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(read_fd)
        if status is None:  # timed out or interrupted (soft time limit): stop the child
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    exitcode = os.waitstatus_to_exitcode(status)
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = None
    if data is not None and "error" in data:
        raise TraceFormatError(data["error"])
    if data is not None and "crash" in data:
        raise EngineFailure(
            f"The diagnosis engine failed on this trace ({data['crash']}). "
            "The error is logged for the maintainers."
        )
    if exitcode == _EXIT_MEMORY or (data is None and exitcode == -signal.SIGKILL):
        raise EngineFailure(
            f"The diagnosis needed more than {memory_bytes // 2**20} MB of memory and was "
            "stopped. Record fewer steps (python -m traces.capture --every 10 ...) and upload "
            "again."
        )
    if data is None:
        raise EngineFailure(f"The diagnosis stopped unexpectedly (exit code {exitcode}).")
    return data


def engine_run(
    *,
    path: str,
    max_bytes: int,
    with_plots: bool = True,
    peer_paths: list[str] | tuple[str, ...] = (),
    memory_bytes: int = DIAGNOSE_MEMORY_BYTES,
    timeout_seconds: float = DIAGNOSE_TIMEOUT_SECONDS,
) -> EngineResult:
    """Load, validate and diagnose the trace file at ``path`` in a capped child; ``peer_paths``
    are the other ranks' files of a distributed run (compared with it)."""
    data = _run_in_child(
        path=path,
        max_bytes=max_bytes,
        job=functools.partial(
            _diagnose_job, with_plots=with_plots, peer_paths=tuple(peer_paths), max_bytes=max_bytes
        ),
        memory_bytes=memory_bytes,
        timeout_seconds=timeout_seconds,
    )
    if "diagnosis" not in data:
        raise EngineFailure("The diagnosis engine returned nothing.")
    return EngineResult(
        diagnosis=data["diagnosis"], markdown=data["markdown"], plots=data.get("plots") or {}
    )


def engine_plots(
    *,
    path: str,
    max_bytes: int,
    diagnosis_data: dict,
    memory_bytes: int = DIAGNOSE_MEMORY_BYTES,
    timeout_seconds: float = DIAGNOSE_TIMEOUT_SECONDS,
) -> dict[str, str]:
    """The SVG plots of a stored diagnosis (``Diagnosis.to_dict()``), drawn in a capped child."""
    data = _run_in_child(
        path=path,
        max_bytes=max_bytes,
        job=functools.partial(_plots_job, diagnosis_data=diagnosis_data),
        memory_bytes=memory_bytes,
        timeout_seconds=timeout_seconds,
    )
    return data.get("plots") or {}


def engine_replay(
    *,
    path: str,
    max_bytes: int,
    diagnosis_data: dict,
    steps: int,
    memory_bytes: int = DIAGNOSE_MEMORY_BYTES,
    timeout_seconds: float = REPLAY_TIMEOUT_SECONDS,
) -> dict:
    """``{"replay": {...}, "plots": {name: svg}}``: the recorded model replayed and the
    diagnosis's fixes verified (analysis.replay.verify), with the verified fix's plot, in a
    capped child like the diagnosis."""
    import analysis.replay.verify  # noqa: F401 - torch loads once in the worker, not per child

    data = _run_in_child(
        path=path,
        max_bytes=max_bytes,
        job=functools.partial(_replay_job, diagnosis_data=diagnosis_data, steps=steps),
        memory_bytes=memory_bytes,
        timeout_seconds=timeout_seconds,
    )
    if not isinstance(data.get("replay"), dict):
        raise EngineFailure("The replay returned nothing.")
    plots = data.get("plots") if isinstance(data.get("plots"), dict) else {}
    data["plots"] = {
        str(name): str(svg)
        for name, svg in plots.items()
        if set(str(name)) <= PLOT_NAME_ALPHABET and svg
    }
    return data
