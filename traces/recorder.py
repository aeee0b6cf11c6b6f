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
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import platform
import sys
import threading
import weakref
from collections.abc import Iterator

import numpy as np
import torch

from traces import format as trace_format
from traces.model import FORMAT_VERSION, EventKind, RunEnd
from traces.runend import Terminated, die_of_sigterm, outcome, sigterm_unwinds

# Activation statistics use at most this many elements of a module output per window: the
# prototype measured full-batch statistics at several percent of a CPU step, a slice at ~1%.
ACT_SAMPLE_ELEMENTS = 16384
# Update norms are exact for tensors up to this many elements; above, estimated from a fixed
# sample of this many elements (no copy of the weights): the relative error measured on real
# SGD / AdamW steps of large layers is given in SCHEMA.md (well under the order-of-magnitude
# judgements the diagnosis engine makes on update/weight ratios).
UPDATE_SAMPLE_ELEMENTS = 16384
# ... taken as runs of this many consecutive elements (one 64-byte cache line of float32).
# Weight norms of such tensors come from the same sample (it is read anyway for the update).
UPDATE_SAMPLE_RUN = 16
# The two moments a sampled tensor is read at (the keys of its kept sample buffers).
BEFORE, AFTER = 0, 1
# Dead input columns of a 2-D gradient are read on at most this many of its rows (evenly
# spaced): a column with any live input is non-zero in every row whose output unit saw that
# input, so only a layer whose sampled output units are all silent at once could misread.
DEAD_PROBE_ROWS = 128
# sigmoid/tanh outputs this close to a bound count as saturated (local gradient < ~1e-2).
SATURATION_MARGIN = 1e-2
# Events kept per window; a script that calls backward a million times without stepping still
# writes a bounded row (backward_count keeps the true count).
MAX_WINDOW_EVENTS = 10_000
# Graph walks that find raw leaf tensors (w = torch.randn(..., requires_grad=True)) run on the
# 1st, 2nd, 4th, 8th, ... backward pass: late tensors are still found, at a vanishing cost.
GRAPH_WALK_NODES = 100_000

ACTIVATIONS = {
    "ReLU": "relu",
    "ReLU6": "relu6",
    "LeakyReLU": "leaky_relu",
    "PReLU": "prelu",
    "RReLU": "rrelu",
    "ELU": "elu",
    "SELU": "selu",
    "CELU": "celu",
    "GELU": "gelu",
    "SiLU": "silu",
    "Mish": "mish",
    "Sigmoid": "sigmoid",
    "Hardsigmoid": "hardsigmoid",
    "Tanh": "tanh",
    "Hardtanh": "hardtanh",
    "Softplus": "softplus",
    "Softmax": "softmax",
    "LogSoftmax": "log_softmax",
}
SATURATING = {
    "sigmoid": (0.0, 1.0),
    "hardsigmoid": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "hardtanh": (-1.0, 1.0),
}

_active: Recorder | None = None
_active_lock = threading.Lock()


def _compiling() -> bool:
    return torch.compiler.is_compiling()


def _hook(method):
    """A torch hook of the recorder: an error inside stops recording, not the training."""

    @functools.wraps(method)
    def hook(self, *args):
        try:
            return method(self, *args)
        except Exception as exc:  # noqa: BLE001 - any bug of ours must not kill the run
            self._fail(exc)
            return None

    return hook


class _Window:
    """What happened since the previous row."""

    def __init__(self, recording: bool) -> None:
        self.recording = recording
        self.events: list[tuple[int, int]] = []
        self.backward = 0
        self.cleared = False
        self.forward_seen = False
        self.loss: torch.Tensor | None = None
        self.stale: set[int] = set()
        self.snapshots: dict[int, torch.Tensor] = {}  # stale .grad values at the first backward
        self.fresh: dict[int, torch.Tensor] | None = None  # param -> 0-d norm, once measured
        self.acts: dict[int, tuple] = {}  # module -> _activation_sample(...)

    def add(self, kind: EventKind, optimizer: int = -1) -> None:
        if len(self.events) < MAX_WINDOW_EVENTS:
            self.events.append((int(kind), optimizer))


class _Module:
    def __init__(self, module: torch.nn.Module) -> None:
        self.ref = weakref.ref(module)
        self.type = type(module).__name__
        self.activation = ACTIVATIONS.get(self.type)
        self.order = -1
        self.path = ""
        self.leaf = not any(True for _ in module.children())


class _Param:
    def __init__(self, param: torch.Tensor, name: str, module: str) -> None:
        self.ref = weakref.ref(param)
        self.name = name
        self.module = module
        self.shape = tuple(param.shape)
        self.numel = param.numel()
        self.trainable = bool(param.requires_grad)
        self.optimizer: int | None = None
        self.group: int | None = None
        self.grad_state: tuple[int, int] | None = None  # (id(.grad), .grad._version) last seen


class Recorder:
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

        self.modules: list[_Module] = []
        self.module_index: dict[int, int] = {}
        self.roots: list[int] = []  # module indices of top-level modules
        self.params: list[_Param] = []
        self.param_index: dict[int, int] = {}
        self.optimizers: list[tuple[weakref.ref, str]] = []
        self.optimizer_index: dict[int, int] = {}
        self.group_keys: list[tuple[int, int]] = []  # (optimizer, group position)
        self.group_hparams: list[dict] = []

        self.total_steps = 0
        self.ever_stepped = False
        self.tree_dirty = False
        self.depth = 0
        self.order_counter = 0
        self.backward_depth = 0
        self.backward_calls = 0
        self.clear_seen = False  # a zero_grad wrapper ran since the last look at .grad
        self.zeroed: set[int] = set()  # params whose .grad a zero_grad call filled with zeros
        self.scaled: tuple[weakref.ref, torch.Tensor] | None = None
        self.step_state: dict | None = None
        self.manual: dict | None = None  # weights/grad stats after the last backward, no optimizer
        self.capped = False
        self.finished = False
        self.failure = ""  # set when the recorder itself failed
        self.window = _Window(recording=True)

        self.probes: dict[tuple, torch.Tensor] = {}
        self.buffers: dict[int, torch.Tensor] = {}  # small weights before the step
        self.samples: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}  # _update_sample
        self.sample_buffers: dict[tuple[int, int], torch.Tensor] = {}  # _sampled_values
        self._handles: list = []
        self._patches: list[tuple[object, str, object]] = []
        self._lock = threading.RLock()
        self.stream.flush(self.meta(RunEnd.RUNNING))

    # ---------------------------------------------------------------- install / uninstall

    def install(self) -> None:
        from torch.nn.modules import module as module_hooks
        from torch.optim import optimizer as optimizer_hooks

        self._handles = [
            optimizer_hooks.register_optimizer_step_pre_hook(self._on_step_pre),
            optimizer_hooks.register_optimizer_step_post_hook(self._on_step_post),
            module_hooks.register_module_forward_pre_hook(self._on_forward_pre),
            module_hooks.register_module_forward_hook(self._on_forward),
            module_hooks.register_module_parameter_registration_hook(self._on_registration),
            module_hooks.register_module_module_registration_hook(self._on_registration),
        ]
        self._patch(torch.autograd, "backward", self._wrap_backward)
        self._patch(torch.optim.Optimizer, "zero_grad", self._wrap_zero_grad)
        self._patch(torch.nn.Module, "zero_grad", self._wrap_zero_grad)
        for owner in (torch.nn.utils, torch.nn.utils.clip_grad):
            for name in ("clip_grad_norm_", "clip_grad_value_", "clip_grad_norm"):
                if hasattr(owner, name):
                    self._patch(owner, name, self._wrap_measure_first)
        self._patch(torch.amp.GradScaler, "step", self._wrap_scaler_step)
        self._patch(torch.amp.GradScaler, "scale", self._wrap_scaler_scale)

    def uninstall(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        for owner, name, original in reversed(self._patches):
            setattr(owner, name, original)
        self._patches = []

    def _patch(self, owner: object, name: str, wrapper_factory) -> None:
        original = getattr(owner, name)
        self._patches.append((owner, name, original))
        setattr(owner, name, wrapper_factory(original))

    def _ours(self) -> bool:
        """Hooks do nothing in forked children (DataLoader workers), under compile, after the
        end, or after an internal error."""
        # is_compiling first: dynamo knows it, and must not trace the rest
        return (
            not _compiling() and not self.finished and not self.failure and os.getpid() == self.pid
        )

    @contextlib.contextmanager
    def _guarded(self) -> Iterator[None]:
        """Run recorder code; an error in it stops recording, never the user's training."""
        with self._lock:
            try:
                yield
            except Exception as exc:  # noqa: BLE001 - any bug of ours must not kill the run
                self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        if not self.failure:
            self.failure = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
            print(
                f"traces: recording stopped after an internal error ({self.failure}); "
                "the run goes on and the trace keeps the rows so far",
                file=sys.stderr,
            )

    # ---------------------------------------------------------------- discovery

    def _on_registration(self, module, name, value):
        self.tree_dirty = True

    def _module_id(self, module: torch.nn.Module) -> int:
        index = self.module_index.get(id(module))
        if index is not None and self.modules[index].ref() is module:
            return index
        index = len(self.modules)
        self.modules.append(_Module(module))
        self.module_index[id(module)] = index
        self.tree_dirty = True
        return index

    def _param_id(self, param: torch.Tensor, name: str, module: str) -> int:
        index = self.param_index.get(id(param))
        if index is not None and self.params[index].ref() is param:
            return index
        index = len(self.params)
        self.params.append(_Param(param, name, module))
        self.param_index[id(param)] = index
        return index

    def _add_root(self, module: torch.nn.Module) -> None:
        original = getattr(module, "_orig_mod", None)  # torch.compile's OptimizedModule
        if isinstance(original, torch.nn.Module):
            module = original
        index = self._module_id(module)
        if index not in self.roots:
            self.roots.append(index)
            self.tree_dirty = True

    def _walk_roots(self) -> None:
        """Give every module and parameter under the top-level modules its path and name."""
        self.tree_dirty = False
        roots = [(i, self.modules[i].ref()) for i in self.roots]
        roots = [(i, m) for i, m in roots if m is not None]
        # A root that turns out to be inside another root is not a root.
        inside: set[int] = set()
        for _, root in roots:
            for sub in root.modules():
                if sub is not root:
                    inside.add(id(sub))
        roots = [(i, m) for i, m in roots if id(m) not in inside]
        self.roots = [i for i, _ in roots]
        prefixes = self._root_prefixes([m for _, m in roots])
        for (_, root), prefix in zip(roots, prefixes, strict=True):
            for path, sub in root.named_modules(remove_duplicate=True):
                full = _join(prefix, path)
                self.modules[self._module_id(sub)].path = full
            for name, param in root.named_parameters(remove_duplicate=True):
                owner = name.rpartition(".")[0]
                index = self._param_id(param, _join(prefix, name), _join(prefix, owner))
                self.params[index].name = _join(prefix, name)
                self.params[index].module = _join(prefix, owner)
        self.tree_dirty = False

    def _root_prefixes(self, roots: list[torch.nn.Module]) -> list[str]:
        if len(roots) == 1:
            return [""]
        names = _global_names(self.main_globals)
        out, used = [], set()
        for root in roots:
            base = names.get(id(root)) or type(root).__name__
            name, n = base, 1
            while name in used:
                name, n = f"{base}_{n}", n + 1
            used.add(name)
            out.append(name)
        return out

    def _optimizer_id(self, optimizer: torch.optim.Optimizer) -> int:
        index = self.optimizer_index.get(id(optimizer))
        if index is None or self.optimizers[index][0]() is not optimizer:
            index = len(self.optimizers)
            self.optimizers.append((weakref.ref(optimizer), type(optimizer).__name__))
            self.optimizer_index[id(optimizer)] = index
        # param groups can be added at any time (add_param_group)
        known = sum(1 for o, _ in self.group_keys if o == index)
        for position in range(known, len(optimizer.param_groups)):
            group = optimizer.param_groups[position]
            g = len(self.group_keys)
            self.group_keys.append((index, position))
            self.group_hparams.append(_hyperparams(group))
            for j, param in enumerate(group["params"]):
                p = self._param_id(param, f"optimizer{index}.group{position}.{j}", "")
                if self.params[p].optimizer is None:
                    self.params[p].optimizer, self.params[p].group = index, g
        return index

    def _walk_graph(self, tensors) -> None:
        """Find raw leaf tensors (not module parameters) through the autograd graph."""
        seen, todo, count = set(), [], 0
        for t in tensors:
            if isinstance(t, torch.Tensor) and t.grad_fn is not None:
                todo.append(t.grad_fn)
        while todo and count < GRAPH_WALK_NODES:
            node = todo.pop()
            if node is None or id(node) in seen:
                continue
            seen.add(id(node))
            count += 1
            variable = getattr(node, "variable", None)
            if variable is not None:
                if id(variable) not in self.param_index:
                    name = _global_names(self.main_globals).get(id(variable))
                    self._param_id(variable, name or f"tensor{len(self.params)}", "")
                continue
            todo.extend(fn for fn, _ in node.next_functions if fn is not None)

    def _sync(self) -> None:
        if self.tree_dirty:
            self._walk_roots()

    # ---------------------------------------------------------------- forward

    @_hook
    def _on_forward_pre(self, module, args):
        if not self._ours():
            return None
        if self.depth == 0:
            known = self.module_index.get(id(module))
            if known is None or self.modules[known].ref() is not module:
                self._add_root(module)  # its tree is walked by _sync
            self._sync()
            self._manual_boundary()
            if not self.window.forward_seen:
                self.window.forward_seen = True
                self.window.add(EventKind.FORWARD)
        elif id(module) not in self.module_index:
            self.tree_dirty = True
        self.depth += 1
        return None

    @_hook
    def _on_forward(self, module, args, output):
        if not self._ours():
            return None
        self.depth = max(self.depth - 1, 0)
        index = self.module_index.get(id(module))
        if index is None:
            return None
        info = self.modules[index]
        if info.order == -1:
            info.order = self.order_counter
            self.order_counter += 1
        window = self.window
        if isinstance(output, tuple | list) and output:  # RNNs: (output, hidden)
            output = output[0]
        if (
            window.recording
            and info.leaf
            and index not in window.acts
            and torch.is_grad_enabled()  # a training forward, not an evaluation under no_grad
            and isinstance(output, torch.Tensor)
            and output.is_floating_point()
            and output.numel() > 0
        ):
            window.acts[index] = _activation_sample(output, info.activation)
        return None

    # ---------------------------------------------------------------- backward

    def _wrap_backward(self, original):
        recorder = self

        @functools.wraps(original)
        def backward(tensors, *args, **kwargs):
            if recorder.backward_depth or not recorder._ours():
                return original(tensors, *args, **kwargs)
            recorder.backward_depth += 1
            try:
                with recorder._guarded():
                    recorder._before_backward(tensors)
                result = original(tensors, *args, **kwargs)
                with recorder._guarded():
                    recorder._after_backward(tensors)
                return result
            finally:
                recorder.backward_depth -= 1

        return backward

    def _before_backward(self, tensors) -> None:
        self.depth = 0
        self._sync()
        self._manual_boundary()
        self._look_at_grads(first=self.window.backward == 0)

    def _after_backward(self, tensors) -> None:
        window = self.window
        self.backward_calls += 1
        if self.backward_calls & (self.backward_calls - 1) == 0:  # 1, 2, 4, 8, ...
            self._walk_graph(tensors if isinstance(tensors, list | tuple) else [tensors])
        window.backward += 1
        window.fresh = None  # this backward added to .grad: measure again when it matters
        window.add(EventKind.BACKWARD)
        self.zeroed.clear()
        loss = tensors[0] if isinstance(tensors, list | tuple) and len(tensors) == 1 else tensors
        if isinstance(loss, torch.Tensor) and loss.numel() == 1:
            if self.scaled is not None and self.scaled[0]() is loss:
                loss = self.scaled[1]
            window.loss = loss.detach()
        for info in self.params:
            param = info.ref()
            if param is not None:
                info.grad_state = _grad_state(param)
        if not self.ever_stepped:
            self._snapshot_manual()

    def _look_at_grads(self, *, first: bool) -> None:
        """Compare each .grad with what it held when we last looked: cleared, or stale?"""
        window = self.window
        changed, kept = [], []
        cleared_any = False
        for i, info in enumerate(self.params):
            param = info.ref()
            if param is None:
                continue
            state = _grad_state(param)
            if state is None:
                cleared_any |= info.grad_state is not None
            elif state != info.grad_state:
                changed.append(i)
            elif i not in self.zeroed:
                kept.append(i)
        zeroed: set[int] = set()
        if changed:
            grads = [self.params[i].ref().grad for i in changed]
            norms = _host(torch._foreach_norm(grads, 2, dtype=torch.float32))
            zeroed = {i for i, n in zip(changed, norms, strict=True) if n == 0.0}
            cleared_any |= bool(zeroed)
        if cleared_any and not self.clear_seen:
            window.add(EventKind.CLEAR)
            if window.backward == 0:
                window.cleared = True
        self.clear_seen = False
        if first:
            stale = set(kept) | (set(changed) - zeroed)
            window.stale = stale
            if window.recording:
                for i in stale:
                    window.snapshots[i] = self.params[i].ref().grad.detach().clone()

    # ---------------------------------------------------------------- clears, clipping, AMP

    def _wrap_zero_grad(self, original):
        recorder = self

        @functools.wraps(original)
        def zero_grad(obj, *args, **kwargs):
            if not recorder._ours():
                return original(obj, *args, **kwargs)
            with recorder._guarded():
                recorder._manual_boundary()
                recorder._measure_fresh()
                before = [
                    _grad_state(p) if (p := info.ref()) is not None else None
                    for info in recorder.params
                ]
            result = original(obj, *args, **kwargs)
            with recorder._guarded():
                opt = recorder._optimizer_id(obj) if isinstance(obj, torch.optim.Optimizer) else -1
                window = recorder.window
                window.add(EventKind.CLEAR, opt)
                if window.backward == 0:
                    window.cleared = True
                recorder.clear_seen = True
                for i, info in enumerate(recorder.params):
                    param = info.ref()
                    if param is not None:
                        info.grad_state = _grad_state(param)
                        if info.grad_state is not None and info.grad_state != before[i]:
                            recorder.zeroed.add(i)  # zero_grad(set_to_none=False)
            return result

        return zero_grad

    def _wrap_measure_first(self, original):
        recorder = self

        @functools.wraps(original)
        def clip(*args, **kwargs):
            if recorder._ours():
                with recorder._guarded():
                    recorder._measure_fresh()
            return original(*args, **kwargs)

        return clip

    def _wrap_scaler_scale(self, original):
        recorder = self

        @functools.wraps(original)
        def scale(scaler, outputs):
            result = original(scaler, outputs)
            if isinstance(outputs, torch.Tensor) and isinstance(result, torch.Tensor):
                recorder.scaled = (weakref.ref(result), outputs)
            return result

        return scale

    def _wrap_scaler_step(self, original):
        recorder = self

        @functools.wraps(original)
        def step(scaler, optimizer, *args, **kwargs):
            if not recorder._ours():
                return original(scaler, optimizer, *args, **kwargs)
            before = recorder.total_steps
            result = original(scaler, optimizer, *args, **kwargs)
            if recorder.total_steps == before and scaler.is_enabled():
                with recorder._guarded():
                    recorder._skipped_step(recorder._optimizer_id(optimizer))
            return result

        return step

    def _skipped_step(self, opt: int) -> None:
        # The window goes on into the next row; its backward passes are counted afresh.
        window = self.window
        window.add(EventKind.SKIPPED_STEP, opt)
        window.forward_seen = False
        window.backward = 0
        window.cleared = False
        window.fresh = None
        window.snapshots = {}
        window.stale = set()

    def _measure_fresh(self) -> None:
        """Norm of what this window's backward passes added to each .grad (before a clear/clip)."""
        window = self.window
        if not window.recording or window.backward == 0 or window.fresh is not None:
            return
        window.fresh = self._fresh_norms()

    def _fresh_norms(self) -> dict[int, torch.Tensor]:
        window = self.window
        indices, tensors = [], []
        for i, info in enumerate(self.params):
            param = info.ref()
            if param is None or param.grad is None:
                continue
            grad = param.grad.detach()
            snapshot = window.snapshots.get(i)
            if snapshot is not None and snapshot.shape == grad.shape:
                grad = grad - snapshot
            indices.append(i)
            tensors.append(grad)
        norms = torch._foreach_norm(tensors, 2, dtype=torch.float32) if tensors else []
        return dict(zip(indices, norms, strict=True))

    # ---------------------------------------------------------------- optimizer steps

    @_hook
    def _on_step_pre(self, optimizer, args, kwargs):
        if not self._ours():
            return
        with self._lock:
            self._step_pre(optimizer)

    @_hook
    def _on_step_post(self, optimizer, args, kwargs):
        if not self._ours() or self.step_state is None:
            return
        with self._lock:
            self._step_post(optimizer)

    def _step_pre(self, optimizer) -> None:
        self.ever_stepped = True
        self.manual = None
        self._sync()
        opt = self._optimizer_id(optimizer)
        window = self.window
        if not window.recording or self.capped:
            self.step_state = {"opt": opt, "recording": False}
            return
        # Usually nothing touched .grad since the backward: its norm is the fresh norm too.
        reuse = window.fresh is None and window.backward > 0 and not window.snapshots
        if not reuse:
            self._measure_fresh()
        members = [i for i, info in enumerate(self.params) if info.optimizer == opt]
        self.step_state = self._measure_before(opt, members)
        if reuse:
            window.fresh = dict(
                zip(self.step_state["with_grad"], self.step_state["grad_norm"], strict=True)
            )

    def _measure_before(self, opt: int, members: list[int]) -> dict:
        params = [info.ref() for info in self.params]
        live = [i for i, p in enumerate(params) if p is not None]
        with_grad = [i for i in live if params[i].grad is not None]
        grads = [params[i].grad.detach() for i in with_grad]
        state = {
            "opt": opt,
            "recording": True,
            "live": live,
            "with_grad": with_grad,
            # torch optimizers skip parameters without .grad: their update is exactly 0
            "members": [i for i in members if params[i] is not None and params[i].grad is not None],
            "idle": [i for i in members if params[i] is not None and params[i].grad is None],
        }
        state["grad_norm"] = torch._foreach_norm(grads, 2, dtype=torch.float32) if grads else []
        dead_idx = [i for i in with_grad if params[i].grad.dim() == 2]
        state["dead_idx"] = dead_idx
        state["dead"] = [self._dead_columns(params[i].grad.detach()) for i in dead_idx]
        state["before"] = self._copy_weights(params, state["members"])
        state["weight_norm"] = self._weight_norms(params, live, state["before"])
        return state

    def _weight_norms(self, params: list, live: list[int], before: dict) -> list[torch.Tensor]:
        """Norm of each live weight, in ``live`` order: exact for small tensors, estimated from
        the fixed sample for large ones (the members' samples were just read for the update)."""
        taken = dict(zip(before["sampled"], before["values"], strict=True))
        exact, exact_idx, norms = [], [], {}
        for i in live:
            weight = params[i].detach()
            if weight.numel() > UPDATE_SAMPLE_ELEMENTS and weight.is_contiguous():
                runs, tail = taken.get(i) or self._sampled_values(i, weight, BEFORE)
                _, scale = self._update_sample(i, weight)
                norms[i] = _sampled_norm(runs, scale, tail)
            else:
                exact_idx.append(i)
                exact.append(weight)
        if exact:
            exact_norms = torch._foreach_norm(exact, 2, dtype=torch.float32)
            norms.update(zip(exact_idx, exact_norms, strict=True))
        return [norms[i] for i in live]

    def _copy_weights(self, params: list, members: list[int]) -> dict:
        """What the update norm needs of the members' weights before the step: small tensors
        whole (copied into buffers kept from step to step), large ones as their values at a
        fixed sample of positions (``_update_sample``) - a copy of every weight cost a pass
        over the model and its size in memory."""
        exact, buffers, weights, sampled, values, numel = [], [], [], [], [], []
        for i in members:
            weight = params[i].detach()
            if weight.numel() > UPDATE_SAMPLE_ELEMENTS and weight.is_contiguous():
                sampled.append(i)
                numel.append(weight.numel())
                values.append(self._sampled_values(i, weight, BEFORE))
                continue
            buffer = self.buffers.get(i)
            if (
                buffer is None
                or buffer.shape != weight.shape
                or buffer.dtype != weight.dtype
                or buffer.device != weight.device
            ):
                buffer = self.buffers[i] = torch.empty_like(weight)
            exact.append(i)
            buffers.append(buffer)
            weights.append(weight)
        if buffers:
            torch._foreach_copy_(buffers, weights)
        return {
            "exact": exact,
            "buffers": buffers,
            "sampled": sampled,
            "values": values,
            "numel": numel,
        }

    def _update_sample(self, i: int, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A fixed stratified sample of a large tensor, the same every step: the flat tensor is
        seen as runs of UPDATE_SAMPLE_RUN consecutive elements, the runs are cut into nearly
        equal consecutive strata, and one run at a fixed random position is taken from each;
        the few elements after the last whole run are always taken. Returns (run numbers,
        sqrt of each run's weight = its stratum's size in runs, shaped (k, 1)): the weighted
        sum of squared differences is an unbiased estimate of the full sum. Runs of 16 float32
        elements are one cache line each: several times cheaper to read than lone elements."""
        n = weight.numel()
        key = (i, n, weight.device)
        sample = self.samples.get(key)
        if sample is None:
            runs = n // UPDATE_SAMPLE_RUN
            k = UPDATE_SAMPLE_ELEMENTS // UPDATE_SAMPLE_RUN
            bounds = torch.arange(k + 1, dtype=torch.int64) * runs // k
            sizes = bounds[1:] - bounds[:-1]
            generator = torch.Generator().manual_seed(i)  # not the script's random stream
            offsets = (torch.rand(k, generator=generator, dtype=torch.float64) * sizes).long()
            index = bounds[:-1] + torch.minimum(offsets, sizes - 1)
            scale = sizes.to(torch.float32).sqrt().reshape(k, 1)
            sample = (index.to(weight.device), scale.to(weight.device))
            self.samples[key] = sample
        return sample

    def _sampled_values(
        self, i: int, weight: torch.Tensor, slot: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(the sampled runs, the trailing elements) of a contiguous tensor, in float32. The
        runs are gathered into a buffer kept per (parameter, BEFORE/AFTER): allocating them
        afresh each step scattered small blocks through the memory the training step frees
        and reuses, and the recorded runs paid for it in page faults."""
        index, _ = self._update_sample(i, weight)
        flat = weight.view(-1)
        whole = flat.numel() - flat.numel() % UPDATE_SAMPLE_RUN
        shape = (index.numel(), UPDATE_SAMPLE_RUN)
        buffer = self.sample_buffers.get((i, slot))
        if (
            buffer is None
            or buffer.shape != shape
            or buffer.dtype != weight.dtype
            or buffer.device != weight.device
        ):
            buffer = torch.empty(shape, dtype=weight.dtype, device=weight.device)
            self.sample_buffers[(i, slot)] = buffer
        torch.index_select(flat[:whole].view(-1, UPDATE_SAMPLE_RUN), 0, index, out=buffer)
        return buffer.float(), flat[whole:].to(torch.float32, copy=True)

    def _update_norms(self, params: list, before: dict) -> dict[int, torch.Tensor]:
        """Norm of (after - before) per member: exact for small tensors, estimated from the
        fixed sample for large ones."""
        out: dict[int, torch.Tensor] = {}
        if before["buffers"]:
            after = [params[i].detach() for i in before["exact"]]
            torch._foreach_sub_(before["buffers"], after)
            norms = torch._foreach_norm(before["buffers"], 2, dtype=torch.float32)
            out.update(zip(before["exact"], norms, strict=True))
        for i, (runs, tail), numel in zip(
            before["sampled"], before["values"], before["numel"], strict=True
        ):
            weight = params[i].detach()
            if not weight.is_contiguous() or weight.numel() != numel:
                out[i] = torch.tensor(math.nan)  # the step replaced the tensor (p.data = ...)
                continue
            _, scale = self._update_sample(i, weight)
            runs_after, tail_after = self._sampled_values(i, weight, AFTER)
            out[i] = _sampled_norm(runs_after.sub_(runs), scale, tail_after.sub_(tail))
        return out

    def _dead_columns(self, grad: torch.Tensor) -> torch.Tensor:
        """A probe of a 2-D gradient's columns, zero exactly where a column is all zeros:
        ``r @ grad`` with a fixed positive random ``r`` (barring an exact cancellation), one
        matrix-vector product instead of a comparison and reduction over every element, on at
        most DEAD_PROBE_ROWS evenly spaced rows (a strided view: no copy). The host counts
        the zeros (``_dead_shares``) after the row's single transfer."""
        if grad.shape[0] > DEAD_PROBE_ROWS:
            grad = grad[:: -(-grad.shape[0] // DEAD_PROBE_ROWS)]
        key = (grad.shape[0], grad.dtype, grad.device)
        weights = self.probes.get(key)
        if weights is None:
            generator = torch.Generator().manual_seed(0)  # not the script's random stream
            weights = torch.rand(grad.shape[0], generator=generator, dtype=torch.float64) + 0.5
            weights = weights.to(dtype=grad.dtype, device=grad.device)
            self.probes[key] = weights
        return weights @ grad

    def _step_post(self, optimizer) -> None:
        state, self.step_state = self.step_state, None
        window = self.window
        opt = state["opt"]
        window.add(EventKind.STEP, opt)
        step_number = self.total_steps
        self.total_steps += 1
        if state["recording"]:
            params = [info.ref() for info in self.params]
            members = state["members"]
            before = state["before"]
            norms = self._update_norms(params, before)
            update = [norms[i] for i in members]
            self._emit_row(step_number, opt, state, members, update)
        else:
            self._close_window(record=False)
        for info in self.params:
            param = info.ref()
            if param is not None:
                info.grad_state = _grad_state(param)
        self._maybe_flush()

    def _emit_row(
        self, step_number: int, opt: int, state: dict, members: list[int], update: list
    ) -> None:
        window = self.window
        P, M, G = len(self.params), len(self.modules), len(self.group_keys)
        fresh = window.fresh or {}
        fresh_idx = list(fresh)
        act_idx = list(window.acts)
        act_stats = [_activation_stats(*window.acts[m]) for m in act_idx]
        loss = window.loss
        parts = [
            torch.stack(state["grad_norm"]) if state["grad_norm"] else None,
            torch.stack([fresh[i] for i in fresh_idx]) if fresh_idx else None,
            torch.stack(state["weight_norm"]) if state["weight_norm"] else None,
            torch.stack(update) if update else None,
            torch.cat(state["dead"]) if state["dead"] else None,
            loss.reshape(1).float() if loss is not None else None,
        ]
        for stats in act_stats:
            parts.extend(stats[0])
        values = _host_parts(parts)
        grad_norm = _column(P, state["with_grad"], values[0], np.float32)
        fresh_norm = _column(P, fresh_idx, values[1], np.float32)
        weight_norm = _column(P, state["live"], values[2], np.float32)
        update_norm = _column(P, members, values[3], np.float32)
        update_norm[state.get("idle", [])] = 0.0
        dead = _column(P, state["dead_idx"], _dead_shares(state["dead"], values[4]), np.float32)
        acts = np.full((M, 5), np.nan, dtype=np.float32)
        if act_idx:
            acts[act_idx] = [
                _act_row(values[6 + 5 * k : 11 + 5 * k], *stats[1:])
                for k, stats in enumerate(act_stats)
            ]
        loss_value = float(values[5][0]) if loss is not None else math.nan

        # Non-finite counts: a norm is finite exactly when every element is, so only count
        # elements of the (rare) tensors whose norm is not.
        params = [info.ref() for info in self.params]
        has_grad = _mask(P, state["with_grad"])
        grad_bad = np.zeros(P, dtype=np.int32)
        for i in np.flatnonzero(has_grad & ~np.isfinite(grad_norm)):
            grad = params[i].grad if params[i] is not None else None
            if grad is not None:
                grad_bad[i] = int((~torch.isfinite(grad)).sum())
        weight_bad = np.zeros(P, dtype=np.int32)
        # The update norm of a large tensor is sampled: a non-finite gradient (what usually
        # makes weights non-finite) also triggers the exact count.
        stepped = _mask(P, members)
        suspicious = (
            ~np.isfinite(weight_norm)
            | (stepped & ~np.isfinite(update_norm))
            | (stepped & has_grad & ~np.isfinite(grad_norm))
        )
        for i in np.flatnonzero(suspicious & _mask(P, state["live"])):
            if params[i] is not None:
                weight_bad[i] = int((~torch.isfinite(params[i].detach())).sum())

        # A parameter of another optimizer is that optimizer's business: a GAN's discriminator
        # collects the generator loss's gradient between its own steps and clears it in time.
        stale = np.zeros(P, dtype=bool)
        stale[[i for i in window.stale if self.params[i].optimizer in (None, opt)]] = True
        lr = np.array([_group_lr(self, g) for g in range(G)], dtype=np.float64)
        row = {
            "step": step_number,
            "optimizer": opt,
            "backward_count": window.backward,
            "cleared": window.cleared,
            "loss": loss_value,
            "lr": lr,
            "grad_norm": grad_norm,
            "fresh_grad_norm": fresh_norm,
            "weight_norm": weight_norm,
            "update_norm": update_norm,
            "grad_nonfinite": grad_bad,
            "weight_nonfinite": weight_bad,
            "stale_grad": stale,
            "grad_dead_in_frac": dead,
            "act_mean": acts[:, 0],
            "act_std": acts[:, 1],
            "act_zero_frac": acts[:, 2],
            "act_dead_frac": acts[:, 3],
            "act_sat_frac": acts[:, 4],
        }
        self._close_window(record=True, row=row)

    def _close_window(self, *, record: bool, row: dict | None = None) -> None:
        if record and row is not None:
            self.stream.add_row(row, self.window.events)
            if self._over_caps():
                self.capped = True
                print(
                    f"traces: the trace reached its size limit at step {self.total_steps}; "
                    "later steps are not recorded (record every k-th step with --every k)",
                    file=sys.stderr,
                )
        self.window = _Window(recording=(self.total_steps % self.every == 0) and not self.capped)

    def _over_caps(self) -> bool:
        rows = self.stream.num_rows
        cells = rows * (len(self.params) + len(self.modules) + len(self.group_keys) + 1)
        return (
            rows >= trace_format.MAX_ROWS - 1
            or cells >= trace_format.MAX_CELLS * 0.9
            or self.stream.bytes_written >= trace_format.MAX_FILE_BYTES * 0.9
        )

    def _maybe_flush(self) -> None:
        if self.stream.due():
            self.stream.flush(self.meta(RunEnd.RUNNING))

    # ---------------------------------------------------------------- manual updates

    def _snapshot_manual(self) -> None:
        """No optimizer so far: remember weights and gradient norms after each backward, so a
        change of the weights before the next backward reads as a manual update."""
        params = [(i, info.ref()) for i, info in enumerate(self.params) if info.trainable]
        params = [(i, p) for i, p in params if p is not None]
        if not params:
            self.manual = None
            return
        with_grad = [(i, p) for i, p in params if p.grad is not None]
        dead = [(i, p) for i, p in with_grad if p.grad.dim() == 2]
        self.manual = {
            "fresh": self._fresh_norms() if self.window.recording else {},
            "dead_idx": [i for i, _ in dead],
            "dead": [self._dead_columns(p.grad.detach()) for _, p in dead],
            "idx": [i for i, _ in params],
            "weights": [p.detach().clone() for _, p in params],
            "grad_idx": [i for i, _ in with_grad],
            "grad_norm": torch._foreach_norm(
                [p.grad.detach() for _, p in with_grad], 2, dtype=torch.float32
            )
            if with_grad
            else [],
        }

    def _manual_boundary(self) -> None:
        """Without an optimizer a row ends when the weights changed after a backward pass; look
        before anything that starts the next iteration (forward, zero_grad, backward, the end)."""
        if self.manual is not None and not self.ever_stepped and self.window.backward > 0:
            self._check_manual_update()

    def _check_manual_update(self) -> None:
        manual = self.manual
        params = [self.params[i].ref() for i in manual["idx"]]
        pairs = [
            (i, w, p)
            for i, w, p in zip(manual["idx"], manual["weights"], params, strict=True)
            if p is not None and p.shape == w.shape
        ]
        if not pairs:
            return
        before = [w for _, w, _ in pairs]
        diffs = torch._foreach_norm(
            torch._foreach_sub(before, [p.detach() for _, _, p in pairs]), 2, dtype=torch.float32
        )
        if not bool(torch.stack(diffs).ne(0).any()):
            return  # nothing changed (an evaluation forward, a second micro-batch)
        self.manual = None
        window = self.window
        window.add(EventKind.MANUAL_UPDATE)
        step_number = self.total_steps
        self.total_steps += 1
        if not window.recording or self.capped:
            self._close_window(record=False)
            return
        members = [i for i, _, _ in pairs]
        state = {
            "opt": -1,
            "recording": True,
            "live": members,
            "with_grad": manual["grad_idx"],
            "grad_norm": manual["grad_norm"],
            "weight_norm": torch._foreach_norm(before, 2, dtype=torch.float32),
            "dead_idx": manual["dead_idx"],
            "dead": manual["dead"],
        }
        window.fresh = manual["fresh"]
        self._emit_row(step_number, -1, state, members, diffs)
        self._maybe_flush()

    # ---------------------------------------------------------------- the file

    def meta(self, ended: RunEnd, exit_code: int | None = None, error: str = "") -> dict:
        extra: dict = {
            "recorder": "gradhub-traces",
            "act_sample_elements": ACT_SAMPLE_ELEMENTS,
            "update_sample_elements": UPDATE_SAMPLE_ELEMENTS,
            "dead_probe_rows": DEAD_PROBE_ROWS,
        }
        if self.capped:
            extra["rows_capped"] = True
        if self.failure:
            extra["recorder_error"] = self.failure
        G = len(self.group_keys)
        groups = [
            {"optimizer": self.group_keys[g][0], "hyperparams": self.group_hparams[g]}
            for g in range(G)
        ]
        optimizers = [
            {"type": kind, "groups": [g for g in range(G) if self.group_keys[g][0] == o]}
            for o, (_, kind) in enumerate(self.optimizers)
        ]
        return {
            "format": "gradhub-trace",
            "version": FORMAT_VERSION,
            "run": {
                "torch_version": torch.__version__,
                "python_version": platform.python_version(),
                "platform": platform.platform(),
                "command": list(self.command),
                "every": self.every,
                "total_steps": self.total_steps,
                "ended": ended.value,
                "exit_code": exit_code,
                "error": error[:4000],
            },
            "params": [
                {
                    "name": name,
                    "module": p.module,
                    "shape": list(p.shape),
                    "trainable": p.trainable,
                    "optimizer": p.optimizer,
                    "group": p.group,
                }
                for p, name in zip(
                    self.params, _unique([p.name for p in self.params], empty="tensor"), strict=True
                )
            ],
            "modules": [
                {"path": path, "type": m.type, "order": m.order, "activation": m.activation}
                for m, path in zip(
                    self.modules, _unique([m.path for m in self.modules]), strict=True
                )
            ],
            "groups": groups,
            "optimizers": optimizers,
            "extra": extra,
        }

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
                self.finished = True
                self.stream.close(self.meta(ended, exit_code, error))
            finally:
                self.finished = True
                self.uninstall()


# -------------------------------------------------------------------- helpers


def _unique(names: list[str], *, empty: str = "") -> list[str]:
    """Names made unique with a "#n" suffix (a model built twice); "" becomes ``empty``."""
    seen: set[str] = set()
    out = []
    for base in names:
        base = base or empty
        name, n = base, 1
        while name in seen:
            name, n = f"{base}#{n}", n + 1
        seen.add(name)
        out.append(name)
    return out


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix and name else prefix or name


def _grad_state(param: torch.Tensor) -> tuple[int, int] | None:
    grad = param.grad
    return None if grad is None else (id(grad), grad._version)


def _global_names(globals_: dict | None) -> dict[int, str]:
    if not globals_:
        return {}
    return {
        id(v): k
        for k, v in list(globals_.items())
        if isinstance(v, torch.nn.Module | torch.Tensor) and not k.startswith("_")
    }


def _hyperparams(group: dict) -> dict:
    out = {}
    for key, value in group.items():
        if key in ("params", "lr"):
            continue
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, bool | int | float | str | type(None)):
            out[key] = value
        elif isinstance(value, list | tuple) and all(isinstance(v, int | float) for v in value):
            out[key] = list(value)
    return out


def _group_lr(recorder: Recorder, g: int) -> float:
    o, position = recorder.group_keys[g]
    optimizer = recorder.optimizers[o][0]()
    if optimizer is None or position >= len(optimizer.param_groups):
        return math.nan
    lr = optimizer.param_groups[position].get("lr", math.nan)
    try:
        return float(lr)
    except (TypeError, ValueError):
        return math.nan


def _activation_sample(output: torch.Tensor, activation: str | None) -> tuple:
    """(a float32 copy of a slice of a module output, shaped [rows, units], activation name).
    The forward hook only takes this copy; ``_activation_stats`` reduces it at the step, with
    every module's sample at once: a hook runs right after a large kernel has evicted the
    interpreter's and the dispatcher's working set from the CPU caches, where each small op
    cost several times what it costs in a loop of them. A copy, not a view: an in-place op
    after the module (``nn.ReLU(inplace=True)``) must not change what was measured."""
    x = output.detach()  # no autograd history for what follows, without a no_grad block
    shape = x.shape
    # Units are channels (dim 1) for images (N, C, H, W), else the last dim (N, F), (N, T, F).
    units = (shape[1] if len(shape) >= 4 else shape[-1]) if len(shape) >= 2 else 1
    rows = max(1, min(x.numel() // max(units, 1), ACT_SAMPLE_ELEMENTS // max(units, 1)))
    if len(shape) >= 4 or (len(shape) >= 2 and not x.is_contiguous()):
        # Whole samples first: moving channels last, or flattening a strided output, copies.
        per_sample = max(x.numel() // shape[0], 1)
        x = x[: max(1, -(-ACT_SAMPLE_ELEMENTS // per_sample))]
        if len(shape) >= 4:
            x = x.movedim(1, -1)
    # The rows of [N*..., units] in order are the batch's first samples.
    return x.reshape(-1, units)[:rows].to(torch.float32, copy=True), activation


def _activation_stats(x: torch.Tensor, activation: str | None) -> tuple:
    """Raw sums over an activation sample [rows, units]: ((sum, sum of squares, non-zero
    elements, units not zero in every row, saturated elements or None), elements, units, rows,
    saturating). A few small reductions; the host turns them into statistics."""
    rows, units = x.shape
    flat = x.reshape(-1)
    bounds = SATURATING.get(activation or "")
    saturated = None
    if bounds is not None:
        low, high = bounds
        middle, reach = (low + high) / 2, (high - low) / 2 - SATURATION_MARGIN
        saturated = (flat - middle).abs_().ge_(reach).sum(dtype=torch.float32)
    # count_nonzero and a per-unit max: several times cheaper on the CPU than (x == 0).sum(0)
    parts = (
        flat.sum(),
        torch.dot(flat, flat),
        torch.count_nonzero(flat),
        torch.count_nonzero(x.abs().amax(dim=0)),  # units not dead
        saturated,
    )
    return parts, flat.numel(), units, rows, bounds is not None


def _act_row(raw: list, n: int, units: int, rows: int, saturating: bool) -> list[float]:
    """[mean, std, zero fraction, dead-unit fraction, saturated fraction] from raw sums."""
    total, squares, nonzero, alive, saturated = (float(v[0]) if len(v) else math.nan for v in raw)
    mean = total / n
    std = math.sqrt(max(squares / n - mean * mean, 0.0)) if math.isfinite(squares) else math.inf
    return [
        mean,
        std,
        (n - nonzero) / n,
        (units - alive) / units if rows > 1 else math.nan,
        saturated / n if saturating else math.nan,
    ]


def _dead_shares(probes: list[torch.Tensor], values: np.ndarray) -> np.ndarray:
    """Share of zero columns of each probe, from the probes' values laid end to end."""
    ends = np.cumsum([probe.numel() for probe in probes], dtype=np.int64)
    parts = np.split(values, ends[:-1]) if probes else []
    return np.array([np.mean(part == 0) if part.size else np.nan for part in parts])


def _sampled_norm(runs: torch.Tensor, scale: torch.Tensor, tail: torch.Tensor) -> torch.Tensor:
    """The norm estimated from a tensor's sample: each run's norm weighted by the square root
    of its stratum's size (``scale``), and the trailing elements taken whole. Reduces the runs
    first, so nothing of the sample's size is allocated."""
    norm = torch.linalg.vector_norm(torch.linalg.vector_norm(runs, dim=1).mul_(scale.view(-1)))
    if tail.numel():
        norm = torch.hypot(norm, torch.linalg.vector_norm(tail))
    return norm


def _host(tensors: list[torch.Tensor]) -> np.ndarray:
    if not tensors:
        return np.zeros(0, dtype=np.float32)
    return torch.stack([t.float() for t in tensors]).cpu().numpy()


def _host_parts(parts: list[torch.Tensor | None]) -> list[np.ndarray]:
    """Move every part to the host in one transfer."""
    present = [p.reshape(-1).float() for p in parts if p is not None]
    if not present:
        return [np.zeros(0, np.float32) for _ in parts]
    devices = {p.device for p in present}
    if len(devices) > 1:
        present = [p.cpu() for p in present]
    flat = torch.cat(present).cpu().numpy()
    out, offset = [], 0
    for p in parts:
        if p is None:
            out.append(np.zeros(0, np.float32))
            continue
        n = p.numel()
        out.append(flat[offset : offset + n])
        offset += n
    return out


def _mask(width: int, indices: list[int]) -> np.ndarray:
    out = np.zeros(width, dtype=bool)
    out[list(indices)] = True
    return out


def _column(width: int, indices: list[int], values: np.ndarray, dtype) -> np.ndarray:
    out = np.full(width, np.nan, dtype=dtype)
    if len(indices):
        out[indices] = values
    return out


# -------------------------------------------------------------------- public entry points


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
    recorder = start(path, every=every, command=tuple(sys.argv))
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
