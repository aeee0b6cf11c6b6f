"""Sending the pipeline's tasks, after the surrounding transaction commits.

The services send tasks by name, so that the tasks module (which calls the services) and the
services never import each other. The names predate the move of the tasks into ``hub/``: queued
messages and the beat schedule carry them, so they stay.
"""

from functools import partial

from celery import current_app
from django.db import transaction

DIAGNOSE_TRACE = "analysis.diagnose_trace"
RENDER_PLOTS = "analysis.render_plots"
SWEEP_STUCK_TRACES = "traces.sweep_stuck_traces"


def task_send(name: str, *args) -> None:
    current_app.send_task(name, args=args)


def diagnose_trace_enqueue(trace_id: int) -> None:
    """Queue the trace's diagnosis once the current transaction commits."""
    transaction.on_commit(partial(task_send, DIAGNOSE_TRACE, trace_id))


def render_plots_enqueue(diagnosis_id: int) -> None:
    """Queue the drawing of a diagnosis's plots once the current transaction commits."""
    transaction.on_commit(partial(task_send, RENDER_PLOTS, diagnosis_id))
