"""Gradient traces of PyTorch training runs: the file format, its reader and the recorder.

    import traces
    trace = traces.load("run.trace")          # validated; needs numpy only, no torch
    with traces.record("run.trace"):           # record a training loop from code
        train()

``python -m traces.capture -o run.trace train.py [args]`` records an unmodified script.
Importing this package imports nothing heavy: not torch, not Django, and numpy only when the
format is first used (so ``python -m traces.capture`` leaves the script's own imports alone).
"""

from importlib import import_module

# name -> module that defines it
_EXPORTS = {
    "load": "traces.format",
    "loads": "traces.format",
    "save": "traces.format",
    "dumps": "traces.format",
    "validate": "traces.format",
    "TraceFormatError": "traces.format",
    "MAX_FILE_BYTES": "traces.format",
    "Trace": "traces.model",
    "RunEnd": "traces.model",
    "EventKind": "traces.model",
    "FORMAT_VERSION": "traces.model",
    "record": "traces.recorder",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'traces' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
