"""Rows and META: a row's measurements moved to the host in one transfer and laid out as
the trace's per-step arrays, the size caps, and the META object of the run so far."""

from __future__ import annotations

import math
import platform
import sys

import numpy as np
import torch

from traces import format as trace_format
from traces.distributed import rank_and_world_size
from traces.model import FORMAT_VERSION, RunEnd
from traces.recorder.constants import ACT_SAMPLE_ELEMENTS, DEAD_PROBE_ROWS, UPDATE_SAMPLE_ELEMENTS
from traces.recorder.state import StepMeasurements, Window
from traces.recorder.statistics import act_row, activation_sums, dead_shares, host_parts


class RowWriter:
    """The part of ``Recorder`` that turns measurements into rows and META."""

    def _emit_row(self, step_number: int, state: StepMeasurements, update: list) -> None:
        """Add the row of ``state`` (measured before the step) and ``update`` (the update norm
        of each of ``state.members``) to the stream, and start the next window."""
        window = self.window
        P, M, G = len(self.params), len(self.modules), len(self.groups)
        opt, members = state.optimizer, state.members
        fresh = window.fresh or {}
        fresh_idx = list(fresh)
        act_idx = list(window.acts)
        act_sums = [activation_sums(window.acts[m], self.modules[m].activation) for m in act_idx]
        loss = window.loss
        parts = [
            torch.stack(state.grad_norm) if state.grad_norm else None,
            torch.stack([fresh[i] for i in fresh_idx]) if fresh_idx else None,
            torch.stack(state.weight_norm) if state.weight_norm else None,
            torch.stack(update) if update else None,
            torch.cat(state.dead) if state.dead else None,
            loss.reshape(1).float() if loss is not None else None,
        ]
        for sums in act_sums:
            parts.extend(sums.sums)
        # One transfer; then each part's values, in the order of ``parts``.
        (
            grad_values,
            fresh_values,
            weight_values,
            update_values,
            dead_values,
            loss_values,
            *act_values,
        ) = host_parts(parts)
        grad_norm = _column(P, state.with_grad, grad_values, np.float32)
        fresh_norm = _column(P, fresh_idx, fresh_values, np.float32)
        weight_norm = _column(P, state.live, weight_values, np.float32)
        update_norm = _column(P, members, update_values, np.float32)
        update_norm[state.idle] = 0.0
        dead = _column(P, state.dead_idx, dead_shares(state.dead, dead_values), np.float32)
        # A module's five statistics (act_row) from its five sums (ActivationSums.sums).
        acts = np.full((M, 5), np.nan, dtype=np.float32)
        if act_idx:
            acts[act_idx] = [
                act_row(act_values[5 * k : 5 * k + 5], sums) for k, sums in enumerate(act_sums)
            ]
        act_mean, act_std, act_zero_frac, act_dead_frac, act_sat_frac = acts.T
        loss_value = float(loss_values[0]) if loss is not None else math.nan

        # Non-finite counts: a norm is finite exactly when every element is, so only count
        # elements of the (rare) tensors whose norm is not.
        params = [info.ref() for info in self.params]
        has_grad = _mask(P, state.with_grad)
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
        for i in np.flatnonzero(suspicious & _mask(P, state.live)):
            if params[i] is not None:
                weight_bad[i] = int((~torch.isfinite(params[i].detach())).sum())

        # A parameter of another optimizer is that optimizer's business: a GAN's discriminator
        # collects the generator loss's gradient between its own steps and clears it in time.
        stale = np.zeros(P, dtype=bool)
        stale[[i for i in window.stale if self.params[i].optimizer in (None, opt)]] = True
        lr = np.array([self._group_lr(g) for g in range(G)], dtype=np.float64)
        row = {
            "step": step_number,
            "optimizer": opt,
            "backward_count": window.backward,
            "cleared": window.cleared,
            "loss": loss_value,
            # NaN because it was (the lnan chunk), not because no loss was seen
            "loss_nan": loss is not None and math.isnan(loss_value),
            "lr": lr,
            "grad_norm": grad_norm,
            "fresh_grad_norm": fresh_norm,
            "weight_norm": weight_norm,
            "update_norm": update_norm,
            "grad_nonfinite": grad_bad,
            "weight_nonfinite": weight_bad,
            "stale_grad": stale,
            "grad_dead_in_frac": dead,
            "act_mean": act_mean,
            "act_std": act_std,
            "act_zero_frac": act_zero_frac,
            "act_dead_frac": act_dead_frac,
            "act_sat_frac": act_sat_frac,
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
        self.window = Window(recording=(self.total_steps % self.every == 0) and not self.capped)

    def _over_caps(self) -> bool:
        rows = self.stream.num_rows
        cells = rows * (len(self.params) + len(self.modules) + len(self.groups) + 1)
        return (
            rows >= trace_format.MAX_ROWS - 1
            or cells >= trace_format.MAX_CELLS * 0.9
            or self.stream.bytes_written >= trace_format.MAX_FILE_BYTES * 0.9
        )

    def _maybe_flush(self) -> None:
        if self.program_child is not None:
            self._program_poll()
        if self.stream.due():
            self.stream.flush(self.meta(RunEnd.RUNNING))

    def _group_lr(self, g: int) -> float:
        group = self.groups[g]
        optimizer = self.optimizers[group.optimizer].ref()
        if optimizer is None or group.position >= len(optimizer.param_groups):
            return math.nan
        lr = optimizer.param_groups[group.position].get("lr", math.nan)
        try:
            return float(lr)
        except (TypeError, ValueError):
            return math.nan

    # ---------------------------------------------------------------- the file

    def meta(self, ended: RunEnd, exit_code: int | None = None, error: str = "") -> dict:
        extra: dict = {
            "recorder": "gradhub-traces",
            "act_sample_elements": ACT_SAMPLE_ELEMENTS,
            "update_sample_elements": UPDATE_SAMPLE_ELEMENTS,
            "dead_probe_rows": DEAD_PROBE_ROWS,
        }
        if ranked := rank_and_world_size():
            extra["rank"], extra["world_size"] = ranked
        if self.capped:
            extra["rows_capped"] = True
        if self.failure:
            extra["recorder_error"] = self.failure
        groups = [
            {"optimizer": group.optimizer, "hyperparams": group.hyperparams}
            for group in self.groups
        ]
        optimizers = [
            {
                "type": optimizer.type,
                "groups": [g for g, group in enumerate(self.groups) if group.optimizer == o],
            }
            for o, optimizer in enumerate(self.optimizers)
        ]
        module_paths = _unique([m.path for m in self.modules])
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
                    # a second copy of a model: its parameters belong to the copy's "#n" paths
                    "module": p.module if p.owner is None else module_paths[p.owner],
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
                {
                    "path": path,
                    "type": m.type,
                    "order": m.order,
                    "activation": m.activation,
                    "grad_step": m.grad_step,
                }
                for m, path in zip(self.modules, module_paths, strict=True)
            ],
            "groups": groups,
            "optimizers": optimizers,
            "extra": extra,
        }


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


def _mask(width: int, indices: list[int]) -> np.ndarray:
    out = np.zeros(width, dtype=bool)
    out[list(indices)] = True
    return out


def _column(width: int, indices: list[int], values: np.ndarray, dtype) -> np.ndarray:
    out = np.full(width, np.nan, dtype=dtype)
    if len(indices):
        out[indices] = values
    return out
