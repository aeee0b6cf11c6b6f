"""Helpers for the pipeline tests: real trace files from the synthetic builder, people, questions."""

from __future__ import annotations

import io
import itertools
import pickle
import time

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

import traces
from traces.synthetic import replace_steps, synthetic_trace

_counter = itertools.count()


def trace_bytes(**kwargs) -> bytes:
    """A valid trace file. Defaults: a small healthy MLP; kwargs go to synthetic_trace."""
    kwargs.setdefault("num_steps", 30)
    return traces.dumps(synthetic_trace(**kwargs))


def vanishing_trace_bytes(**kwargs) -> bytes:
    """A deep sigmoid MLP whose first layers get ~1e-7 of the last layer's gradient."""
    kwargs.setdefault("num_steps", 60)
    return trace_bytes(
        layer_sizes=(16, 32, 32, 32, 32, 4),
        activation="sigmoid",
        grad_scale=(1e-9, 1e-7, 1e-5, 1e-3, 1e-1),
        **kwargs,
    )


def missing_zero_grad_trace_bytes(**kwargs) -> bytes:
    kwargs.setdefault("num_steps", 40)
    return trace_bytes(clear="never", **kwargs)


def nan_loss_trace_bytes(num_steps: int = 30) -> bytes:
    """A run whose loss was NaN at every backward (flagged by the recorder, the lnan chunk)
    while every gradient stayed finite."""
    t = synthetic_trace(num_steps=num_steps)
    flags = np.ones(num_steps, dtype=bool)
    return traces.dumps(replace_steps(t, loss=np.full(num_steps, np.nan), loss_nan=flags))


def pickle_bytes() -> bytes:
    """A pickle that would run code if anyone unpickled it."""

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    return pickle.dumps(Evil())


def upload(data: bytes, name: str = "run.trace") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


class CountingStream(io.BytesIO):
    """A request body that counts the bytes the server reads from it."""

    bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size=-1):
        line = super().readline(size)
        self.bytes_read += len(line)
        return line


def post_multipart_counting(client, path: str, data: dict, **extra):
    """POST ``data`` as multipart through ``client``; returns the response and the body stream,
    whose ``bytes_read`` tells how much of the body the server read."""
    body = encode_multipart(BOUNDARY, data)
    stream = CountingStream(body)
    environ = {"CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": MULTIPART_CONTENT}
    environ |= {"PATH_INFO": path, "REQUEST_METHOD": "POST", "wsgi.input": stream}
    return client.request(**environ, **extra), stream


def wait_for(predicate, *, timeout: float = 30.0, interval: float = 0.1):
    """Poll ``predicate`` until it returns something truthy; returns it (or the last value)."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value
