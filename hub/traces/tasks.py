"""Celery tasks of the pipeline: thin wrappers that take ids and call a service.

The task names predate the move into ``hub/`` (``hub.traces.queue`` holds them): queued messages
and the beat schedule carry them.
"""

import logging

from botocore.exceptions import ConnectionError as StorageConnectionError
from botocore.exceptions import HTTPClientError as StorageHTTPError
from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerOperationalError

from hub.traces import queue
from hub.traces.diagnosis import diagnosis_plots_render, trace_diagnose
from hub.traces.replay import diagnosis_replay_run
from hub.traces.services import trace_fail
from hub.traces.sweep import traces_sweep_stuck

logger = logging.getLogger(__name__)

# Transient trouble worth another try: the database, the broker or the object storage (S3) went
# away for a moment.
TRANSIENT_ERRORS = (
    OperationalError,
    InterfaceError,
    BrokerOperationalError,
    StorageConnectionError,
    StorageHTTPError,
)
MAX_RETRIES = 5
RETRY_BACKOFF_MAX_SECONDS = 120  # 1, 2, 4, 8, 16 s (+ jitter): all retries within ~1 min
# Below the global CELERY_TASK_SOFT_TIME_LIMIT / CELERY_TASK_TIME_LIMIT (120 / 180 s) and above
# the engine's own budget (hub.traces.sandbox.DIAGNOSE_TIMEOUT_SECONDS = 75 s).
SOFT_TIME_LIMIT_SECONDS = 100
TIME_LIMIT_SECONDS = 115
# The diagnosis and its plots: redelivered if a worker dies mid-task (both are idempotent),
# retried with backoff on transient errors, and stopped by the time limits.
PIPELINE_TASK_OPTIONS = dict(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=RETRY_BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=SOFT_TIME_LIMIT_SECONDS,
    time_limit=TIME_LIMIT_SECONDS,
)


class DiagnoseTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Out of retries, or an unexpected error: the trace says so instead of hanging."""
        trace_id = kwargs.get("trace_id", args[0] if args else None)
        if trace_id is None:
            return
        if isinstance(exc, SoftTimeLimitExceeded):
            reason = "The diagnosis ran out of time and was stopped."
        elif isinstance(exc, TRANSIENT_ERRORS):
            reason = (
                "The diagnosis could not be made: the database, the queue or the file storage "
                "was unavailable. "
                "Upload the trace again to retry."
            )
        else:
            reason = f"The diagnosis failed unexpectedly ({type(exc).__name__}); it is logged."
        try:
            trace_fail(trace_id=trace_id, reason=reason)
        except Exception:  # the database is still down: the sweep will pick the trace up
            logger.exception("could not mark trace %s failed", trace_id)


@shared_task(name=queue.DIAGNOSE_TRACE, base=DiagnoseTask, **PIPELINE_TASK_OPTIONS)
def diagnose_trace(trace_id: int) -> None:
    trace_diagnose(trace_id=trace_id)


@shared_task(name=queue.SWEEP_STUCK_TRACES, acks_late=True, soft_time_limit=50, time_limit=60)
def sweep_stuck_traces() -> dict:
    return traces_sweep_stuck()


@shared_task(name=queue.RENDER_PLOTS, **PIPELINE_TASK_OPTIONS)
def render_plots(diagnosis_id: int) -> None:
    """The plots of a diagnosis, drawn after the bot post so that the post does not wait."""
    diagnosis_plots_render(diagnosis_id=diagnosis_id)


# The replay trains the user's model several times: its own, longer limits, above the sandbox's
# REPLAY_TIMEOUT_SECONDS (240 s).
REPLAY_SOFT_TIME_LIMIT_SECONDS = 270
REPLAY_TIME_LIMIT_SECONDS = 290


@shared_task(
    name=queue.REPLAY_FIXES,
    **PIPELINE_TASK_OPTIONS
    | {"soft_time_limit": REPLAY_SOFT_TIME_LIMIT_SECONDS, "time_limit": REPLAY_TIME_LIMIT_SECONDS},
)
def replay_fixes(diagnosis_id: int) -> None:
    """Verified fixes, added to the bot post after it landed (like the plots)."""
    diagnosis_replay_run(diagnosis_id=diagnosis_id)
