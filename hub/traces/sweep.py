"""The sweep: traces and plots whose task was lost are queued again; hopeless ones fail."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hub.traces import queue
from hub.traces.diagnosis import MAX_ATTEMPTS
from hub.traces.models import Diagnosis, Trace
from hub.traces.services import trace_state_set

logger = logging.getLogger(__name__)

# Traces waiting in queued/replaying longer than this are re-enqueued by the sweep. Above the
# task's hard time limit plus its retry backoff (hub/traces/tasks.py), so a live task is never
# doubled by the sweep (and if it were, trace_diagnose is idempotent).
STUCK_AFTER = timedelta(minutes=15)
# Plots not drawn this long after their diagnosis are re-enqueued by the sweep (drawing takes
# seconds; the task's hard limit is under two minutes) until they are a day old.
PLOTS_STUCK_AFTER = timedelta(minutes=5)
PLOTS_GIVE_UP_AFTER = timedelta(days=1)


def traces_sweep_stuck(*, now=None) -> dict[str, int]:
    """Re-enqueue traces never sent or stuck in queued/replaying; fail those out of attempts."""
    now = now or timezone.now()
    requeued = failed = 0
    # "uploaded": its diagnosis was never sent (the broker was down, hub/traces/queue.py), so
    # no task can be running for it: queued at once.
    stuck = Q(state=Trace.State.UPLOADED) | Q(
        state__in=[Trace.State.QUEUED, Trace.State.REPLAYING],
        state_changed_at__lt=now - STUCK_AFTER,
    )
    stuck_ids = list(Trace.objects.filter(stuck).values_list("pk", flat=True)[:1000])
    for trace_id in stuck_ids:
        with transaction.atomic():
            trace = (
                Trace.objects.select_for_update(skip_locked=True)
                .filter(stuck, pk=trace_id)
                .exclude(state__in=Trace.TERMINAL_STATES)
                .first()
            )
            if trace is None:  # a worker holds it or finished it meanwhile
                continue
            if trace.attempts >= MAX_ATTEMPTS:
                trace_state_set(
                    trace,
                    Trace.State.FAILED,
                    reason=f"The diagnosis did not finish after {trace.attempts} attempts; we "
                    "gave up. Upload the trace again to retry.",
                )
                failed += 1
                continue
            trace_state_set(trace, Trace.State.QUEUED)  # restarts the stuck clock
            queue.diagnose_trace_enqueue(trace.pk)
            requeued += 1
    # Plots whose follow-up task was lost (a worker died between the post and the enqueue).
    plots = list(
        Diagnosis.objects.filter(
            plots_done=False,
            updated_at__lt=now - PLOTS_STUCK_AFTER,
            updated_at__gt=now - PLOTS_GIVE_UP_AFTER,
        ).values_list("pk", flat=True)[:1000]
    )
    for diagnosis_id in plots:
        queue.task_send(queue.RENDER_PLOTS, diagnosis_id)
    if requeued or failed or plots:
        logger.info(
            "sweep: %s traces re-enqueued, %s failed, %s plots re-enqueued",
            requeued, failed, len(plots),
        )  # fmt: skip
    return {"requeued": requeued, "failed": failed, "plots": len(plots)}
