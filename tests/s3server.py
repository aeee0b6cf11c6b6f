"""A real S3-compatible server for the tests: moto's server in its own process on 127.0.0.1.

Not moto's in-process ``mock_aws`` (which patches the client): boto3 and django-storages talk
HTTP to a separate process, as they would to MinIO or AWS.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3

READY_TIMEOUT_SECONDS = 30
ACCESS_KEY = "gradhub-test"
SECRET_KEY = "gradhub-test-secret"
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class S3ServerProcess:
    """`python -m moto.server` on a free port of 127.0.0.1."""

    def __init__(self, *, log_path: Path):
        self.log_path = log_path
        self.port = 0
        self.process: subprocess.Popen | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "S3ServerProcess":
        self.port = _free_port()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"The S3 server exited early; see {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"The S3 server did not listen in time; see {self.log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def client(self):
        """A boto3 client of this server, to look at the bucket behind the storage's back."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )
