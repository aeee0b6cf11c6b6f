"""The recorder: global torch hooks that fill a trace while an unmodified script trains.

One ``Recorder`` per process. What it hooks, and why:
- global optimizer step pre/post hooks: a row per ``optimizer.step()`` of any optimizer class;
  gradient and weight statistics read just before the step, update norms just after;
- ``torch.autograd.backward`` (what ``loss.backward()`` calls), wrapped: counts top-level
  backward passes (nested/reentrant calls are skipped), sees the loss, and at a window's first
  backward compares each ``.grad`` with what it held before (``(id, _version)`` and, when it
  changed, its norm) to tell cleared from stale gradients;
- ``Optimizer.zero_grad`` / ``Module.zero_grad`` and the clipping helpers, wrapped: a CLEAR
  event, and the fresh gradient is measured before it is cleared or clipped;
- global module forward hooks (not the full backward hook, which breaks in-place ops on module
  outputs): FORWARD events, module order, activation statistics on a slice of the batch;
- parameter / module registration hooks: modules created after the optimizer are found;
- ``GradScaler.step`` / ``GradScaler.scale``, wrapped: skipped AMP steps, the unscaled loss.

All statistics of a step are computed on the device with ``torch._foreach_norm`` and a few
small reductions, then moved to the host in one transfer. Rows are streamed to the file in
chunks, so memory stays bounded and a killed run leaves what it recorded so far.

The package: ``hooks`` (what torch calls), ``discovery`` (modules, parameters, optimizers and
their names), ``measurements`` (gradients, weights and updates around a step), ``statistics``
(the reductions), ``writer`` (rows and META), ``state`` (the typed records they share) and
``constants``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

import torch

from traces import format as trace_format
from traces.distributed import per_rank_path
from traces.model import RunEnd
from traces.recorder.constants import (  # noqa: F401 - importable from traces.recorder
    ACT_SAMPLE_ELEMENTS,
    ACTIVATIONS,
    AFTER,
    BEFORE,
    DEAD_PROBE_ROWS,
    GRAPH_WALK_NODES,
    MAX_WINDOW_EVENTS,
    SATURATING,
    SATURATION_MARGIN,
    UPDATE_SAMPLE_ELEMENTS,
    UPDATE_SAMPLE_RUN,
)
from traces.recorder.discovery import Discovery
from traces.recorder.hooks import Hooks
from traces.recorder.measurements import Measurements
from traces.recorder.program import ProgramChild, ProgramRecorder
from traces.recorder.state import (
    ManualSnapshot,
    ScaledLoss,
    StepMeasurements,
    TrackedGroup,
    TrackedModule,
    TrackedOptimizer,
    TrackedParam,
    Window,
)
from traces.recorder.statistics import Sampler
from traces.recorder.writer import RowWriter
from traces.runend import Terminated, die_of_sigterm, outcome, sigterm_unwinds

__all__ = ["Recorder", "record", "start"]

_active: Recorder | None = None
_active_lock = threading.Lock()


class Recorder(Hooks, Discovery, Measurements, RowWriter, ProgramRecorder):
    """Records one process's training into ``path``. Use ``record()`` or ``traces.capture``."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        every: int = 1,
        command: tuple[str, ...] = (),
        flush_rows: int = 256,
    ) -> None:
        if every < 1:
            raise ValueError("every must be >= 1")
        self.every = every
        self.command = tuple(command)
        self.pid = os.getpid()
        self.stream = trace_format.TraceStream(path, flush_rows=flush_rows)
        self.main_globals: dict | None = None

        self.modules: list[TrackedModule] = []
        self.module_index: dict[int, int] = {}  # id(module) -> index in modules
        self.roots: list[int] = []  # module indices of top-level modules
        self.params: list[TrackedParam] = []
        self.param_index: dict[int, int] = {}  # id(tensor) -> index in params
        self.optimizers: list[TrackedOptimizer] = []
        self.optimizer_index: dict[int, int] = {}  # id(optimizer) -> index in optimizers
        self.groups: list[TrackedGroup] = []

        self.total_steps = 0
        self.ever_stepped = False
        self.tree_dirty = False
        self.depth = 0
        self.order_counter = 0
        self.backward_depth = 0
        self.backward_calls = 0
        self.clear_seen = False  # a zero_grad wrapper ran since the last look at .grad
        self.zeroed: set[int] = set()  # params whose .grad a zero_grad call filled with zeros
        self.scaled: ScaledLoss | None = None
        self.step_state: StepMeasurements | None = None  # from the step pre hook to the post hook
        self.manual: ManualSnapshot | None = None
        self.capped = False
        self.finished = False
        self.failure = ""  # set when the recorder itself failed
        self.window = Window(recording=True)
        # The program (traces.recorder.program): taken once, at the first optimizer step.
        self.program_done = False
        self.program_inputs: dict[int, tuple] = {}  # id(top-level module) -> (module, args)
        self.program_loss: dict | None = None
        # id(top-level module) -> its flattened outputs (the loss program's leaves)
        self.program_outputs: dict[int, list] = {}
        self.exporting = False  # our own torch.export runs the forward: hooks stand aside
        self.program_child: ProgramChild | None = None  # exporting it in a forked process

        self.buffers: dict[int, torch.Tensor] = {}  # small weights before the step
        self.sampler = Sampler()
        self._handles: list = []
        self._patches: list[tuple[object, str, object]] = []
        self._lock = threading.RLock()
        self.stream.flush(self.meta(RunEnd.RUNNING))

    def finish(self, ended: RunEnd, *, exit_code: int | None = None, error: str = "") -> None:
        """Write the last rows and the final META; idempotent."""
        with self._lock:
            if self.finished:
                return
            try:
                with contextlib.suppress(Exception):
                    self._manual_boundary()
                with contextlib.suppress(Exception):
                    self._walk_roots()
                with contextlib.suppress(Exception):
                    self._program_collect()  # waits for the export process, if still running
                with contextlib.suppress(Exception):
                    self._program_never_taken()
                self.finished = True
                self.stream.close(self.meta(ended, exit_code, error))
            finally:
                self.finished = True
                self.uninstall()


def start(
    path: str | os.PathLike,
    *,
    every: int = 1,
    command: tuple[str, ...] = (),
    main_globals: dict | None = None,
) -> Recorder:
    """Install a recorder for this process (one at a time)."""
    global _active
    with _active_lock:
        if _active is not None and not _active.finished:
            raise RuntimeError("a trace is already being recorded in this process")
        recorder = Recorder(path, every=every, command=command)
        if main_globals is None and "__main__" in sys.modules:
            main_globals = vars(sys.modules["__main__"])  # names top-level modules and tensors
        recorder.main_globals = main_globals
        recorder.install()
        _active = recorder
        return recorder


@contextlib.contextmanager
def record(path: str | os.PathLike, *, every: int = 1) -> Iterator[Recorder]:
    """Record the training done inside the block into ``path``::

        with traces.record("run.trace"):
            train()

    Exceptions, ``sys.exit`` and Ctrl-C inside the block are recorded as how the run ended and
    propagate unchanged. SIGTERM (when the program has no handler of its own) is recorded as
    an interruption and then ends the process as it would have.
    """
    recorder = start(per_rank_path(path), every=every, command=tuple(sys.argv))
    try:
        with sigterm_unwinds():
            yield recorder
    except Terminated:
        recorder.finish(RunEnd.INTERRUPTED, error="SIGTERM")
        die_of_sigterm()
        raise
    except BaseException as exc:
        ended, code, error = outcome(exc)
        recorder.finish(ended, exit_code=code, error=error)
        raise
    recorder.finish(RunEnd.COMPLETED)
