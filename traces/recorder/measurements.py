"""What a row measures: gradients before and after a backward pass (fresh or stale),
gradient and weight norms and dead-column probes before an optimizer's step, update norms
after it, and the same without an optimizer (weights changed by hand after a backward)."""

from __future__ import annotations

import math

import torch

from traces.model import EventKind
from traces.recorder.constants import AFTER, BEFORE, UPDATE_SAMPLE_ELEMENTS
from traces.recorder.state import ManualSnapshot, StepMeasurements, WeightCopy, grad_state
from traces.recorder.statistics import host, sampled_norm


class Measurements:
    """The part of ``Recorder`` that measures parameters and their gradients."""

    def _look_at_grads(self, *, first: bool) -> None:
        """Compare each .grad with what it held when we last looked: cleared, or stale?"""
        window = self.window
        changed, kept = [], []
        cleared_any = False
        for i, info in enumerate(self.params):
            param = info.ref()
            if param is None:
                continue
            state = grad_state(param)
            if state is None:
                cleared_any |= info.grad_state is not None
            elif state != info.grad_state:
                changed.append(i)
            elif i not in self.zeroed:
                kept.append(i)
        zeroed: set[int] = set()
        if changed:
            grads = [self.params[i].ref().grad for i in changed]
            norms = host(torch._foreach_norm(grads, 2, dtype=torch.float32))
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

    def _step_pre(self, optimizer) -> None:
        self.ever_stepped = True
        self.manual = None
        self._sync()
        opt = self._optimizer_id(optimizer)
        window = self.window
        if not window.recording or self.capped:
            self.step_state = StepMeasurements(optimizer=opt, recording=False)
            return
        # Usually nothing touched .grad since the backward: its norm is the fresh norm too.
        reuse = window.fresh is None and window.backward > 0 and not window.snapshots
        if not reuse:
            self._measure_fresh()
        members = [i for i, info in enumerate(self.params) if info.optimizer == opt]
        self.step_state = self._measure_before(opt, members)
        if reuse:
            state = self.step_state
            window.fresh = dict(zip(state.with_grad, state.grad_norm, strict=True))

    def _measure_before(self, opt: int, members: list[int]) -> StepMeasurements:
        params = [info.ref() for info in self.params]
        live = [i for i, p in enumerate(params) if p is not None]
        with_grad = [i for i in live if params[i].grad is not None]
        grads = [params[i].grad.detach() for i in with_grad]
        # torch optimizers skip parameters without .grad: their update is exactly 0
        stepped = [i for i in members if params[i] is not None and params[i].grad is not None]
        idle = [i for i in members if params[i] is not None and params[i].grad is None]
        grad_norm = torch._foreach_norm(grads, 2, dtype=torch.float32) if grads else []
        dead_idx = [i for i in with_grad if params[i].grad.dim() == 2]
        dead = [self.sampler.dead_columns(params[i].grad.detach()) for i in dead_idx]
        before = self._copy_weights(params, stepped)
        return StepMeasurements(
            optimizer=opt,
            recording=True,
            live=live,
            with_grad=with_grad,
            members=stepped,
            idle=idle,
            grad_norm=grad_norm,
            weight_norm=self._weight_norms(params, live, before),
            dead_idx=dead_idx,
            dead=dead,
            before=before,
        )

    def _weight_norms(
        self, params: list, live: list[int], before: WeightCopy
    ) -> list[torch.Tensor]:
        """Norm of each live weight, in ``live`` order: exact for small tensors, estimated from
        the fixed sample for large ones (the members' samples were just read for the update)."""
        taken = dict(zip(before.sampled, before.values, strict=True))
        exact, exact_idx, norms = [], [], {}
        for i in live:
            weight = params[i].detach()
            if weight.numel() > UPDATE_SAMPLE_ELEMENTS and weight.is_contiguous():
                runs, tail = taken.get(i) or self.sampler.sampled_values(i, weight, BEFORE)
                scale = self.sampler.update_sample(i, weight).scale
                norms[i] = sampled_norm(runs, scale, tail)
            else:
                exact_idx.append(i)
                exact.append(weight)
        if exact:
            exact_norms = torch._foreach_norm(exact, 2, dtype=torch.float32)
            norms.update(zip(exact_idx, exact_norms, strict=True))
        return [norms[i] for i in live]

    def _copy_weights(self, params: list, members: list[int]) -> WeightCopy:
        """What the update norm needs of the members' weights before the step: small tensors
        whole (copied into buffers kept from step to step), large ones as their values at a
        fixed sample of positions (``Sampler.update_sample``) - a copy of every weight cost a pass
        over the model and its size in memory."""
        exact, buffers, weights, sampled, values, numel = [], [], [], [], [], []
        for i in members:
            weight = params[i].detach()
            if weight.numel() > UPDATE_SAMPLE_ELEMENTS and weight.is_contiguous():
                sampled.append(i)
                numel.append(weight.numel())
                values.append(self.sampler.sampled_values(i, weight, BEFORE))
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
        return WeightCopy(exact, buffers, sampled, values, numel)

    def _update_norms(self, params: list, before: WeightCopy) -> dict[int, torch.Tensor]:
        """Norm of (after - before) per member: exact for small tensors, estimated from the
        fixed sample for large ones."""
        out: dict[int, torch.Tensor] = {}
        if before.buffers:
            after = [params[i].detach() for i in before.exact]
            torch._foreach_sub_(before.buffers, after)
            norms = torch._foreach_norm(before.buffers, 2, dtype=torch.float32)
            out.update(zip(before.exact, norms, strict=True))
        for i, (runs, tail), numel in zip(before.sampled, before.values, before.numel, strict=True):
            weight = params[i].detach()
            if not weight.is_contiguous() or weight.numel() != numel:
                out[i] = torch.tensor(math.nan)  # the step replaced the tensor (p.data = ...)
                continue
            scale = self.sampler.update_sample(i, weight).scale
            runs_after, tail_after = self.sampler.sampled_values(i, weight, AFTER)
            out[i] = sampled_norm(runs_after.sub_(runs), scale, tail_after.sub_(tail))
        return out

    def _step_post(self, optimizer) -> None:
        state, self.step_state = self.step_state, None
        window = self.window
        window.add(EventKind.STEP, state.optimizer)
        step_number = self.total_steps
        self.total_steps += 1
        if state.recording:
            params = [info.ref() for info in self.params]
            norms = self._update_norms(params, state.before)
            update = [norms[i] for i in state.members]
            self._emit_row(step_number, state, update)
        else:
            self._close_window(record=False)
        for info in self.params:
            param = info.ref()
            if param is not None:
                info.grad_state = grad_state(param)
        self._maybe_flush()

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
        self.manual = ManualSnapshot(
            fresh=self._fresh_norms() if self.window.recording else {},
            dead_idx=[i for i, _ in dead],
            dead=[self.sampler.dead_columns(p.grad.detach()) for _, p in dead],
            params=[i for i, _ in params],
            weights=[p.detach().clone() for _, p in params],
            with_grad=[i for i, _ in with_grad],
            grad_norm=torch._foreach_norm(
                [p.grad.detach() for _, p in with_grad], 2, dtype=torch.float32
            )
            if with_grad
            else [],
        )

    def _manual_boundary(self) -> None:
        """Without an optimizer a row ends when the weights changed after a backward pass; look
        before anything that starts the next iteration (forward, zero_grad, backward, the end)."""
        if self.manual is not None and not self.ever_stepped and self.window.backward > 0:
            self._check_manual_update()

    def _check_manual_update(self) -> None:
        manual = self.manual
        params = [self.params[i].ref() for i in manual.params]
        pairs = [
            (i, w, p)
            for i, w, p in zip(manual.params, manual.weights, params, strict=True)
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
        state = StepMeasurements(
            optimizer=-1,
            recording=True,
            live=members,
            with_grad=manual.with_grad,
            members=members,
            grad_norm=manual.grad_norm,
            weight_norm=torch._foreach_norm(before, 2, dtype=torch.float32),
            dead_idx=manual.dead_idx,
            dead=manual.dead,
        )
        window.fresh = manual.fresh
        self._emit_row(step_number, state, diffs)
        self._maybe_flush()
