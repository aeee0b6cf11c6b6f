"""Distributed runs (torchrun, or any torch.distributed launch through env://): one trace per
rank, so that ranks never write over each other's file; and finding those files again (the
diagnosis compares the ranks, the upload sends them together)."""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Mapping
from pathlib import Path


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


_RANK_FILE = re.compile(r"^(?P<stem>.+)\.rank(?P<rank>\d+)(?P<ext>\.[^.]+)?$")


def rank_files(path: str | os.PathLike) -> list[Path]:
    """The rank files of a distributed run, rank 0 first: ``run.trace`` or ``run.rank1.trace``
    → [``run.rank0.trace``, ``run.rank1.trace``, …] as they exist on disk; [] when there are
    none (a single-process run)."""
    path = Path(path)
    match = _RANK_FILE.match(path.name)
    stem, ext = (match["stem"], match["ext"] or "") if match else (path.stem, path.suffix)
    found = []
    for candidate in path.parent.glob(f"{glob.escape(stem)}.rank*{glob.escape(ext)}"):
        m = _RANK_FILE.match(candidate.name)
        if m and m["stem"] == stem and (m["ext"] or "") == ext and candidate.is_file():
            found.append((int(m["rank"]), candidate))
    return [p for _, p in sorted(found)]
