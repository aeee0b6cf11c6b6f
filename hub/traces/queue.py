"""Sending the pipeline's tasks, after the surrounding transaction commits.

The services send tasks by name, so that the tasks module (which calls the services) and the
services never import each other. The names predate the move of the tasks into ``hub/``: queued
messages and the beat schedule carry them, so they stay.

A send never fails the request that made it: with the broker down it is logged and dropped, and
a trace whose diagnosis was not sent goes back to "uploaded", which the sweep (hub/traces/
sweep.py) queues on its first run once the broker is back.
"""

import logging
from functools import partial

from celery import current_app
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from hub.traces.models import Trace

logger = logging.getLogger(__name__)

DIAGNOSE_TRACE = "analysis.diagnose_trace"
RENDER_PLOTS = "analysis.render_plots"
REPLAY_FIXES = "analysis.replay_fixes"
SWEEP_STUCK_TRACES = "traces.sweep_stuck_traces"


def task_send(name: str, *args, if_unsent=None) -> bool:
    """Send the task now; False (after calling ``if_unsent(*args)``) if the broker is down."""
    try:
        current_app.send_task(name, args=args)
    except (OperationalError, OSError) as exc:
        logger.warning(
            "broker unreachable, %s%s not sent (the sweep resends it): %s", name, args, exc
        )
        if if_unsent is not None:
            if_unsent(*args)
        return False
    return True


def _diagnosis_unsent(trace_id: int) -> None:
    # Nothing waits in the broker for this trace: "uploaded" is what the sweep queues first.
    now = timezone.now()
    Trace.objects.filter(pk=trace_id, state=Trace.State.QUEUED).update(
        state=Trace.State.UPLOADED, state_changed_at=now, updated_at=now
    )


def diagnose_trace_enqueue(trace_id: int) -> None:
    """Queue the trace's diagnosis once the current transaction commits."""
    transaction.on_commit(partial(task_send, DIAGNOSE_TRACE, trace_id, if_unsent=_diagnosis_unsent))


def render_plots_enqueue(diagnosis_id: int) -> None:
    """Queue the drawing of a diagnosis's plots once the current transaction commits."""
    transaction.on_commit(partial(task_send, RENDER_PLOTS, diagnosis_id))


def replay_fixes_enqueue(diagnosis_id: int) -> None:
    """Queue the replay that verifies the diagnosis's fixes once the transaction commits."""
    transaction.on_commit(partial(task_send, REPLAY_FIXES, diagnosis_id))
