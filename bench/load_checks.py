"""The invariants bench/load.py checks in the database after a run with faults.

What the site told the driver (the ledger) against what the database holds: every question
and answer it accepted is there, nothing it refused was half-written, every accepted trace ended
``diagnosed`` or ``failed`` with a reason, and each diagnosed trace on a question has exactly
one bot post (no duplicate, none missing)."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Ledger:
    """What the site answered the driver, filled from many threads."""

    questions: set[int] = field(default_factory=set)  # ids of questions asked (201)
    refused_titles: set[str] = field(default_factory=set)  # asks refused (4xx, 503)
    # Asks with a trace whose outcome the driver never learnt (no response, or a 500 from a
    # request in flight when its database connection was dropped): whole or absent, never half.
    unknown_titles: set[str] = field(default_factory=set)
    answers: set[int] = field(default_factory=set)
    traces: set[int] = field(default_factory=set)  # ids of traces uploaded (201)
    unknown_uploads: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, kind: str, value) -> None:
        with self.lock:
            getattr(self, kind).add(value)

    def upload_unknown(self) -> None:
        with self.lock:
            self.unknown_uploads += 1


@dataclass(frozen=True)
class Check:
    name: str
    value: str
    ok: bool


def _run_traces(uploader_ids: list[int]):
    """Every trace of the run's uploaders: accepted, and any whose answer was lost."""
    from hub.traces.models import Trace

    return Trace.objects.filter(owner_id__in=uploader_ids)


def pending_traces(uploader_ids: list[int]) -> int:
    """Traces of the run still on their way (uploaded, queued, replaying)."""
    from hub.traces.models import Trace

    return _run_traces(uploader_ids).filter(state__in=Trace.PENDING_STATES).count()


def plots_pending(uploader_ids: list[int]) -> int:
    from hub.traces.models import Diagnosis

    traces = _run_traces(uploader_ids)
    return Diagnosis.objects.filter(trace__in=traces, plots_done=False).count()


def orphan_files(media_root: Path) -> int:
    """Trace files on disk that no trace row names (a refused upload must leave none)."""
    from hub.traces.models import Trace

    named = set(Trace.objects.values_list("file", flat=True))
    on_disk = {
        str(path.relative_to(media_root))
        for path in (media_root / "traces").rglob("*")
        if path.is_file()
    }
    return len(on_disk - named)


def invariants_check(
    ledger: Ledger, *, uploader_ids: list[int], media_root: Path | None = None
) -> list[Check]:
    """Every invariant of the run, each with the figure that shows it."""
    from hub.forum.models import Answer, Question
    from hub.traces.models import Diagnosis

    checks = []
    run_traces = _run_traces(uploader_ids)
    traces = list(run_traces.values("pk", "state", "failure_reason", "question_id"))
    found = sum(1 for t in traces if t["pk"] in ledger.traces)
    checks.append(Check("uploads accepted -> trace rows", f"{found}/{len(ledger.traces)}",
                        found == len(ledger.traces)))  # fmt: skip
    extra = len(traces) - found
    checks.append(
        Check(
            "trace rows without a 201 (allowed: outcome unknown)",
            f"{extra} (unknown: {ledger.unknown_uploads})",
            extra <= ledger.unknown_uploads,
        )
    )
    states = Counter(t["state"] for t in traces)
    pending = sum(states[s] for s in ("uploaded", "queued", "replaying"))
    checks.append(
        Check(
            "traces diagnosed / failed / pending",
            f"{states['diagnosed']} / {states['failed']} / {pending}",
            pending == 0,
        )
    )
    no_reason = sum(1 for t in traces if t["state"] == "failed" and not t["failure_reason"])
    checks.append(Check("failed traces without a reason", str(no_reason), no_reason == 0))

    diagnosed_on_question = [
        t["pk"] for t in traces if t["state"] == "diagnosed" and t["question_id"] is not None
    ]
    diagnoses = Counter(
        Diagnosis.objects.filter(trace__in=run_traces).values_list("trace_id", flat=True)
    )
    doubled = sum(1 for n in diagnoses.values() if n > 1)
    undiagnosed = sum(1 for t in traces if t["state"] == "diagnosed" and not diagnoses[t["pk"]])
    checks.append(Check("diagnosed traces without a diagnosis row", str(undiagnosed),
                        undiagnosed == 0))  # fmt: skip
    checks.append(Check("traces with more than one diagnosis", str(doubled), doubled == 0))
    posted = dict(
        Diagnosis.objects.filter(
            trace__in=diagnosed_on_question,
            answer__is_automated=True,
            answer__question_id__isnull=False,
        ).values_list("trace_id", "answer_id")
    )
    without_post = len(diagnosed_on_question) - len(posted)
    checks.append(Check("diagnosed traces on a question without a bot post",
                        f"{without_post} of {len(diagnosed_on_question)}", without_post == 0))  # fmt: skip
    questions = {t["question_id"] for t in traces if t["question_id"] is not None}
    bot_posts = Answer.objects.filter(question_id__in=questions, is_automated=True)
    extra = bot_posts.exclude(pk__in=posted.values()).count()
    checks.append(Check("duplicate bot posts", str(extra), extra == 0))

    found = Question.objects.filter(pk__in=ledger.questions).count()
    checks.append(Check("questions accepted -> in the database",
                        f"{found}/{len(ledger.questions)}", found == len(ledger.questions)))  # fmt: skip
    half = Question.objects.filter(title__in=ledger.refused_titles).count()
    checks.append(Check("refused asks that left a question", f"{half} of "
                        f"{len(ledger.refused_titles)}", half == 0))  # fmt: skip
    halves = Question.objects.filter(title__in=ledger.unknown_titles, traces__isnull=True).count()
    checks.append(Check("asks with a trace, outcome unknown, left without their trace",
                        f"{halves} of {len(ledger.unknown_titles)}", halves == 0))  # fmt: skip
    found = Answer.objects.filter(pk__in=ledger.answers).count()
    checks.append(Check("answers accepted -> in the database",
                        f"{found}/{len(ledger.answers)}", found == len(ledger.answers)))  # fmt: skip
    unplotted = Diagnosis.objects.filter(trace__in=run_traces, plots_done=False).count()
    checks.append(Check("diagnoses whose plots were never drawn", str(unplotted), unplotted == 0))
    if media_root is not None:
        orphans = orphan_files(media_root)
        checks.append(
            Check("trace files no trace names (partial writes)", str(orphans), orphans == 0)
        )
    return checks
