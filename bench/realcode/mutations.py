"""Mutated variants, made by the harness from the original source of a program (in the run's
working copy; the checkout is never touched). Each takes the file's text and returns the new
text, or raises MutationError when the program has no such line (the manifest is wrong)."""

from __future__ import annotations

import re

ZERO_GRAD = re.compile(r"^(\s*)(.*\.zero_grad\(.*\))\s*$")
BACKWARD = re.compile(r"^(\s*).*\.backward\(.*$")
ACTIVATIONS = (
    (re.compile(r"\bF\.relu\("), "torch.sigmoid("),
    (re.compile(r"\bF\.gelu\("), "torch.sigmoid("),
    (re.compile(r"\b(?:torch\.)?nn\.functional\.(?:relu|gelu)\("), "torch.sigmoid("),
    (re.compile(r"\btorch\.relu\("), "torch.sigmoid("),
    (re.compile(r"\bnn\.(?:ReLU|GELU|LeakyReLU)\([^)]*\)"), "nn.Sigmoid()"),
    (re.compile(r"\bnn\.Tanh\(\)"), "nn.Sigmoid()"),
    (re.compile(r"\btorch\.tanh\("), "torch.sigmoid("),
)


class MutationError(Exception):
    pass


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=False)


def remove_zero_grad(text: str) -> str:
    """Every ``.zero_grad(...)`` line becomes ``pass`` (an if/else keeps its body)."""
    out, hits = [], 0
    for line in _lines(text):
        match = ZERO_GRAD.match(line)
        if match:
            out.append(f"{match[1]}pass  # zero_grad removed by the harness")
            hits += 1
        else:
            out.append(line)
    if not hits:
        raise MutationError("no .zero_grad( line")
    return "\n".join(out) + "\n"


def zero_grad_after_backward(text: str, *, call: str | None = None) -> str:
    """The ``zero_grad`` call moves to just after the first ``.backward(`` line: the step then
    uses cleared gradients. ``call``: which of several (an if/else of two styles) moves."""
    lines = _lines(text)
    calls = [ZERO_GRAD.match(line) for line in lines]
    first = call or next((m[2] for m in calls if m), None)
    if first is None:
        raise MutationError("no .zero_grad( line")
    out = []
    moved = False
    for line, match in zip(lines, calls, strict=True):
        if match:
            out.append(f"{match[1]}pass  # zero_grad moved by the harness")
            continue
        out.append(line)
        backward = BACKWARD.match(line)
        if backward and not moved:
            out.append(f"{backward[1]}{first}  # moved here by the harness")
            moved = True
    if not moved:
        raise MutationError("no .backward( line")
    return "\n".join(out) + "\n"


def detach(text: str, *, target: str) -> str:
    """``.detach()`` on a layer's output: ``target`` is an expression of the source, e.g.
    ``self.conv2(x)``, which becomes ``self.conv2(x).detach()`` (first occurrence)."""
    if target not in text:
        raise MutationError(f"no {target!r} in the source")
    return text.replace(target, f"{target}.detach()", 1)


def sigmoid(text: str) -> str:
    """Every ReLU / GELU / tanh activation becomes a sigmoid."""
    count = 0
    for pattern, replacement in ACTIVATIONS:
        text, n = pattern.subn(replacement, text)
        count += n
    if not count:
        raise MutationError("no activation to replace")
    if "torch.sigmoid(" in text and not re.search(r"^import torch\b", text, re.M):
        text = "import torch\n" + text
    return text


def replace(text: str, *, old: str, new: str) -> str:
    """A literal replacement the manifest spells out (a learning rate written in the code)."""
    if old not in text:
        raise MutationError(f"no {old!r} in the source")
    return text.replace(old, new, 1)


SOURCE_MUTATIONS = {
    "no_zero_grad": remove_zero_grad,
    "zero_grad_after_backward": zero_grad_after_backward,
    "detach": detach,
    "sigmoid": sigmoid,
    "replace": replace,
}
