"""Distributed runs (torchrun, or any torch.distributed launch through env://): one trace per
rank, so that ranks never write over each other's file."""

from __future__ import annotations

import os
from collections.abc import Mapping


def rank_and_world_size(environ: Mapping[str, str] = os.environ) -> tuple[int, int] | None:
    """(rank, world size) from the launcher's RANK and WORLD_SIZE, or None for one process."""
    try:
        rank, world_size = int(environ["RANK"]), int(environ["WORLD_SIZE"])
    except (KeyError, ValueError):
        return None
    if world_size < 2 or not 0 <= rank < world_size:
        return None
    return rank, world_size


def per_rank_path(path: str | os.PathLike, environ: Mapping[str, str] = os.environ) -> str:
    """``run.trace`` → ``run.rank1.trace`` on rank 1 of a distributed run; unchanged otherwise."""
    path = os.fspath(path)
    ranked = rank_and_world_size(environ)
    if ranked is None:
        return path
    stem, ext = os.path.splitext(path)
    return f"{stem}.rank{ranked[0]}{ext or '.trace'}"
