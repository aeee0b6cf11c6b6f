"""The Gradient Doctor's post in a question's thread: the engine's report as an answer."""

from __future__ import annotations

from analysis.plots import VERIFIED_FIX_PLOT
from analysis.replay.report import render_markdown as replay_markdown
from hub.accounts.services import bot_user_get
from hub.forum.models import Answer
from hub.forum.services import answer_create, answer_edit
from hub.traces.models import Diagnosis, Trace
from hub.traces.selectors import questions_with_same_diagnosis

# The bot post's first line: people must see at once that a program wrote it.
BOT_POST_BANNER = "**Gradient Doctor · automated diagnosis**"
# The engine's report in a post is cut (at a finding) beyond this: the forum takes automated
# posts up to 4 x 30,000 characters (hub/forum/services/common.py), and the rest of the post is short.
BOT_POST_REPORT_MAX_CHARS = 100_000
# Under "Plots" until the follow-up task has drawn them (traces.js swaps the post in then).
PLOTS_PENDING = "*The plots are being drawn: they appear here in a few seconds.*"
# Under "Verified fix" until the replay task has verified the fixes (traces.js swaps the post in).
REPLAY_PENDING = "*Verifying fixes: the worker replays your model with each candidate fix…*"
# Plots the replay task draws: shown in the "Verified fix" section, not under "Plots".
REPLAY_PLOTS = (VERIFIED_FIX_PLOT,)
# "Questions with the same diagnosis" (solved first) listed in a bot post.
SIMILAR_QUESTIONS_LIMIT = 5
# Findings of these severities are listed as the question's problems (an info note is not one).
PROBLEM_SEVERITIES = ("error", "warning")
# Characters with a meaning in CommonMark, escaped in user text placed into the bot's post.
# Characters with a meaning in CommonMark, escaped in user text placed into the bot's post.
_MD_SPECIAL = set("\\`*_{}[]()<>#+-.!|~")


def _md_escape(text: str) -> str:
    return "".join(f"\\{ch}" if ch in _MD_SPECIAL else ch for ch in text.replace("\n", " "))


def _plot_image(trace: Trace, name: str, label: str) -> str:
    """A plot in a post: the image, linking to itself (opened full size)."""
    url = f"/traces/{trace.pk}/plots/{name}.svg"
    return f"[![{label}]({url})]({url})"


def bot_post_body(*, trace: Trace, diagnosis: Diagnosis) -> str:
    """The markdown of the bot's post: banner, the engine's report, plots, similar questions."""
    report = diagnosis.report_markdown.rstrip()
    # raw HTML is off in posts: drop the engine's <sub> footer line, we write our own
    report = "\n".join(line for line in report.splitlines() if not line.startswith("<sub>"))
    if len(report) > BOT_POST_REPORT_MAX_CHARS:  # the forum refuses longer automated posts
        cut = report.rfind("\n### ", 0, BOT_POST_REPORT_MAX_CHARS)
        report = report[: cut if cut > 0 else BOT_POST_REPORT_MAX_CHARS].rstrip() + (
            f"\n\n*The report is longer than a post: read all of it on "
            f"[the trace page]({trace.get_absolute_url()}).*"
        )
    name = _md_escape(trace.original_name or "uploaded trace")
    parts = [
        f"{BOT_POST_BANNER} of [trace #{trace.pk}]({trace.get_absolute_url()}) ({name})",
        "",
        report,
    ]
    if not diagnosis.plots_done:
        parts += ["", "### Plots", "", PLOTS_PENDING]
    elif set(diagnosis.plots) - set(REPLAY_PLOTS):
        parts += ["", "### Plots", ""]
        for name in sorted(set(diagnosis.plots) - set(REPLAY_PLOTS)):
            label = name.replace("_", " ").replace("-", " ")
            parts += [_plot_image(trace, name, label), ""]
    codes = [f["code"] for f in diagnosis.findings if f["severity"] in PROBLEM_SEVERITIES]
    if codes and not diagnosis.replay_done:
        parts += ["", "### Verified fix", "", REPLAY_PENDING]
    elif codes and diagnosis.replay.get("replay"):
        parts += ["", replay_markdown(diagnosis.replay).rstrip()]
        if (diagnosis.plots or {}).get(VERIFIED_FIX_PLOT):
            label = "loss per step of the replay, as recorded and with the verified fix"
            parts += ["", _plot_image(trace, VERIFIED_FIX_PLOT, label)]
    if codes:
        layers = [layer for f in diagnosis.findings for layer in f["evidence"].get("modules", [])]
        similar = questions_with_same_diagnosis(
            codes=codes,
            layers=layers,
            exclude_question_id=trace.question_id,
            limit=SIMILAR_QUESTIONS_LIMIT,
        )
        parts += ["", "### Questions with the same diagnosis (solved ones first)", ""]
        if similar:
            for question in similar:
                mark = "**Solved:** " if question.accepted_answer_id else ""
                title = _md_escape(question.title)
                parts.append(f"- {mark}[{title}]({question.get_absolute_url()})")
        else:
            parts.append("None yet: this may be the first.")
    # A private diagnosis is no answer: nothing to vote on, and people are one button away.
    if trace.question_id is None:
        invite = "for people's view, use “Ask the community” on this page."
    else:
        invite = "vote and comment as on any answer."
    parts += [
        "",
        "---",
        f"*Written by a program (engine {diagnosis.engine_version}). Check the evidence; {invite}*",
    ]
    return "\n".join(parts).strip() + "\n"


def bot_post_write(*, trace: Trace, diagnosis: Diagnosis, force: bool) -> None:
    if diagnosis.answer_id is not None and not force:
        return
    bot = bot_user_get()
    body = bot_post_body(trace=trace, diagnosis=diagnosis)
    # One post per trace: a new engine version (or a forced re-run) edits the earlier post.
    earlier = (
        Diagnosis.objects.filter(trace=trace, answer__isnull=False)
        .order_by("-updated_at")
        .values_list("answer_id", flat=True)
        .first()
    )
    answer = Answer.objects.filter(pk=earlier, question_id=trace.question_id).first()
    if answer is not None:
        answer = answer_edit(answer=answer, editor=bot, body=body)
    else:
        answer = answer_create(author=bot, question=trace.question, body=body, automated=True)
    diagnosis.answer = answer
    diagnosis.save(update_fields=["answer", "updated_at"])
