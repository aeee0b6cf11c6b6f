"""A real Celery worker process for integration tests (no eager mode, no mocks)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

READY_TIMEOUT_SECONDS = 60


class WorkerProcess:
    """`celery -A hub worker` on this run's queue and test database."""

    def __init__(self, *, log_path: Path, concurrency: int = 2):
        self.log_path = log_path
        self.concurrency = concurrency
        self.process: subprocess.Popen | None = None

    def _env(self) -> dict[str, str]:
        db = connection.settings_dict  # after test setup: points at the test database
        url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        return os.environ | {"DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": url}

    def start(self) -> "WorkerProcess":
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "hub", "worker",
                "-Q", settings.CELERY_TASK_DEFAULT_QUEUE,
                f"--concurrency={self.concurrency}", "--loglevel=info",
                f"--hostname=test-{os.environ['GRADHUB_TEST_RUN_ID']}-{time.monotonic_ns()}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ],
            env=self._env(), stdout=log, stderr=subprocess.STDOUT,
            cwd=settings.BASE_DIR, start_new_session=True,
        )  # fmt: skip
        self._wait_ready(offset)
        return self

    def _wait_ready(self, offset: int) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Celery worker exited early; see {self.log_path}")
            with self.log_path.open("rb") as fh:
                fh.seek(offset)
                if b" ready." in fh.read():
                    return
            time.sleep(0.2)
        raise RuntimeError(
            f"Celery worker not ready after {READY_TIMEOUT_SECONDS}s; see {self.log_path}"
        )

    def stop(self) -> None:
        """Warm shutdown, as a deploy would do."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children), like an OOM kill."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
