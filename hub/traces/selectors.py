"""Reads for uploaded traces: who may see what, the latest diagnosis, "same diagnosis" matches."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, Count, IntegerField, Q, QuerySet, When
from django.http import Http404

from hub.forum.models import Question
from hub.forum.selectors import question_list
from hub.traces.models import Diagnosis, Trace


def trace_visible_to(*, trace: Trace, user) -> bool:
    """Owners see their traces; everyone sees a trace attached to a visible question."""
    if user is not None and user.is_authenticated and trace.owner_id == user.pk:
        return True
    if trace.is_private or trace.question_id is None:
        return False
    if trace.question.is_hidden:
        return user is not None and user.is_authenticated and user.is_staff
    return True


def trace_get_for_user(*, user, trace_id: int) -> Trace:
    """The trace if ``user`` may see it; Http404 otherwise (no hint that it exists)."""
    trace = Trace.objects.select_related("question", "owner").filter(pk=trace_id).first()
    if trace is None or not trace_visible_to(trace=trace, user=user):
        raise Http404("No such trace.")
    return trace


def trace_can_download(*, trace: Trace, user) -> bool:
    return user.is_authenticated and (trace.owner_id == user.pk or user.is_staff)


def diagnosis_latest(*, trace: Trace) -> Diagnosis | None:
    return trace.diagnoses.order_by("-created_at", "-pk").first()


def diagnosis_list(*, code: str | None = None) -> QuerySet[Diagnosis]:
    """Diagnoses (newest first) of public traces, optionally only those with a finding code."""
    queryset = Diagnosis.objects.select_related("trace", "trace__question").filter(
        trace__is_private=False, trace__question__isnull=False, trace__question__is_hidden=False
    )
    if code:
        queryset = queryset.filter(finding_rows__code=code).distinct()
    return queryset.order_by("-created_at")


# The hub at "/": enough recent questions to fill the first screens, a short waiting list.
HOME_RECENT = 12
HOME_UNANSWERED = 6
HOME_DIAGNOSES = 5


@dataclass
class HomePage:
    recent: list
    unanswered: list
    diagnoses: list


def home_page(*, viewer) -> HomePage:
    """What "/" shows: recent and unanswered questions (as the lists show them to `viewer`)
    and the Gradient Doctor's latest public diagnoses. Composed here, the top app that sees
    both the forum and the traces."""
    viewer = viewer if viewer.is_authenticated else None
    diagnoses = diagnosis_list().defer(
        "findings", "facts", "report_markdown", "plots", "trace__question__body",
        "trace__question__body_html", "trace__question__search_vector",
    )  # fmt: skip
    return HomePage(
        recent=list(question_list(sort="newest", viewer=viewer)[:HOME_RECENT]),
        unanswered=list(question_list(sort="unanswered", viewer=viewer)[:HOME_UNANSWERED]),
        diagnoses=list(diagnoses[:HOME_DIAGNOSES]),
    )


def traces_for_question(*, question) -> list[Trace]:
    """Traces attached to a question, oldest first, with their latest diagnosis prefetched."""
    traces = list(Trace.objects.filter(question=question).order_by("created_at"))
    for trace in traces:
        trace.latest_diagnosis = diagnosis_latest(trace=trace) if trace.is_terminal else None
    return traces


def questions_with_same_diagnosis(
    *, codes: list[str], layers: list[str], exclude_question_id: int | None, limit: int = 5
) -> list:
    """Visible questions whose traces had the same warning/error findings, then visible
    questions tagged with a finding's code (vanishing_gradients → vanishing-gradients).

    Traced matches are ranked first (the evidence is the same), each group solved (an accepted
    answer) first; traced ones then by more codes in common, a finding on the same layer, score.
    """

    if not codes:
        return []
    solved = Case(
        When(accepted_answer__isnull=False, then=1), default=0, output_field=IntegerField()
    )
    layer_match = Q(traces__diagnoses__finding_rows__first_layer__in=[x for x in layers if x])
    traced = list(
        Question.objects.filter(
            is_hidden=False,
            traces__diagnoses__finding_rows__code__in=codes,
            traces__diagnoses__finding_rows__severity__in=["error", "warning"],
        )
        .exclude(pk=exclude_question_id)
        .annotate(
            solved=solved,
            shared_codes=Count("traces__diagnoses__finding_rows__code", distinct=True),
            shared_layers=Count(
                "traces__diagnoses__finding_rows__first_layer", filter=layer_match, distinct=True
            ),
        )
        .order_by("-solved", "-shared_codes", "-shared_layers", "-score", "-created_at")[:limit]
    )
    if len(traced) >= limit:
        return traced
    # People tag a question with the problem's name long before anyone uploads a trace.
    tagged = (
        Question.objects.filter(
            is_hidden=False, tags__name__in=[code.replace("_", "-") for code in codes]
        )
        .exclude(pk=exclude_question_id)
        .exclude(pk__in=[q.pk for q in traced])
        .annotate(solved=solved)
        .distinct()
        .order_by("-solved", "-score", "-created_at")
    )
    return traced + list(tagged[: limit - len(traced)])


def trace_ask_prefill(*, user, trace_id) -> dict | None:
    """Title and body for "Ask the community" from a diagnosed private trace of ``user``.

    The forum's ask view calls this with ``?trace=<id>``; None when the id is not the user's
    own unattached diagnosed trace (the view then ignores it).
    """
    try:
        trace_id = int(trace_id)
    except (TypeError, ValueError):
        return None
    trace = Trace.objects.filter(pk=trace_id, owner_id=user.pk, question__isnull=True).first()
    if trace is None or trace.state != Trace.State.DIAGNOSED:
        return None
    diagnosis = diagnosis_latest(trace=trace)
    problems = [f for f in diagnosis.findings if f["severity"] in ("error", "warning")]
    title = (
        f"Training problem: {problems[0]['title']}"
        if problems
        else "My training run looks healthy to the Gradient Doctor, but it does not learn"
    )
    lines = [
        "I recorded my training run with `python -m traces.capture`; the automated diagnosis says:",
        "",
        f"> {diagnosis.summary}",
        "",
    ]
    lines += [f"- **{f['severity']}**: {f['title']} (`{f['code']}`)" for f in diagnosis.findings]
    lines += [
        "",
        "What I tried: …",
        "",
        "My training loop:",
        "",
        "```python",
        "# paste it here",
        "```",
    ]
    return {"title": title[:150], "body": "\n".join(lines), "trace": trace}
