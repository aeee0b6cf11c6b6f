"""Settings for the extra worker that test_pipeline_worker.py SIGKILLs mid-task.

Its own queue and Redis database (so its short visibility timeout can only ever restore its own
messages), a visibility timeout of a few seconds with a restore sweep every second (kombu's
defaults are one hour and ~100 s), and a deterministic delay inside trace_diagnose so the kill
lands while the task runs.
"""

import os

from tests.settings import *  # noqa: F403

CELERY_BROKER_URL = os.environ["PIPELINE_BROKER_URL"]
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("PIPELINE_VISIBILITY_TIMEOUT", "6")),
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
TRACE_DIAGNOSE_TEST_DELAY_SECONDS = float(os.environ.get("TRACE_DIAGNOSE_TEST_DELAY_SECONDS", "0"))
