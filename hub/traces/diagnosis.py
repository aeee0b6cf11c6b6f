"""The worker's job: diagnose one uploaded trace and publish the result, exactly once.

Idempotent: one Diagnosis and one bot post per trace and engine version however often it runs,
and every way it can fail ends in ``failed`` with a reason a person can read.
"""

from __future__ import annotations

import contextlib
import logging
import time

from django.conf import settings
from django.db import transaction

from analysis import ENGINE_VERSION
from hub.accounts.services import bot_user_get
from hub.forum.services import answer_edit, question_tags_add
from hub.notifications.services import notify
from hub.traces import queue
from hub.traces.bot_post import REPLAY_PLOTS, bot_post_body, bot_post_write
from hub.traces.models import Diagnosis, Finding, Trace
from hub.traces.sandbox import EngineFailure, EngineResult, engine_plots, engine_run
from hub.traces.services import trace_fail, trace_state_set
from hub.traces.signals import trace_diagnosed
from hub.traces.storage import trace_local_copy
from traces.format import TraceFormatError

logger = logging.getLogger(__name__)

# Times a worker may begin replaying one trace before it is failed for good: a trace that kills
# its worker every time (redelivered by acks_late + reject_on_worker_lost) must not loop forever.
MAX_ATTEMPTS = 5
# Tags the findings add to a question: warnings and errors only (an info note is not a problem).
TAGGED_SEVERITIES = ("error", "warning")


def _tag_for_code(code: str) -> str:
    return code.replace("_", "-")


def trace_diagnose(*, trace_id: int, force: bool = False) -> Diagnosis | None:
    """The worker's job: diagnose one trace and publish the result, exactly once.

    Phase 1 (locked): exit early if this engine version already diagnosed it (then only make
    sure the post exists); otherwise mark ``replaying``. Phase 2 (no transaction): run the
    engine in a capped child. Phase 3 (locked, one transaction): store the diagnosis, the
    finding rows, the bot post, the tags and the state; a concurrent run that got there first
    wins and this one's result is dropped. The plots follow in the ``analysis.render_plots`` task.
    ``force`` recomputes with the plots inline (``manage.py rediagnose``) and edits the
    existing post in place.
    """
    version = ENGINE_VERSION
    with transaction.atomic():
        trace = Trace.objects.select_for_update().filter(pk=trace_id).first()
        if trace is None:
            return None
        existing = trace.diagnoses.filter(engine_version=version).first()
        if existing is not None and not force:
            _diagnosis_publish(trace=trace, diagnosis=existing)
            return existing
        if trace.attempts >= MAX_ATTEMPTS and not force:
            trace_state_set(
                trace,
                Trace.State.FAILED,
                reason=f"The diagnosis was started {trace.attempts} times without finishing "
                "(the worker stopped each time); we gave up. Upload it again to retry.",
            )
            return None
        trace.attempts += 1
        trace.save(update_fields=["attempts", "updated_at"])
        trace_state_set(trace, Trace.State.REPLAYING)
        stored, max_bytes = trace.file, _max_bytes(trace)
        rank_files = [rank.file for rank in trace.rank_files.all()]  # the other ranks, in order

    delay = float(getattr(settings, "TRACE_DIAGNOSE_TEST_DELAY_SECONDS", 0) or 0)
    if delay:  # tests only: makes a task slow enough to SIGKILL its worker mid-way
        time.sleep(delay)

    try:
        # The sandbox reads a private local copy streamed from storage (disk or S3 alike).
        # The worker posts first and draws the plots in a follow-up task (matplotlib takes
        # many times longer than the diagnosis); a forced re-run draws them inline, so the
        # post is edited once.
        with contextlib.ExitStack() as copies:
            path = copies.enter_context(trace_local_copy(stored, max_bytes=max_bytes))
            peers = [
                copies.enter_context(trace_local_copy(f, max_bytes=max_bytes)) for f in rank_files
            ]
            result = engine_run(path=path, max_bytes=max_bytes, with_plots=force, peer_paths=peers)
    except FileNotFoundError:  # say so without showing the server's paths or keys
        trace_fail(
            trace_id=trace_id,
            reason="The uploaded file is missing on the server. Upload the trace again.",
        )
        return None
    except TraceFormatError as exc:
        trace_fail(trace_id=trace_id, reason=f"This trace file cannot be read: {exc}.")
        return None
    except EngineFailure as exc:
        trace_fail(trace_id=trace_id, reason=str(exc))
        return None

    with transaction.atomic():
        trace = (
            Trace.objects.select_for_update(of=("self",))
            .select_related("question", "owner")
            .get(pk=trace_id)
        )
        diagnosis = trace.diagnoses.filter(engine_version=version).first()
        if diagnosis is not None and not force:
            _diagnosis_publish(trace=trace, diagnosis=diagnosis)  # another run got there first
            return diagnosis
        diagnosis = _diagnosis_store(trace=trace, version=version, result=result, plots_done=force)
        _diagnosis_publish(trace=trace, diagnosis=diagnosis, force=force)
        if not diagnosis.plots_done:
            queue.render_plots_enqueue(diagnosis.pk)
        if not diagnosis.replay_done:
            queue.replay_fixes_enqueue(diagnosis.pk)
    return diagnosis


def diagnosis_plots_render(*, diagnosis_id: int) -> Diagnosis | None:
    """The follow-up task: draw the plots of a stored diagnosis and add them to the bot post.

    Idempotent like trace_diagnose: drawn outside any transaction, saved under a row lock only
    if no other run saved them first; a trace that cannot be drawn ends with no plots.
    """
    diagnosis = Diagnosis.objects.select_related("trace").filter(pk=diagnosis_id).first()
    if diagnosis is None or diagnosis.plots_done:
        return diagnosis
    trace = diagnosis.trace
    max_bytes = _max_bytes(trace)
    try:
        with trace_local_copy(trace.file, max_bytes=max_bytes) as path:
            plots = engine_plots(
                path=path,
                max_bytes=max_bytes,
                diagnosis_data={
                    "engine_version": diagnosis.engine_version,
                    "summary": diagnosis.summary,
                    "facts": diagnosis.facts,
                    "findings": diagnosis.findings,
                },
            )
    except (TraceFormatError, EngineFailure, OSError) as exc:
        logger.warning("plots of diagnosis %s not drawn: %s", diagnosis_id, exc)
        plots = {}
    with transaction.atomic():
        diagnosis = Diagnosis.objects.select_for_update().filter(pk=diagnosis_id).first()
        if diagnosis is None or diagnosis.plots_done:
            return diagnosis
        # The replay's plot may have landed first: keep it.
        replay_plots = {k: v for k, v in (diagnosis.plots or {}).items() if k in REPLAY_PLOTS}
        diagnosis.plots = plots | replay_plots
        diagnosis.plots_done = True
        diagnosis.save(update_fields=["plots", "plots_done", "updated_at"])
        # Edited even without plots: the post's "being drawn" line must go either way.
        if diagnosis.answer_id is not None:
            trace = Trace.objects.select_related("question").get(pk=diagnosis.trace_id)
            if trace.question_id is not None:
                answer_edit(
                    answer=diagnosis.answer,
                    editor=bot_user_get(),
                    body=bot_post_body(trace=trace, diagnosis=diagnosis),
                )
    return diagnosis


def _max_bytes(trace: Trace) -> int:
    """What the worker copies and the sandbox loads of one trace: its size or the upload cap."""
    return max(trace.size_bytes, settings.TRACE_MAX_UPLOAD_BYTES)


def _diagnosis_store(
    *, trace: Trace, version: str, result: EngineResult, plots_done: bool
) -> Diagnosis:
    data = result.diagnosis
    diagnosis, _ = Diagnosis.objects.update_or_create(
        trace=trace,
        engine_version=version,
        defaults={
            "summary": data.get("summary", ""),
            "healthy": bool(data.get("healthy", True)),
            "findings": data.get("findings", []),
            "facts": data.get("facts", {}),
            "report_markdown": result.markdown,
            "plots": result.plots,
            "plots_done": plots_done,
            # A healthy run has no fix to verify: no replay is queued for it.
            "replay": {},
            "replay_done": bool(data.get("healthy", True)),
        },
    )
    diagnosis.finding_rows.all().delete()
    Finding.objects.bulk_create(
        Finding(
            diagnosis=diagnosis,
            code=f["code"],
            severity=f["severity"],
            title=f["title"][:300],
            layers=list(f["evidence"].get("modules") or []),
            first_layer=(f["evidence"].get("modules") or [""])[0][:300],
            onset_step=f["evidence"].get("onset_step"),
            confidence=min(max(float(f["confidence"]), 0.0), 1.0),
        )
        for f in diagnosis.findings
    )
    return diagnosis


def _diagnosis_publish(*, trace: Trace, diagnosis: Diagnosis, force: bool = False) -> None:
    """Inside the caller's transaction: the bot post, tags, state, notification, webhooks."""
    if trace.question_id is not None:
        bot_post_write(trace=trace, diagnosis=diagnosis, force=force)
        tags = sorted(
            {
                _tag_for_code(f["code"])
                for f in diagnosis.findings
                if f["severity"] in TAGGED_SEVERITIES
            }
        )
        if tags:
            question_tags_add(question=trace.question, tags=tags)
    if trace.state == Trace.State.DIAGNOSED and not force:
        return
    trace_state_set(trace, Trace.State.DIAGNOSED)
    _diagnosed_notify(trace=trace, diagnosis=diagnosis)


def _diagnosed_notify(*, trace: Trace, diagnosis: Diagnosis) -> None:
    if trace.question_id is not None:
        text = f'Gradient Doctor diagnosed your trace on "{trace.question.title}": '
    else:
        text = "Gradient Doctor diagnosed your trace: "
    notify(
        recipient=trace.owner,
        verb="diagnosed",
        text=text + diagnosis.summary,
        url=trace.get_absolute_url(),
        question=trace.question,
    )
    trace_diagnosed.send(sender=Trace, trace=trace, diagnosis=diagnosis)
