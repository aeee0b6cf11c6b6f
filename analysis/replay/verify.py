"""Verifying fixes: replay the recorded run, check that the replay reproduces the diagnosis,
then replay each candidate fix and judge it with the same engine.

``verify(trace, diagnosis, steps=200)`` returns the JSON-safe ``{"replay": {...}}`` of the
issue: ``reproduced``, ``why``, ``steps`` and the ``fixes`` ranked best first, each with its
``verdict`` (resolves / partial / no_effect / worse), the figures ``before`` and ``after`` and
a ``diff`` in the user's module names. Loop bugs are verified from the recorded event order
and gradient norms, without a re-run.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings

import numpy as np

from analysis.engine import diagnose
from analysis.findings import Diagnosis
from analysis.replay.fixes import candidates
from analysis.replay.loops import LOOP_CODES, verify_loop
from analysis.replay.program import ProgramError, load_program
from analysis.replay.train import DEFAULT_STEPS, Replay, Setup, run
from traces.model import Events, Steps, Trace

# Findings a replay of the model can reproduce and test fixes for.
REPLAYABLE = (
    "vanishing_gradients",
    "exploding_gradients",
    "dead_relu",
    "saturated_activations",
    "lr_too_high",
    "lr_too_low",
    "non_finite",
)
VERDICTS = ("resolves", "partial", "no_effect", "worse")
# "The key figure within a decade" (the issue): |log10(replayed / recorded)| <= 1.
REPRODUCE_DECADES = 1.0
# A fix that moves the finding's figure this many decades toward its threshold, without
# clearing it, is "partial"; away from it by as much, "worse".
PARTIAL_DECADES = 1.0
# A fix "resolves" only when the finding is gone and the loss ends at least this share lower
# than without it (a finding gone on a model that still learns nothing is "partial").
LOSS_GAIN = 0.05
# A replay's loss: the median of its last this many steps (one step is noisy).
LOSS_TAIL = 10
# The loss per step kept for the post's before/after plot: at most this many (step, loss) points.
LOSS_CURVE_POINTS = 60


def verify(trace: Trace, diagnosis: Diagnosis | None = None, *, steps: int = DEFAULT_STEPS) -> dict:
    started = time.perf_counter()
    diagnosis = diagnosis or diagnose(trace)
    findings = [f.to_dict() for f in diagnosis.findings if f.severity.value != "info"]
    fixes = [fix for f in findings if f["code"] in LOOP_CODES for fix in verify_loop(trace, f)]
    replayable = [f for f in findings if f["code"] in REPLAYABLE and not _in_loss_terms(f)]
    result = {"reproduced": False, "why": "", "steps": steps, "fixes": []}
    if not replayable:
        result["why"] = _nothing_to_replay(findings, fixes)
    else:
        try:
            result.update(_replay_findings(trace, replayable, steps))
        except ProgramError as exc:
            result["why"] = f"replay unavailable: {exc}"
    ranked = sorted(result["fixes"], key=_rank)
    result["fixes"] = fixes + ranked
    result["seconds"] = round(time.perf_counter() - started, 2)
    return {"replay": result}


def _in_loss_terms(finding: dict) -> bool:
    """A non-finite loss whose gradients stayed finite: the NaN is in the user's loss terms,
    which a replay does not rebuild, and clipping or the learning rate cannot remove it."""
    details = finding["evidence"].get("details") or {}
    return finding["code"] == "non_finite" and details.get("gradients_finite") is True


def _nothing_to_replay(findings: list[dict], loop_fixes: list[dict]) -> str:
    if not findings:
        return "no finding to verify: the diagnosis found no problem"
    if loop_fixes:
        return (
            "no finding to replay: the loop bugs are verified from the recorded event order "
            "and gradient norms instead of a re-run"
        )
    codes = ", ".join(f["code"] for f in findings)
    return f"no finding a replay can verify ({codes})"


def _replay_findings(trace: Trace, findings: list[dict], steps: int) -> dict:
    import torch

    if trace.program is None:
        raise ProgramError("the trace has no program (recorded before format version 2)")
    program = load_program(trace.program.spec, trace.program.weights)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one core per replay: the worker runs several
    try:
        baseline = run(trace, Setup(program), steps=steps)
        recorded_rows = int(np.sum(trace.steps.optimizer == program.optimizer))
        window = max(1, min(steps, recorded_rows))
        judged_full = diagnose(baseline.trace)
        judged_prefix = diagnose(prefix(baseline.trace, window))
        reproduced, missed = [], []
        for finding in findings:
            match = any(
                _reproduces(finding, judged, trace, baseline.trace, window)
                for judged in (judged_prefix, judged_full)
            )
            (reproduced if match else missed).append(finding)
        if not reproduced:
            codes = ", ".join(f["code"] for f in findings)
            return {
                "why": f"the replay does not reproduce the diagnosis ({codes}): nothing verified"
            }
        out, runs = [], {}  # runs: fix id -> its replay (the same fix for two findings runs once)
        judged_rows = {}  # finding code -> the rows it is judged on
        for finding in reproduced:
            # Judge on the full replay when the finding is there, else on the recorded length.
            rows = steps if _present(finding["code"], judged_full) else window
            judged_rows[finding["code"]] = rows
            base = judged_full if rows == steps else judged_prefix
            before = _figures(finding["code"], base, baseline, rows)
            for candidate in candidates(trace, program, finding):
                out.append(_judge(trace, candidate, finding, before, base, rows, steps, runs))
        for entry in out:
            entry["clears"] = _clears(runs.get(entry["fix"]), judged_rows, steps)
    finally:
        torch.set_num_threads(threads)
    why = "the replay reproduces " + ", ".join(f["code"] for f in reproduced)
    if missed:
        why += "; it does not reproduce " + ", ".join(f["code"] for f in missed) + " (not verified)"
    return {"reproduced": True, "why": why, "fixes": out}


def _clears(replay, judged_rows: dict[str, int], steps: int) -> list[str]:
    """Which of the reproduced findings are gone in a fix's replay, whichever finding it was
    tried for: a fix that removes the cause clears all its symptoms (a too-high learning rate's
    exploding gradients and dead units), one that hides a symptom (clipping) clears that one."""
    if not isinstance(replay, Replay):
        return []
    judged = {}
    for rows in set(judged_rows.values()):
        judged[rows] = diagnose(replay.trace if rows == steps else prefix(replay.trace, rows))
    finite = _finite(replay.losses[-1]) if replay.losses else False
    return [
        code for code, rows in judged_rows.items() if finite and not _present(code, judged[rows])
    ]


def _judge(trace, candidate, finding, before, base, rows, steps, runs: dict) -> dict:
    entry = {
        "finding": finding["code"],
        "fix": candidate.fix,
        "title": candidate.title,
        "verdict": "no_effect",
        "before": before,
        "after": {},
        "diff": candidate.diff,
    }
    if candidate.fix not in runs:
        try:
            runs[candidate.fix] = run(trace, candidate.setup, steps=steps)
        except ProgramError as exc:
            runs[candidate.fix] = exc
    replay = runs[candidate.fix]
    if isinstance(replay, ProgramError):
        entry.update(verdict="worse", after={"error": str(replay)})
        return entry
    judged = diagnose(replay.trace if rows == steps else prefix(replay.trace, rows))
    after = _figures(finding["code"], judged, replay, rows)
    entry["after"] = after
    entry["verdict"] = _verdict(finding["code"], before, after, base, judged)
    return entry


def _verdict(code: str, before: dict, after: dict, base: Diagnosis, judged: Diagnosis) -> str:
    if not _finite(after.get("loss_end")) and _finite(before.get("loss_end")):
        return "worse"
    new_errors = {f.code for f in judged.findings if f.severity.value == "error"} - {
        f.code for f in base.findings if f.severity.value == "error"
    }
    if "non_finite" in new_errors:
        return "worse"
    if not after["present"]:
        # A loss that diverged without the fix and stays finite with it counts as learning.
        learned = _finite(after["loss_end"]) and (
            not _finite(before["loss_end"])
            or after["loss_end"] < before["loss_end"] - LOSS_GAIN * abs(before["loss_end"])
        )
        return "resolves" if learned and not new_errors else "partial"
    gain = _distance(before) - _distance(after)
    if gain >= PARTIAL_DECADES:
        return "partial"
    if gain <= -PARTIAL_DECADES:
        return "worse"
    return "no_effect"


def _distance(figures: dict) -> float:
    """How many decades a finding's figure lies past its threshold (0 when unknown)."""
    value, threshold = figures.get("value"), figures.get("threshold")
    if not (_finite(value) and _finite(threshold)) or value <= 0 or threshold <= 0:
        return 0.0
    return abs(math.log10(value / threshold))


def _rank(fix: dict) -> tuple:
    """Best first: the verdict; then the fix that leaves fewer of the run's findings (removes
    the cause rather than one symptom); then the lower loss."""
    loss = fix.get("after", {}).get("loss_end")
    return (
        VERDICTS.index(fix["verdict"]),
        -len(fix.get("clears", ())),
        loss if _finite(loss) else math.inf,
    )


def _reproduces(
    finding: dict, judged: Diagnosis, recorded: Trace, replayed: Trace, window: int
) -> bool:
    """The replay has the same finding, its key figure within a decade of the recorded one.

    The engine's figure when both runs were judged by the same statistic. When another of the
    detector's rules fired on the replay (its run took a different course to the same problem:
    "from the onset on" instead of "over the first half"), the two statistics do not compare;
    then the figure measured the same way on every row of both runs does: the replay's median
    within a decade of the range of values the recorded run went through (a figure that drifted
    seven decades over the recorded run is not one number)."""
    code = finding["code"]
    match = _find(code, judged)
    if match is None:
        return False
    if code == "non_finite":
        return True  # how many rows follow a divergence is not a property of the problem
    recorded_value, replayed_value = finding["evidence"].get("value"), match.evidence.value
    if not (_finite(recorded_value) and _finite(replayed_value)):
        return True  # no figure to compare: the same finding is enough
    if recorded_value <= 0 or replayed_value <= 0:
        return True
    if finding["evidence"].get("statistic") == match.evidence.statistic:
        return abs(math.log10(replayed_value / recorded_value)) <= REPRODUCE_DECADES
    before = figure_series(code, recorded, recorded.num_rows)
    after = figure_series(code, replayed, window)
    before, after = before[before > 0], after[after > 0]
    if not (before.size and after.size):
        return False
    low, high = float(before.min()), float(before.max())
    value = float(np.median(after))
    return low / 10**REPRODUCE_DECADES <= value <= high * 10**REPRODUCE_DECADES


def figure_series(code: str, trace: Trace, rows: int) -> np.ndarray:
    """A finding's figure on each of the first ``rows`` rows (finite values only)."""
    steps = trace.steps
    out = np.full(0, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        if code in ("vanishing_gradients", "exploding_gradients"):
            weights = [i for i, p in enumerate(trace.params) if len(p.shape) >= 2]
            if len(weights) >= 2:
                norms = steps.fresh_grad_norm[:rows]
                out = norms[:, weights[0]] / norms[:, weights[-1]]
        elif code in ("lr_too_high", "lr_too_low"):
            ratio = steps.update_norm[:rows] / steps.weight_norm[:rows]
            if ratio.size and np.isfinite(ratio).any():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    out = np.nanmedian(ratio, axis=1)
        elif code in ("dead_relu", "saturated_activations"):
            column = steps.act_dead_frac if code == "dead_relu" else steps.act_sat_frac
            names = ("relu",) if code == "dead_relu" else _SATURATING
            modules = [j for j, m in enumerate(trace.modules) if m.activation in names]
            if modules:
                shares = column[:rows][:, modules].astype(np.float64)
                shares = np.where(np.isfinite(shares), shares, -np.inf).max(axis=1)
                out = np.where(np.isfinite(shares), shares, np.nan)
    out = np.asarray(out, dtype=np.float64)
    return out[np.isfinite(out)]


_SATURATING = ("sigmoid", "tanh", "hardsigmoid", "hardtanh")


def _find(code: str, judged: Diagnosis):
    for finding in judged.findings:
        if finding.code == code and finding.severity.value != "info":
            return finding
    return None


def _present(code: str, judged: Diagnosis) -> bool:
    return _find(code, judged) is not None


def _figures(code: str, judged: Diagnosis, replay: Replay, rows: int) -> dict:
    finding = _find(code, judged)
    losses = replay.losses[:rows]
    name, figure = key_figure(code, replay.trace, rows)
    out = {
        "present": finding is not None,
        "figure": name,
        "figure_value": figure,
        "statistic": finding.evidence.statistic if finding else "",
        "value": _plain(finding.evidence.value) if finding else None,
        "threshold": _plain(finding.evidence.threshold) if finding else None,
        "loss_start": _plain(losses[0]) if losses else None,
        "loss_end": _plain(float(np.median(losses[-LOSS_TAIL:]))) if losses else None,
        "steps": len(losses),
        # [step, loss] at evenly spaced steps, first and last included (None: not finite)
        "losses": [
            [i, _plain(losses[i])]
            for i in np.unique(np.linspace(0, len(losses) - 1, LOSS_CURVE_POINTS).round())
            .astype(int)
            .tolist()
        ]
        if losses
        else [],
    }
    return out


def key_figure(code: str, trace: Trace, rows: int) -> tuple[str, float | None]:
    """The finding's figure measured directly on a replay, present or not (so a fix's "after"
    has a number even when the finding is gone)."""
    steps = trace.steps
    with np.errstate(divide="ignore", invalid="ignore"):
        if code in ("vanishing_gradients", "exploding_gradients"):
            weights = [i for i, p in enumerate(trace.params) if len(p.shape) >= 2]
            if len(weights) < 2:
                return "first/last layer gradient norm", None
            ratio = steps.grad_norm[:rows, weights[0]] / steps.grad_norm[:rows, weights[-1]]
            return "first/last layer gradient norm", _median(ratio)
        if code in ("lr_too_high", "lr_too_low"):
            ratio = steps.update_norm[:rows] / steps.weight_norm[:rows]
            return "median update/weight norm", _median(ratio)
        if code in ("dead_relu", "saturated_activations"):
            column = steps.act_dead_frac if code == "dead_relu" else steps.act_sat_frac
            names = (
                ("relu",) if code == "dead_relu" else ("sigmoid", "tanh", "hardsigmoid", "hardtanh")
            )
            modules = [j for j, m in enumerate(trace.modules) if m.activation in names]
            shares = [_median(column[:rows, j]) for j in modules]
            shares = [v for v in shares if v is not None]
            label = "dead unit share" if code == "dead_relu" else "saturated output share"
            return f"worst layer's median {label}", max(shares) if shares else None
    bad = int(np.sum(~np.isfinite(steps.loss[:rows])))
    return "steps with a non-finite loss", float(bad)


def _median(values: np.ndarray) -> float | None:
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    return _plain(float(np.median(values))) if values.size else None


def _finite(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _plain(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def prefix(trace: Trace, rows: int) -> Trace:
    """The first ``rows`` rows of a trace (what the engine would have seen of a shorter run)."""
    steps = Steps(
        **{f.name: getattr(trace.steps, f.name)[:rows] for f in dataclasses.fields(Steps)}
    )
    keep = trace.events.row < rows
    events = Events(trace.events.kind[keep], trace.events.row[keep], trace.events.optimizer[keep])
    run_info = dataclasses.replace(trace.run, total_steps=min(trace.run.total_steps, rows))
    return dataclasses.replace(trace, steps=steps, events=events, run=run_info)
