"""Gradient traces of PyTorch training runs: the file format, its reader and the recorder.

    import traces
    trace = traces.load("run.trace")          # validated; needs numpy only, no torch
    with traces.record("run.trace"):           # record a training loop from code
        train()

``python -m traces.capture -o run.trace train.py [args]`` records an unmodified script.
Importing this package imports neither torch nor Django.
"""

from traces.format import MAX_FILE_BYTES, TraceFormatError, dumps, load, loads, save, validate
from traces.model import FORMAT_VERSION, EventKind, RunEnd, Trace

__all__ = [
    "FORMAT_VERSION",
    "MAX_FILE_BYTES",
    "EventKind",
    "RunEnd",
    "Trace",
    "TraceFormatError",
    "dumps",
    "load",
    "loads",
    "record",
    "save",
    "validate",
]


def __getattr__(name: str):
    # The recorder needs torch; load it only when asked for.
    if name == "record":
        from traces.recorder import record

        return record
    raise AttributeError(f"module 'traces' has no attribute {name!r}")
