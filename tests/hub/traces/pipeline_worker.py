"""A second, deliberately slow Celery worker for the pipeline tests (kill, browser).

It consumes its own queue on its own Redis database (so its short visibility timeout can only
restore its own messages) with tests/hub/traces/pipeline_worker_settings.py: a visibility timeout
of a few seconds, a restore sweep every second, and a fixed delay inside trace_diagnose so a
test can see ``replaying`` or SIGKILL the worker mid-task.
"""

import os
from functools import partial

from django.conf import settings
from django.db import transaction
from django.test import override_settings

from tests.worker import WorkerProcess

# A Redis database no other part of the suite uses (override with GRADHUB_TEST_SLOW_REDIS_DB).
SLOW_WORKER_REDIS_DB = int(os.environ.get("GRADHUB_TEST_SLOW_REDIS_DB", "9"))
VISIBILITY_TIMEOUT_SECONDS = 6


def _redis_db_url(db: int) -> str:
    return f"{settings.REDIS_URL.rsplit('/', 1)[0]}/{db}"


class DelayedWorker(WorkerProcess):
    def __init__(self, *, name: str, delay_seconds: float, **kwargs):
        super().__init__(concurrency=1, **kwargs)
        self.queue = f"gradhub-test-{os.environ['GRADHUB_TEST_RUN_ID']}-{name}"
        self.broker_url = _redis_db_url(SLOW_WORKER_REDIS_DB)
        self.delay_seconds = delay_seconds

    def _env(self) -> dict[str, str]:
        return super()._env() | {
            "DJANGO_SETTINGS_MODULE": "tests.hub.traces.pipeline_worker_settings",
            "PIPELINE_BROKER_URL": self.broker_url,
            "CELERY_QUEUE": self.queue,
            "PIPELINE_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT_SECONDS),
            "TRACE_DIAGNOSE_TEST_DELAY_SECONDS": str(self.delay_seconds),
        }

    def start(self):
        with override_settings(CELERY_TASK_DEFAULT_QUEUE=self.queue):  # the -Q argument
            return super().start()

    def send(self, trace_id: int) -> None:
        """Enqueue analysis.diagnose_trace for this worker alone."""
        from hub.celery import app
        from hub.traces.tasks import diagnose_trace

        with app.connection_for_write(self.broker_url) as conn:
            diagnose_trace.apply_async(args=[trace_id], queue=self.queue, connection=conn)

    def enqueue_after_commit(self, trace_id: int) -> None:
        """A drop-in for hub.traces.queue.diagnose_trace_enqueue that routes uploads to this worker."""
        transaction.on_commit(partial(self.send, trace_id))
