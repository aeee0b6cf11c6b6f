"""The replay's result in words: plain text for the CLI, Markdown for the bot post."""

from __future__ import annotations

import math

VERDICT_WORDS = {
    "resolves": "resolves",
    "partial": "partly helps",
    "no_effect": "no effect",
    "worse": "makes it worse",
}


def _num(value) -> str:
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "—"
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:.3g}"
    return f"{value:.1e}"


def before_after(fix: dict) -> str:
    """One line: the figure and the loss, before → after."""
    before, after = fix.get("before", {}), fix.get("after", {})
    if fix.get("verified_by") == "recorded_events":
        return ", ".join(
            f"{key.replace('_', ' ')} {_num(before.get(key))} → {_num(after.get(key))}"
            for key in after
            if key in before
        )
    if "error" in after:
        return f"the replay failed: {after['error']}"
    parts = []
    if before.get("figure"):
        parts.append(
            f"{before['figure']} {_num(before.get('figure_value'))} → {_num(after.get('figure_value'))}"
        )
    parts.append(
        f"loss {_num(before.get('loss_start'))}→{_num(before.get('loss_end'))} without, "
        f"{_num(after.get('loss_start'))}→{_num(after.get('loss_end'))} with it "
        f"({after.get('steps', before.get('steps', '?'))} steps)"
    )
    parts.append("finding gone" if not after.get("present") else "finding still there")
    others = [code for code in fix.get("clears", ()) if code != fix.get("finding")]
    if others:
        parts.append("also clears " + ", ".join(others))
    return "; ".join(parts)


def render_text(result: dict) -> str:
    replay = result["replay"]
    state = "reproduced" if replay["reproduced"] else "not reproduced"
    lines = [f"Replay ({replay['steps']} steps): {state} — {replay['why']}"]
    if not replay["fixes"]:
        lines.append("No fix verified.")
    for rank, fix in enumerate(replay["fixes"], 1):
        lines.append("")
        lines.append(f"{rank}. [{VERDICT_WORDS[fix['verdict']]}] {fix['finding']}: {fix['title']}")
        lines.append(f"   {before_after(fix)}")
        for diff_line in fix["diff"].splitlines():
            lines.append(f"   | {diff_line}")
    if "seconds" in replay:
        lines.append("")
        lines.append(f"({replay['seconds']:.1f} s)")
    return "\n".join(lines) + "\n"


_MD_SPECIAL = set("\\`*_{}[]()<>#+-.!|~")


def _escape(text: str) -> str:
    """Text from an upload (module names, the recorder's reason) placed into Markdown."""
    return "".join(f"\\{ch}" if ch in _MD_SPECIAL else ch for ch in text.replace("\n", " "))


def render_markdown(result: dict) -> str:
    """The bot post's "Verified fix" section."""
    replay = result["replay"]
    out = ["### Verified fix", ""]
    if not replay["fixes"]:
        out.append(f"Nothing verified: {_escape(replay['why'])}.")
        return "\n".join(out) + "\n"
    if replay["why"]:
        out.append(f"*{_escape(replay['why'])}.*")
        out.append("")
    best = replay["fixes"][0]
    if best["verdict"] in ("resolves", "partial"):
        how = "verified" if best["verdict"] == "resolves" else "partly verified"
        out.append(f"**{how}: {_escape(best['title'])}** — {_escape(before_after(best))}.")
        out.append("")
        out.append("```text")
        out.extend(line.replace("`", "'") for line in best["diff"].splitlines())
        out.append("```")
        out.append("")
    out.append("| finding | fix | verdict | before → after |")
    out.append("| --- | --- | --- | --- |")
    for fix in replay["fixes"]:
        cells = [fix["finding"], fix["title"], VERDICT_WORDS[fix["verdict"]], before_after(fix)]
        out.append("| " + " | ".join(_escape(c) for c in cells) + " |")
    return "\n".join(out) + "\n"
