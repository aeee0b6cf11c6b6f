"""Verified fixes: after the diagnosis post lands, replay the recorded model in the sandbox and
add the "Verified fix" section, with its before/after plot, to the same post (like the plots).

Idempotent like the plots: computed outside any transaction, saved under the diagnosis's row
lock only if no other run saved it first; a replay that cannot be made is stored with its
reason (``reproduced: false``), so the post never waits forever.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

from hub.accounts.services import bot_user_get
from hub.forum.services import answer_edit
from hub.traces.bot_post import bot_post_body
from hub.traces.models import Diagnosis, Trace
from hub.traces.sandbox import EngineFailure, engine_replay
from hub.traces.signals import trace_replayed
from hub.traces.storage import trace_local_copy
from traces.format import TraceFormatError

logger = logging.getLogger(__name__)


def diagnosis_replay_run(*, diagnosis_id: int) -> Diagnosis | None:
    diagnosis = Diagnosis.objects.select_related("trace").filter(pk=diagnosis_id).first()
    if diagnosis is None or diagnosis.replay_done:
        return diagnosis
    trace = diagnosis.trace
    steps = settings.TRACE_REPLAY_STEPS
    max_bytes = max(trace.size_bytes, settings.TRACE_MAX_UPLOAD_BYTES)
    try:
        with trace_local_copy(trace.file, max_bytes=max_bytes) as path:
            result = engine_replay(
                path=path,
                max_bytes=max_bytes,
                diagnosis_data={
                    "engine_version": diagnosis.engine_version,
                    "summary": diagnosis.summary,
                    "facts": diagnosis.facts,
                    "findings": diagnosis.findings,
                },
                steps=steps,
            )
    except (TraceFormatError, EngineFailure, OSError) as exc:
        logger.warning("replay of diagnosis %s not made: %s", diagnosis_id, exc)
        why = f"replay unavailable: {str(exc).replace('The diagnosis', 'The replay')}"
        result = {"replay": {"reproduced": False, "why": why, "steps": steps, "fixes": []}}
    plots = result.pop("plots", None) or {}
    with transaction.atomic():
        diagnosis = Diagnosis.objects.select_for_update().filter(pk=diagnosis_id).first()
        if diagnosis is None or diagnosis.replay_done:
            return diagnosis
        diagnosis.replay = result
        diagnosis.replay_done = True
        # The before/after plot joins the diagnosis's plots (served and listed like them).
        diagnosis.plots = {**(diagnosis.plots or {}), **plots}
        diagnosis.save(update_fields=["replay", "replay_done", "plots", "updated_at"])
        trace = Trace.objects.select_related("question", "owner").get(pk=diagnosis.trace_id)
        if diagnosis.answer_id is not None and trace.question_id is not None:
            answer_edit(
                answer=diagnosis.answer,
                editor=bot_user_get(),
                body=bot_post_body(trace=trace, diagnosis=diagnosis),
            )
        trace_replayed.send(sender=Trace, trace=trace, diagnosis=diagnosis)
    return diagnosis
