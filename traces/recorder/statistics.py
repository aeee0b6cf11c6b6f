"""The reductions behind a row's statistics: activation samples and their sums, norms
estimated from a fixed sample of a large tensor, dead-column probes, and the single transfer
of a row's values to the host.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from traces.recorder.constants import (
    ACT_SAMPLE_ELEMENTS,
    DEAD_PROBE_ROWS,
    SATURATING,
    SATURATION_MARGIN,
    UPDATE_SAMPLE_ELEMENTS,
    UPDATE_SAMPLE_RUN,
)


@dataclass(slots=True)
class UpdateSample:
    """The fixed sample of a large tensor (``Sampler.update_sample``)."""

    index: torch.Tensor  # run numbers
    scale: torch.Tensor  # sqrt of each run's weight = its stratum's size in runs, shaped (k, 1)


@dataclass(slots=True)
class ActivationSums:
    """Raw sums over an activation sample, reduced on the device; ``act_row`` turns them into
    statistics on the host."""

    # (sum, sum of squares, non-zero elements, units not zero in every row, saturated
    # elements or None): 0-d tensors, moved to the host with the rest of the row
    sums: tuple
    elements: int
    units: int
    rows: int
    saturating: bool


class Sampler:
    """The fixed samples and probes the step statistics read through, kept from step to step
    along with the buffers they are read into."""

    def __init__(self) -> None:
        self.probes: dict[tuple, torch.Tensor] = {}  # dead_columns
        self.samples: dict[tuple, UpdateSample] = {}  # update_sample
        self.buffers: dict[tuple[int, int], torch.Tensor] = {}  # sampled_values

    def update_sample(self, i: int, weight: torch.Tensor) -> UpdateSample:
        """A fixed stratified sample of a large tensor, the same every step: the flat tensor is
        seen as runs of UPDATE_SAMPLE_RUN consecutive elements, the runs are cut into nearly
        equal consecutive strata, and one run at a fixed random position is taken from each;
        the few elements after the last whole run are always taken. The weighted sum of
        squared differences is an unbiased estimate of the full sum. Runs of 16 float32
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
            sample = UpdateSample(index.to(weight.device), scale.to(weight.device))
            self.samples[key] = sample
        return sample

    def sampled_values(
        self, i: int, weight: torch.Tensor, slot: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(the sampled runs, the trailing elements) of a contiguous tensor, in float32. The
        runs are gathered into a buffer kept per (parameter, BEFORE/AFTER): allocating them
        afresh each step scattered small blocks through the memory the training step frees
        and reuses, and the recorded runs paid for it in page faults."""
        index = self.update_sample(i, weight).index
        flat = weight.view(-1)
        whole = flat.numel() - flat.numel() % UPDATE_SAMPLE_RUN
        shape = (index.numel(), UPDATE_SAMPLE_RUN)
        buffer = self.buffers.get((i, slot))
        if (
            buffer is None
            or buffer.shape != shape
            or buffer.dtype != weight.dtype
            or buffer.device != weight.device
        ):
            buffer = torch.empty(shape, dtype=weight.dtype, device=weight.device)
            self.buffers[(i, slot)] = buffer
        torch.index_select(flat[:whole].view(-1, UPDATE_SAMPLE_RUN), 0, index, out=buffer)
        return buffer.float(), flat[whole:].to(torch.float32, copy=True)

    def dead_columns(self, grad: torch.Tensor) -> torch.Tensor:
        """A probe of a 2-D gradient's columns, zero exactly where a column is all zeros:
        ``r @ grad`` with a fixed positive random ``r`` (barring an exact cancellation), one
        matrix-vector product instead of a comparison and reduction over every element, on at
        most DEAD_PROBE_ROWS evenly spaced rows (a strided view: no copy). The host counts
        the zeros (``dead_shares``) after the row's single transfer."""
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


def activation_sample(output: torch.Tensor) -> torch.Tensor:
    """A float32 copy of a slice of a module output, shaped [rows, units]. The forward hook
    only takes this copy; ``activation_sums`` reduces it at the step, with every module's
    sample at once: a hook runs right after a large kernel has evicted the interpreter's and
    the dispatcher's working set from the CPU caches, where each small op cost several times
    what it costs in a loop of them. A copy, not a view: an in-place op after the module
    (``nn.ReLU(inplace=True)``) must not change what was measured."""
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
    return x.reshape(-1, units)[:rows].to(torch.float32, copy=True)


def activation_sums(x: torch.Tensor, activation: str | None) -> ActivationSums:
    """Raw sums over an activation sample [rows, units]: a few small reductions; the host
    turns them into statistics."""
    rows, units = x.shape
    flat = x.reshape(-1)
    bounds = SATURATING.get(activation or "")
    saturated = None
    if bounds is not None:
        low, high = bounds
        middle, reach = (low + high) / 2, (high - low) / 2 - SATURATION_MARGIN
        saturated = (flat - middle).abs_().ge_(reach).sum(dtype=torch.float32)
    # count_nonzero and a per-unit max: several times cheaper on the CPU than (x == 0).sum(0)
    sums = (
        flat.sum(),
        torch.dot(flat, flat),
        torch.count_nonzero(flat),
        torch.count_nonzero(x.abs().amax(dim=0)),  # units not dead
        saturated,
    )
    return ActivationSums(sums, flat.numel(), units, rows, bounds is not None)


def act_row(raw: list, sums: ActivationSums) -> list[float]:
    """[mean, std, zero fraction, dead-unit fraction, saturated fraction] from the host values
    of ``sums.sums`` (``raw``: one array per sum, empty where the sum is None)."""
    total, squares, nonzero, alive, saturated = (float(v[0]) if len(v) else math.nan for v in raw)
    n, units = sums.elements, sums.units
    mean = total / n
    std = math.sqrt(max(squares / n - mean * mean, 0.0)) if math.isfinite(squares) else math.inf
    return [
        mean,
        std,
        (n - nonzero) / n,
        (units - alive) / units if sums.rows > 1 else math.nan,
        saturated / n if sums.saturating else math.nan,
    ]


def dead_shares(probes: list[torch.Tensor], values: np.ndarray) -> np.ndarray:
    """Share of zero columns of each probe, from the probes' values laid end to end."""
    ends = np.cumsum([probe.numel() for probe in probes], dtype=np.int64)
    parts = np.split(values, ends[:-1]) if probes else []
    return np.array([np.mean(part == 0) if part.size else np.nan for part in parts])


def sampled_norm(runs: torch.Tensor, scale: torch.Tensor, tail: torch.Tensor) -> torch.Tensor:
    """The norm estimated from a tensor's sample: each run's norm weighted by the square root
    of its stratum's size (``scale``), and the trailing elements taken whole. Reduces the runs
    first, so nothing of the sample's size is allocated."""
    norm = torch.linalg.vector_norm(torch.linalg.vector_norm(runs, dim=1).mul_(scale.view(-1)))
    if tail.numel():
        norm = torch.hypot(norm, torch.linalg.vector_norm(tail))
    return norm


def host(tensors: list[torch.Tensor]) -> np.ndarray:
    if not tensors:
        return np.zeros(0, dtype=np.float32)
    return torch.stack([t.float() for t in tensors]).cpu().numpy()


def host_parts(parts: list[torch.Tensor | None]) -> list[np.ndarray]:
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
