"""A task travels through Redis to a real worker process and changes PostgreSQL."""

import time

import pytest

from hub.core.models import WorkerHeartbeat
from hub.core.tasks import heartbeat


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_heartbeat_task_runs_in_a_worker_process_and_writes_a_row(celery_worker):
    heartbeat.delay(hostname="roundtrip-check")

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if WorkerHeartbeat.objects.filter(hostname="roundtrip-check").exists():
            break
        time.sleep(0.1)
    assert WorkerHeartbeat.objects.filter(hostname="roundtrip-check").exists(), (
        celery_worker.log_text()
    )
