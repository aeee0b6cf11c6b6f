"""The engine: run every registered detector over a trace and return one Diagnosis.

from analysis import diagnose
diagnosis = diagnose(trace)          # trace: traces.model.Trace
diagnosis.to_dict()                  # JSON-safe, see analysis/findings.py
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# CAUSE_ORDER and SUPPRESSES are derived from the detectors' registrations (and importable here).
from analysis.detectors import CAUSE_ORDER, DETECTORS, SUPPRESSES
from analysis.detectors._view import TraceView
from analysis.findings import SEVERITY_RANK, Diagnosis, Finding, Severity
from traces.model import Trace

# Bump when a detector, a threshold or the finding shape changes: the web app keeps one
# diagnosis per trace and engine version.
ENGINE_VERSION = "1.8.0"


def diagnose(trace: Trace, *, peers: Sequence[Trace] = ()) -> Diagnosis:
    """``peers``: the other ranks' traces of a distributed run (rank 0 is ``trace``)."""
    view = TraceView(trace, tuple(peers))
    findings: list[Finding] = []
    for detector in DETECTORS:
        findings.extend(detector.detect(view))
    present = {f.code for f in findings}
    hidden = {code for cause in present for code in SUPPRESSES.get(cause, ())}
    findings = [f for f in findings if f.code not in hidden]
    findings.sort(key=lambda f: (SEVERITY_RANK[f.severity], CAUSE_ORDER.index(f.code)))
    return Diagnosis(
        engine_version=ENGINE_VERSION,
        findings=tuple(findings),
        summary=_summary(findings) if trace.num_rows else _empty_summary(trace),
        facts=_facts(trace) | _not_judged(view) | _layer_names(view, findings),
    )


def _empty_summary(trace: Trace) -> str:
    run = trace.run
    how = {
        "completed": "the script finished",
        "exit": f"the script exited (code {run.exit_code})",
        "exception": f"the script raised {run.error or 'an exception'}",
        "interrupted": "the run was interrupted",
        "running": "the file was cut off",
    }.get(str(run.ended.value), str(run.ended.value))
    return (
        f"No optimizer step was recorded ({how} before its first step): there is nothing to "
        "diagnose yet."
    )


def _summary(findings: list[Finding]) -> str:
    problems = [f for f in findings if f.severity != Severity.INFO]
    if not problems:
        notes = f" ({len(findings)} note(s))" if findings else ""
        return f"No problems found{notes}: gradients, updates and activations look healthy."
    errors = sum(f.severity == Severity.ERROR for f in problems)
    warnings = len(problems) - errors
    counts = ", ".join(
        part
        for part in (
            f"{errors} error(s)" if errors else "",
            f"{warnings} warning(s)" if warnings else "",
        )
        if part
    )
    return f"{counts}. Most important: {problems[0].title}."


def _facts(trace: Trace) -> dict:
    run = trace.run
    return {
        "rows": trace.num_rows,
        "total_steps": run.total_steps,
        "every": run.every,
        "ended": str(run.ended.value),
        "params": len(trace.params),
        "trainable_params": sum(p.trainable for p in trace.params),
        "modules": len(trace.modules),
        "optimizers": [o.type for o in trace.optimizers],
        "torch_version": run.torch_version,
    }


def _layer_names(view: TraceView, findings: list[Finding]) -> dict:
    """How the report names each layer the findings cite (``model.0 (Linear)``), so the text,
    the markdown and the web page name a layer the way every finding's summary does."""
    paths = dict.fromkeys(path for f in findings for path in f.evidence.modules)
    return {"layer_names": {path: view.describe(path) for path in paths}} if paths else {}


def _owner(view: TraceView, module: str) -> str:
    """The top-level model a module belongs to; "model#1" for a second copy ("model.rnn#1")."""
    top = view.qualified(module.split(".")[0]) or "(top)"
    copy = module.rpartition("#")[2]
    return f"{top}#{copy}" if "#" in module and "#" not in top and copy.isdigit() else top


def _not_judged(view: TraceView) -> dict:
    """One line on the trainable parameters left out of the gradient checks, and why, so that
    the rule that leaves them out can never hide a broken graph silently."""
    in_training = view.param_in_training
    if in_training is None:
        return {}
    left_out = view.trainable & ~in_training
    if not left_out.any():
        return {}
    params = [view.trace.params[i] for i in np.flatnonzero(left_out)]
    owners = list(dict.fromkeys(_owner(view, p.module) for p in params))
    shown = ", ".join(f"`{name}`" for name in owners[:3]) + (" …" if len(owners) > 3 else "")
    return {
        "not_judged": (
            f"Not judged: {len(params)} trainable parameter(s) of {shown} took no part in "
            "training (in no optimizer, and run only under no_grad or after the last step: an "
            "evaluation copy, a reloaded checkpoint, an EMA or teacher network)."
        )
    }
