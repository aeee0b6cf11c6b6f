"""What the program chunk says about a tensor: its dtype's name and summary statistics (never
its values)."""

from __future__ import annotations

import math

import torch

DTYPE_NAMES = {
    torch.float32: "float32",
    torch.float64: "float64",
    torch.float16: "float16",
    torch.bfloat16: "bfloat16",
    torch.int64: "int64",
    torch.int32: "int32",
    torch.int16: "int16",
    torch.int8: "int8",
    torch.uint8: "uint8",
    torch.bool: "bool",
}


def tensor_summary(tensor: torch.Tensor) -> dict:
    """Shape, dtype and summary statistics of a tensor: never its values."""
    out: dict = {
        "shape": list(tensor.shape),
        "dtype": DTYPE_NAMES.get(tensor.dtype, str(tensor.dtype)),
    }
    if tensor.numel() == 0:
        return out
    data = tensor.detach()
    if data.is_floating_point():
        data = data.float()
        out.update(
            mean=_finite(data.mean()),
            std=_finite(data.std()) if data.numel() > 1 else 0.0,
            min=_finite(data.min()),
            max=_finite(data.max()),
        )
    elif data.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        out.update(min=int(data.min()), max=int(data.max()))
    elif data.dtype == torch.bool:
        out.update(mean=_finite(data.float().mean()))
    return out


def _finite(value: torch.Tensor) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None
