"""The torch hooks and wrappers the recorder installs, and what each does on the hot path:
forward pre/post hooks, the wrapped ``torch.autograd.backward``, ``zero_grad``, the clipping
helpers and ``GradScaler``, and the global optimizer step hooks. Any error of ours inside a
hook stops recording, never the training."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import weakref
from collections.abc import Iterator

import torch

from traces.model import EventKind
from traces.recorder.state import ScaledLoss, grad_state
from traces.recorder.statistics import activation_sample


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


class Hooks:
    """The part of ``Recorder`` that torch calls into."""

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
            not _compiling()
            and not self.finished
            and not self.failure
            and not self.exporting
            and os.getpid() == self.pid
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

    def _on_registration(self, module, name, value):
        self.tree_dirty = True

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
            self._program_forward(module, args)
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
        if self.depth == 0:
            self._program_output(module, output)
        index = self.module_index.get(id(module))
        if index is None:
            return None
        info = self.modules[index]
        if info.order == -1:
            info.order = self.order_counter
            self.order_counter += 1
        if info.grad_step == -1 and torch.is_grad_enabled():
            info.grad_step = self.total_steps
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
            window.acts[index] = activation_sample(output)
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
        self._program_loss(tensors)

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
            if self.scaled is not None and self.scaled.scaled() is loss:
                loss = self.scaled.unscaled
            window.loss = loss.detach()
        for info in self.params:
            param = info.ref()
            if param is not None:
                info.grad_state = grad_state(param)
        if not self.ever_stepped:
            self._snapshot_manual()

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
                    grad_state(p) if (p := info.ref()) is not None else None
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
                        info.grad_state = grad_state(param)
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
                recorder.scaled = ScaledLoss(weakref.ref(result), outputs)
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

    # ---------------------------------------------------------------- optimizer steps

    @_hook
    def _on_step_pre(self, optimizer, args, kwargs):
        if not self._ours():
            return None
        # args holds the optimizer itself first (torch passes step's own *args), then closure
        closure = kwargs.get("closure", args[1] if len(args) > 1 else None)
        if callable(closure):
            # step(closure) (LBFGS, Lightning's automatic optimization): the closure computes
            # the gradients this step uses, so they are read when it first returns, not now.
            return self._measure_after_closure(optimizer, args, kwargs, closure)
        with self._lock:
            self._program_capture(optimizer)
            self._step_pre(optimizer)
        return None

    def _measure_after_closure(self, optimizer, args, kwargs, closure):
        recorder, measured = self, []

        @functools.wraps(closure)
        def measured_closure(*a, **k):
            result = closure(*a, **k)
            with recorder._guarded():
                if not measured:  # LBFGS calls it again as it searches: the first call counts
                    recorder._step_pre(optimizer)
                    measured.append(recorder.window.fresh)
                else:  # a later call's backward is the search's, not a new window's gradient
                    recorder.window.fresh = measured[0]
            return result

        if "closure" in kwargs:
            return args, {**kwargs, "closure": measured_closure}
        return (args[0], measured_closure, *args[2:]), kwargs

    @_hook
    def _on_step_post(self, optimizer, args, kwargs):
        if not self._ours() or self.step_state is None:
            return
        with self._lock:
            self._step_post(optimizer)
