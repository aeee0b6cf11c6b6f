"""Generated data for the real programs: nothing is downloaded while the harness runs.

Each generator writes into the run's working copy (never the checkout) and is named by the
manifest's ``data:`` key."""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import numpy as np

WORDS = (
    "the a one every some cat dog bird model layer network gradient sees finds trains learns "
    "updates small large deep quiet quick red blue on under near with and but then"
).split()


def _sentences(n: int, seed: int) -> list[str]:
    """A small grammar, so the next word is partly predictable (a language model can learn)."""
    rng = random.Random(seed)
    det, noun, verb, adj = WORDS[:5], WORDS[5:13], WORDS[13:18], WORDS[18:24]
    return [
        " ".join(
            [rng.choice(det), rng.choice(adj), rng.choice(noun), rng.choice(verb)]
            + [rng.choice(det), rng.choice(noun)]
        )
        for _ in range(n)
    ]


def word_corpus(workdir: Path) -> None:
    """train.txt, valid.txt, test.txt in ``corpus/`` (pytorch/examples word_language_model
    reads them with ``--data corpus``)."""
    folder = workdir / "corpus"
    folder.mkdir(exist_ok=True)
    for name, n, seed in (("train", 1500, 0), ("valid", 150, 1), ("test", 150, 2)):
        (folder / f"{name}.txt").write_text("\n".join(_sentences(n, seed)) + "\n")


def char_text(workdir: Path) -> None:
    """input.txt: text for character-level models (minGPT chargpt, whose sampling starts from
    "O God, O God!": every character of it must be in the vocabulary)."""
    lines = [s.capitalize() + "!" for s in _sentences(6000, 3)]
    (workdir / "input.txt").write_text("O God, O God!\n" + "\n".join(lines) + "\n")


def nanogpt_tokens(workdir: Path) -> None:
    """data/synth/{train,val}.bin and meta.pkl, the layout nanoGPT's prepare.py scripts write
    (uint16 token ids, the vocabulary size in meta.pkl, which nanoGPT reads with pickle)."""
    folder = workdir / "data" / "synth"
    folder.mkdir(parents=True, exist_ok=True)
    text = "\n".join(_sentences(8000, 4)) + "\n"
    chars = sorted(set(text))
    ids = np.array([chars.index(c) for c in text], dtype=np.uint16)
    cut = int(0.9 * len(ids))
    ids[:cut].tofile(folder / "train.bin")
    ids[cut:].tofile(folder / "val.bin")
    meta = {"vocab_size": len(chars), "itos": dict(enumerate(chars))}
    (folder / "meta.pkl").write_bytes(pickle.dumps(meta))


GENERATORS = {"word_corpus": word_corpus, "char_text": char_text, "nanogpt_tokens": nanogpt_tokens}
