"""How a run ended, and SIGTERM handling that lets it end cleanly. Standard library only: the
capture runner uses this before the script has imported anything."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator


class Terminated(BaseException):
    """Raised in the main thread when SIGTERM arrives, so the run unwinds and the trace ends."""


def outcome(exc: BaseException | None):
    """(RunEnd, exit_code, error) for the exception that ended a run (None: it returned)."""
    from traces.model import RunEnd

    if exc is None:
        return RunEnd.COMPLETED, None, ""
    if isinstance(exc, SystemExit):
        code = exc.code
        if code is None:
            return RunEnd.EXIT, 0, ""
        if isinstance(code, int):
            return RunEnd.EXIT, code, ""
        return RunEnd.EXIT, 1, str(code)[:1000]  # sys.exit("message") exits with status 1
    if isinstance(exc, Terminated):
        return RunEnd.INTERRUPTED, None, "SIGTERM"
    if isinstance(exc, KeyboardInterrupt):
        return RunEnd.INTERRUPTED, None, "KeyboardInterrupt"
    text = f"{type(exc).__name__}: {exc}".strip().splitlines()
    return RunEnd.EXCEPTION, None, (text[0] if text else type(exc).__name__)[:1000]


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """While inside, SIGTERM raises ``Terminated`` in the main thread (unless the program
    already handles SIGTERM), so the run unwinds through ``finally`` blocks."""
    main_pid = os.getpid()
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return

    def handler(signum, frame):
        if os.getpid() != main_pid:  # a forked worker: die as if we were not here
            die_of_sigterm()
            return
        raise Terminated()

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGTERM) is handler:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def die_of_sigterm() -> None:
    """End the process the way SIGTERM would have, so the parent sees the signal."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)
