"""The processes bench/load.py runs and breaks: a private Redis, gunicorn, Celery workers, beat,
and the media disk. Each can be stopped, killed and started again, as the faults need."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
READY_TIMEOUT_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of a process and its children: gunicorn's master and workers, a Celery
    worker and its pool (not the short-lived sandbox forks, whose pages are mostly shared)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children()]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


class Service:
    """A child process in its own session, logging to a file, that can be restarted."""

    name = "service"

    def __init__(self, *, log_dir: Path, env: dict[str, str]):
        self.log_path = log_dir / f"{self.name}.log"
        self.env = env
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        return True

    def start(self) -> None:
        self.starts += 1
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(), env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited during start-up; see {self.log_path}")
            if self.ready():
                return
            time.sleep(0.2)
        raise SystemExit(f"{self.name} not ready after {READY_TIMEOUT_SECONDS} s")

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 20) -> None:
        """A graceful stop (SIGTERM to the whole group), as a deploy or `docker stop` does."""
        if self.running():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL the whole group (main process and its children), like the OOM killer."""
        if self.running():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def rss_bytes(self) -> int:
        return tree_rss_bytes(self.pid) if self.running() else 0


class RedisServer(Service):
    """A private redis-server (cache, rate limits, presence and broker of the run), persisted
    with an append-only file as docker-compose runs it, so a restart keeps the queue."""

    name = "redis"

    def __init__(self, *, log_dir: Path, env: dict[str, str]):
        super().__init__(log_dir=log_dir, env=env)
        self.port = free_port()
        self.data_dir = log_dir / "redis-data"
        self.data_dir.mkdir(exist_ok=True)
        self.url = f"redis://127.0.0.1:{self.port}/14"

    def command(self) -> list[str]:
        return [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.data_dir), "--appendonly", "yes", "--save", "",
        ]  # fmt: skip

    def ready(self) -> bool:
        try:
            return redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
        except redis.RedisError:
            return False


class Gunicorn(Service):
    name = "gunicorn"

    def __init__(self, *, log_dir: Path, env: dict[str, str], workers: int, host_headers: dict):
        super().__init__(log_dir=log_dir, env=env)
        self.port = free_port()
        self.workers = workers
        self.host_headers = host_headers
        self.url = f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            str(BIN / "gunicorn"), "hub.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers), "--timeout", "60", "--log-level", "warning",
        ]  # fmt: skip

    def ready(self) -> bool:
        try:
            return requests.get(f"{self.url}/healthz", headers=self.host_headers, timeout=2).ok
        except requests.RequestException:
            return False


class CeleryWorker(Service):
    """`celery -A hub worker`, one pool process, as the issue's two workers each run."""

    def __init__(self, *, log_dir: Path, env: dict[str, str], number: int):
        self.name = f"worker{number}"
        super().__init__(log_dir=log_dir, env=env)
        self.number = number
        self._log_offset = 0

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "celery", "-A", "hub", "worker", "--concurrency=1",
            "--loglevel=info", f"--hostname=load{self.number}-{os.getpid()}@%h",
            "--without-gossip", "--without-mingle",
        ]  # fmt: skip

    def start(self) -> None:
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        super().start()

    def ready(self) -> bool:
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            return b" ready." in log.read()

    def pool_children(self) -> list[psutil.Process]:
        """The prefork pool's processes (each may have a forked sandbox child of its own)."""
        try:
            return psutil.Process(self.pid).children()
        except psutil.NoSuchProcess:
            return []


class CeleryBeat(Service):
    """Beat runs the sweep every five minutes, as in production."""

    name = "beat"

    def command(self) -> list[str]:
        schedule = self.log_path.parent / "celerybeat-schedule"
        return [
            sys.executable, "-m", "celery", "-A", "hub", "beat", "--loglevel=info",
            "-s", str(schedule),
        ]  # fmt: skip


class MediaDisk:
    """MEDIA_ROOT on a small disk of its own that a fault can fill (a tmpfs, when root may
    mount one; otherwise a directory a fault makes read-only, which root would ignore)."""

    SIZE_MB = 256

    def __init__(self, path: Path):
        self.path = path
        self.path.mkdir(parents=True, exist_ok=True)
        self.mounted = False
        self.filler = self.path / "disk-filler"

    def set_up(self) -> None:
        if os.geteuid() == 0:
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={self.SIZE_MB}m", "tmpfs", str(self.path)],
                check=True,
            )
            self.mounted = True

    def refuse_writes(self) -> str:
        if self.mounted:
            free = shutil.disk_usage(self.path).free
            with self.filler.open("wb") as filler:
                try:
                    while free > 0:
                        filler.write(b"\0" * min(free, 8 * 2**20))
                        free -= 8 * 2**20
                except OSError:
                    pass  # full: what we wanted
            return "media disk filled (tmpfs, 0 bytes free)"
        for directory, _, _ in os.walk(self.path):
            os.chmod(directory, 0o555)
        return "media directory made read-only"

    def accept_writes(self) -> None:
        if self.mounted:
            self.filler.unlink(missing_ok=True)
        else:
            for directory, _, _ in os.walk(self.path):
                os.chmod(directory, 0o755)

    def tear_down(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], check=False)
            self.mounted = False
