"""The model's forward as data, taken once at the first optimizer step (the trace's ``prog``
and ``wini`` chunks, SCHEMA.md section 7): what ``python -m analysis replay`` rebuilds from an
allowlist of operators to verify a fix. Never the user's data: shapes, dtypes and summary
statistics of the inputs and the target only.

``torch.export`` traces the top-level module that the stepping optimizer trains, with the
batch it last saw; the loss is named by walking the autograd graph from the loss back to the
model's output. Any failure (data-dependent control flow, an operator or argument we cannot
write as data) is recorded as ``{"status": "unavailable", "why": ...}``; the run goes on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import itertools
import math
import operator
import os
import select
import signal
import struct
import sys
import time
import warnings

import numpy as np
import torch

from traces.encoding import encode_program
from traces.model import PROGRAM_VERSION, Program
from traces.recorder.loss import identify_loss
from traces.recorder.loss_program import loss_of_module, loss_programs
from traces.recorder.tensors import DTYPE_NAMES, tensor_summary

# Initial weights are stored whole up to this many bytes (float32); above, per-tensor mean/std
# only (a replay then draws them from a normal with those moments). 64 MiB: the default,
# an eighth of the trace's own size limit.
PROGRAM_WEIGHT_BYTES = 64 * 2**20
# A program with more nodes than this is not written (a replay of it would be over any cap).
PROGRAM_MAX_NODES = 20_000
# torch.export's first call in a process costs seconds (it imports its tracing machinery and
# warms up fake tensors): on the CPU it runs in a forked child while the run goes on
# (ProgramRecorder). False: always in-process.
PROGRAM_IN_CHILD = True
# The child's own deadline (SIGALRM ends it), which is also how long the end of a run waits for
# it at most: a child that hangs (a lock another thread held at the fork) costs no more.
PROGRAM_CHILD_SECONDS = 60
# Above this many bytes of parameters and buffers the export stays in-process: while the child
# lives, every page of weights and gradients the run writes is copied (up to about twice this).
PROGRAM_CHILD_MAX_STATE_BYTES = 256 * 2**20
_LENGTH = struct.Struct("<Q")  # the child's message: its length, then the encoded chunks


class ProgramUnavailable(Exception):
    """The forward cannot be written as data; the message says why."""


def export_program(
    module: torch.nn.Module,
    args: tuple,
    *,
    module_index: dict[int, int],
    param_index: dict[int, int],
    weight_bytes: int = PROGRAM_WEIGHT_BYTES,
) -> tuple[dict, dict[str, np.ndarray]]:
    """The program of ``module`` run on ``args`` and its initial weights (name -> float32
    array; empty when over ``weight_bytes``, then ``spec["init"]`` holds their statistics).
    ``module_index`` / ``param_index`` map ``id()`` to the trace's module / parameter index.
    Raises ProgramUnavailable with the reason."""
    started = time.perf_counter()
    if not all(isinstance(a, torch.Tensor) for a in args) or not args:
        raise ProgramUnavailable("the model's forward takes non-tensor arguments")
    try:
        with warnings.catch_warnings(), torch.random.fork_rng(devices=[]):
            warnings.simplefilter("ignore")
            exported = torch.export.export(module, tuple(args))
    except Exception as exc:  # noqa: BLE001 - any export failure is a reason, not a crash
        reason = f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:300]
        raise ProgramUnavailable(f"torch.export failed ({reason})") from exc
    graph = exported.graph
    if len(graph.nodes) > PROGRAM_MAX_NODES:
        raise ProgramUnavailable(f"the graph has {len(graph.nodes)} nodes (> {PROGRAM_MAX_NODES})")

    paths = {path: module_index.get(id(sub), -1) for path, sub in module.named_modules()}
    named = dict(module.named_parameters()) | dict(module.named_buffers())
    constants = dict(getattr(exported, "constants", {}) or {})
    inputs, state = [], {}
    user = iter(args)
    for spec in exported.graph_signature.input_specs:
        kind = spec.kind.name.lower()  # parameter | buffer | constant_tensor | user_input
        name = spec.arg.name
        entry: dict = {"node": name, "kind": kind, "target": spec.target}
        if kind in ("parameter", "buffer"):
            tensor = named.get(spec.target)
            if tensor is None:
                raise ProgramUnavailable(f"cannot find {spec.target!r} in the model")
            entry["param"] = param_index.get(id(tensor)) if kind == "parameter" else None
            state[spec.target] = tensor
        elif kind == "constant_tensor":
            state[spec.target] = constants[spec.target]
        elif kind == "user_input":
            entry.update(tensor_summary(next(user)))
        else:
            raise ProgramUnavailable(f"unsupported graph input kind {kind}")
        inputs.append(entry)

    nodes = [_node(node, paths) for node in graph.nodes]
    spec = {
        "version": PROGRAM_VERSION,
        "status": "captured",
        "module_type": type(module).__name__,
        "root": module_index.get(id(module), -1),
        "nodes": nodes,
        "inputs": inputs,
        "mutations": {
            out.arg.name: out.target
            for out in exported.graph_signature.output_specs
            if out.kind.name == "BUFFER_MUTATION"
        },
    }
    weights = {
        target: tensor.detach().to("cpu", torch.float32).numpy().copy()
        if tensor.is_floating_point()
        else tensor.detach().to("cpu", torch.int64).numpy().copy()
        for target, tensor in state.items()
    }
    total = sum(array.nbytes for array in weights.values())
    spec["weights"] = "stored" if total <= weight_bytes else "statistics"
    if total > weight_bytes:
        spec["init"] = {
            target: {"mean": float(array.mean()), "std": float(array.std())}
            for target, array in weights.items()
            if array.size
        }
        weights = {}
    spec["capture_seconds"] = round(time.perf_counter() - started, 4)
    return spec, weights


def _node(node, paths: dict[str, int]) -> dict:
    out: dict = {"name": node.name, "kind": node.op}
    if node.op == "call_function":
        target = node.target
        if target is operator.getitem:
            out["op"] = "getitem"
        elif isinstance(target, torch._ops.OpOverload):
            out["op"] = str(target)
        else:
            raise ProgramUnavailable(f"operator {getattr(target, '__name__', target)!r}")
        out["args"] = [_arg(a) for a in node.args]
        out["kwargs"] = {k: _arg(v) for k, v in node.kwargs.items()}
        stack = node.meta.get("nn_module_stack") or {}
        innermost = list(stack.values())[-1][0] if stack else ""
        out["module"] = paths.get(innermost, -1)
    elif node.op == "output":
        out["args"] = [_arg(a) for a in node.args]
    elif node.op != "placeholder":
        raise ProgramUnavailable(f"graph node kind {node.op!r}")
    value = node.meta.get("val")
    if isinstance(value, torch.Tensor):
        out["shape"] = [int(n) for n in value.shape]
        out["dtype"] = DTYPE_NAMES.get(value.dtype, str(value.dtype))
    return out


def _arg(value):
    if isinstance(value, torch.fx.Node):
        return {"node": value.name}
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": str(value)}
    if isinstance(value, list | tuple):
        return [_arg(v) for v in value]
    if isinstance(value, torch.dtype):
        if value not in DTYPE_NAMES:
            raise ProgramUnavailable(f"dtype {value}")
        return {"dtype": DTYPE_NAMES[value]}
    if isinstance(value, torch.device):
        return {"device": "cpu"}  # a replay runs on the CPU
    if isinstance(value, torch.layout):
        return {"layout": "strided"}
    if isinstance(value, torch.memory_format):
        return {"memory_format": str(value).removeprefix("torch.")}
    raise ProgramUnavailable(f"an argument of type {type(value).__name__}")


def unavailable(why: str) -> dict:
    return {"version": PROGRAM_VERSION, "status": "unavailable", "why": why[:500]}


@dataclasses.dataclass
class ProgramChild:
    """The forked process that exports the program while the run goes on."""

    pid: int
    fd: int  # read end of the pipe the child writes the encoded chunks to
    deadline: float  # time.monotonic() by which the child has ended (its SIGALRM)
    optimizer: int


def _fork_safe(module: torch.nn.Module, args: tuple) -> bool:
    """A forked child can export this module: Linux (fork is unsafe with macOS frameworks), no
    CUDA in the process (a forked child cannot use it), every tensor on the CPU, and a model
    small enough that the pages the run writes while the child lives (copied on write: the
    weights and gradients) cost little memory."""
    if not PROGRAM_IN_CHILD or not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False
    if torch.cuda.is_initialized():
        return False
    state = list(itertools.chain(module.parameters(), module.buffers()))
    if sum(t.numel() * t.element_size() for t in state) > PROGRAM_CHILD_MAX_STATE_BYTES:
        return False
    tensors = itertools.chain(state, args)
    return all(isinstance(t, torch.Tensor) and t.device.type == "cpu" for t in tensors)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class ProgramRecorder:
    """The part of ``Recorder`` that takes the program once: the batch each top-level module
    last saw (until the first step), the loss at the first backward, the export at the first
    optimizer step (before the weights change).

    On the CPU the export runs in a forked child, so training does not wait for it: the child
    sees the weights and the batch as they were at the fork (copy-on-write) and writes the
    encoded chunks to a pipe; the recorder appends them to the trace at the first step after
    the child is done, or at the end of the run (waiting for it). Until then the file is a
    valid trace without a program, so a run that crashes or is killed leaves a readable file."""

    def _program_forward(self, module: torch.nn.Module, args: tuple) -> None:
        if self.program_done or not torch.is_grad_enabled():
            return
        if next(module.parameters(), None) is None:
            return  # a loss module (nn.CrossEntropyLoss) or a parameter-free wrapper
        self.program_inputs[id(module)] = (module, args)

    def _program_output(self, module: torch.nn.Module, output) -> None:
        """The outputs of a top-level module's training forward: a hand-written loss's program
        is written from them back to the loss (traces.recorder.loss_program)."""
        if (
            self.program_done
            or self.program_loss is not None
            or id(module) not in self.program_inputs
            or not torch.is_grad_enabled()
        ):
            return
        self.program_outputs[id(module)] = torch.utils._pytree.tree_leaves(output)

    def _program_loss(self, tensors) -> None:
        if self.program_done or self.program_loss is not None:
            return
        loss = tensors[0] if isinstance(tensors, list | tuple) and len(tensors) == 1 else tensors
        if isinstance(loss, torch.Tensor) and loss.grad_fn is not None:
            self.program_loss = identify_loss(loss)
            programs = loss_programs(loss, self.program_outputs, self.param_index)
            self.program_loss["_programs"] = programs
        self.program_outputs = {}

    def _program_never_taken(self) -> None:
        """At the end of a run without any optimizer step: say why there is no program."""
        if self.program_done:
            return
        self.program_done = True
        self.program_inputs = {}
        spec = unavailable("no optimizer.step() was seen (manual updates or no training step)")
        spec["optimizer"] = -1
        spec["loss"] = loss_of_module(self.program_loss, None)[0]
        self.stream.write_program(spec, {})

    def _program_capture(self, optimizer: torch.optim.Optimizer) -> None:
        """Export the module the stepping optimizer trains most of: in a forked child when
        that is safe (the chunks follow later), else here; a failure is a reason in the
        chunk, never an error of the run."""
        if self.program_done:
            return
        self.program_done = True
        try:
            self._sync()
            chosen = self._program_module(optimizer)
            opt = self._optimizer_id(optimizer)
            if chosen is not None and _fork_safe(*chosen) and self._program_fork(chosen, opt):
                return
            spec, weights = self._program_make(chosen, opt)
            self.stream.write_program(spec, weights)
        except Exception as exc:  # noqa: BLE001 - a bug of ours must not stop the recording
            self.stream.write_program(
                unavailable(f"capture failed ({type(exc).__name__}: {exc})"), {}
            )

    def _program_module(self, optimizer: torch.optim.Optimizer) -> tuple | None:
        """(module, args) of the top-level module this optimizer trains most parameters of."""
        candidates, self.program_inputs = self.program_inputs, {}
        trained = {id(p) for group in optimizer.param_groups for p in group["params"]}
        best, best_count = None, 0
        for module, args in candidates.values():
            count = sum(id(p) in trained for p in module.parameters())
            if count > best_count:
                best, best_count = (module, args), count
        return best

    def _program_make(self, chosen: tuple | None, opt: int) -> tuple[dict, dict]:
        """The program's spec and initial weights (in the child or in the training process)."""
        weights: dict = {}
        if chosen is None:
            spec = unavailable("no forward pass of a module that this optimizer trains was seen")
        else:
            self.exporting = True
            try:
                spec, weights = export_program(
                    chosen[0],
                    chosen[1],
                    module_index=self.module_index,
                    param_index=self.param_index,
                )
            except ProgramUnavailable as exc:
                spec = unavailable(str(exc))
            finally:
                self.exporting = False
        spec["optimizer"] = opt
        if spec["status"] != "captured":
            chosen = None
        spec["loss"], head = loss_of_module(self.program_loss, chosen[0] if chosen else None)
        return spec, weights | head

    # ---------------------------------------------------------------- the forked child

    def _program_fork(self, chosen: tuple, opt: int) -> bool:
        """Start the child that exports ``chosen``; False when fork itself fails."""
        read_fd, write_fd = os.pipe()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # 3.12: fork with threads
                pid = os.fork()
        except OSError:
            os.close(read_fd)
            os.close(write_fd)
            return False
        if pid == 0:
            os.close(read_fd)
            self._program_child_main(write_fd, chosen, opt)  # never returns
        os.close(write_fd)
        deadline = time.monotonic() + PROGRAM_CHILD_SECONDS
        self.program_child = ProgramChild(pid=pid, fd=read_fd, deadline=deadline, optimizer=opt)
        return True

    def _program_child_main(self, fd: int, chosen: tuple, opt: int) -> None:
        """In the child: export, write ``length + chunks`` to ``fd``, exit without cleanup (the
        parent's buffers, atexit handlers and files are the parent's)."""
        code = 1
        try:
            # The objects inherited from the run leave the collector's view: a full collection
            # would touch (and so copy) every page of the run's heap.
            gc.freeze()
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the run, not this
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGALRM, signal.SIG_DFL)
                signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # the parent is gone: end
            signal.alarm(PROGRAM_CHILD_SECONDS)  # a hang (a lock held at the fork) ends here
            # One core at the run's own priority: a lower one (nice 10) let the child starve on a
            # busy machine, and a short run then waited for it at its end (bench/replay.py).
            torch.set_num_threads(1)
            try:
                spec, weights = self._program_make(chosen, opt)
            except Exception as exc:  # noqa: BLE001 - said in the chunk, as in the parent
                spec, weights = unavailable(f"capture failed ({type(exc).__name__}: {exc})"), {}
                spec["optimizer"] = opt
                spec["loss"] = loss_of_module(self.program_loss, None)[0]
            data = encode_program(Program(spec, weights))
            _write_all(fd, _LENGTH.pack(len(data)) + data)
            code = 0
        finally:
            os._exit(code)

    def _program_poll(self) -> None:
        """Once a step: append the child's chunks as soon as it has written them."""
        child = self.program_child
        if child is not None and select.select([child.fd], [], [], 0)[0]:
            self._program_collect()

    def _program_collect(self) -> None:
        """Read the child's chunks (waiting for it until its deadline), append them to the
        trace, reap it; a child that ended without them is a reason in the chunk."""
        child, self.program_child = self.program_child, None
        if child is None:
            return
        data = bytearray()
        done = False
        try:
            while (remaining := child.deadline - time.monotonic()) > 0:
                if not select.select([child.fd], [], [], remaining)[0]:
                    continue
                chunk = os.read(child.fd, 1 << 20)
                if not chunk:
                    done = True
                    break
                data += chunk
        except KeyboardInterrupt:  # a second Ctrl-C while the run's end waits: stop waiting
            pass
        finally:
            os.close(child.fd)
            status = self._program_reap(child.pid, kill=not done)
        if len(data) >= _LENGTH.size and _LENGTH.unpack_from(data)[0] == len(data) - _LENGTH.size:
            self.stream.write_chunks(bytes(data[_LENGTH.size :]))
            return
        if not done:
            why = f"the program capture did not finish within {PROGRAM_CHILD_SECONDS} s"
        else:
            why = f"the program capture process ended without a program ({status})"
        spec = unavailable(why)
        spec["optimizer"] = child.optimizer
        spec["loss"] = loss_of_module(self.program_loss, None)[0]
        self.stream.write_program(spec, {})

    @staticmethod
    def _program_reap(pid: int, *, kill: bool) -> str:
        with contextlib.suppress(OSError):
            waited, status = os.waitpid(pid, os.WNOHANG)  # raises if it is no child of ours
            if waited == 0:  # still running
                if kill:
                    os.kill(pid, signal.SIGKILL)
                _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
            return f"exit code {code}" if code >= 0 else f"signal {-code}"
        return "exit status unknown"  # reaped by someone else (SIGCHLD ignored, os.wait())
