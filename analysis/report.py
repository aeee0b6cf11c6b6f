"""Render a Diagnosis as plain text (the CLI) or markdown (the bot's post on the thread)."""

from __future__ import annotations

import textwrap

from analysis.detectors._view import fmt
from analysis.findings import Diagnosis, Finding

SEVERITY_LABEL = {"error": "ERROR", "warning": "WARNING", "info": "INFO"}
# words, not emoji: emoji show as empty boxes without an emoji font
SEVERITY_WORD = {"error": "Error", "warning": "Warning", "info": "Note"}


def _stat_line(f: Finding) -> str:
    ev = f.evidence
    line = ev.statistic
    if ev.value is not None:
        line += f": {fmt(ev.value)}"
    if ev.threshold is not None and ev.comparison:
        line += f" ({ev.comparison} {fmt(ev.threshold)})"
    return line


def render_text(diagnosis: Diagnosis, *, width: int = 88) -> str:
    out = [f"GradHub diagnosis (engine {diagnosis.engine_version})", diagnosis.summary]
    if note := diagnosis.facts.get("not_judged"):
        out += textwrap.wrap(note, width)
    out.append("")
    for i, f in enumerate(diagnosis.findings, 1):
        out.append(
            f"{i}. [{SEVERITY_LABEL[f.severity.value]}] {f.title}  ({f.code}, "
            f"confidence {f.confidence:.2f})"
        )
        out += textwrap.wrap(f.summary, width, initial_indent="   ", subsequent_indent="   ")
        ev = f.evidence
        out += textwrap.wrap(
            "Evidence: " + _stat_line(f), width, initial_indent="   ", subsequent_indent="     "
        )
        if ev.modules:
            out += textwrap.wrap(
                "Where: " + ", ".join(_layer(diagnosis, m) for m in ev.modules[:8]),
                width,
                initial_indent="   ",
                subsequent_indent="     ",
            )
        if ev.onset_step is not None:
            out.append(f"   From step: {ev.onset_step}")
        if ev.counterfactual:
            out += textwrap.wrap(
                "Otherwise: " + ev.counterfactual,
                width,
                initial_indent="   ",
                subsequent_indent="     ",
            )
        out += textwrap.wrap(
            "Fix: " + f.fix.text, width, initial_indent="   ", subsequent_indent="     "
        )
        if f.fix.code:
            out += ["      " + line for line in f.fix.code.splitlines()]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def render_markdown(diagnosis: Diagnosis, *, glossary_url: str = "/glossary/{slug}/") -> str:
    """Markdown for a forum post. ``glossary_url`` is formatted with each term's slug."""
    out = [f"**Diagnosis** — {diagnosis.summary}", ""]
    if note := diagnosis.facts.get("not_judged"):
        out += [f"*{_md_escape(note)}*", ""]
    for f in diagnosis.findings:
        sev = f.severity.value
        out.append(f"### {SEVERITY_WORD[sev]}: {f.title}")
        out.append(f"`{f.code}` · {sev} · confidence {f.confidence:.2f}")
        out.append("")
        out.append(f.summary)
        out.append("")
        ev = f.evidence
        out.append(f"- **Evidence:** {_md_escape(_stat_line(f))}")
        if ev.modules:
            shown = ", ".join(f"`{_layer(diagnosis, m)}`" for m in ev.modules[:8])
            more = f" and {len(ev.modules) - 8} more" if len(ev.modules) > 8 else ""
            out.append(f"- **Where:** {shown}{more}")
        if ev.onset_step is not None:
            out.append(f"- **From step:** {ev.onset_step}")
        if ev.counterfactual:
            out.append(f"- **Otherwise:** {_md_escape(ev.counterfactual)}")
        out.append(f"- **Fix:** {_md_escape(f.fix.text)}")
        if f.glossary:
            terms = ", ".join(
                f"[{slug.replace('-', ' ')}]({glossary_url.format(slug=slug)})"
                for slug in f.glossary
            )
            out.append(f"- **Read more:** {terms}")
        if f.fix.code:
            out += ["", "```python", f.fix.code.rstrip(), "```"]
        out.append("")
    out.append(f"*GradHub engine {diagnosis.engine_version}*")  # no raw HTML: the forum escapes it
    return "\n".join(out).rstrip() + "\n"


def _layer(diagnosis: Diagnosis, path: str) -> str:
    """The layer as the findings name it (engine facts), else its path."""
    return diagnosis.facts.get("layer_names", {}).get(path) or path or "(top)"


def _md_escape(text: str) -> str:
    for ch in ("*", "_", "[", "]", "<", ">"):
        text = text.replace(ch, "\\" + ch)
    return text
