"""The faults bench/load.py injects during the traffic, and how long the site took to recover.

Each fault breaks one part for real (a SIGKILL, a stopped server, dropped connections, a full
disk) and then leaves the site alone: recovery is the first moment after the fault when
/readyz answers 200 and a question list renders again, with no help from the driver."""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass

import psutil
import requests

from bench.load_traffic import PROXY_HEADERS, Site, upload

RECOVERY_TIMEOUT_SECONDS = 120
REDIS_DOWN_SECONDS = 10
STORAGE_FULL_SECONDS = 15
POSTGRES_DROPS = 3  # connections dropped this many times, a second apart
REPLAYING_TIMEOUT_SECONDS = 60
# Big enough that its diagnosis takes a second or more (bench/pipeline.py: 50k steps, 2.5 s),
# so the kill lands while the engine runs.
PROBE_STEPS = 40_000


class FaultNotInjected(Exception):
    """The fault could not be made (nothing to kill at that moment): the run proves nothing."""


@dataclass
class FaultRun:
    name: str
    detail: str
    started: float  # monotonic
    ended: float  # the fault's own end: the part is back (or was never gone)
    recovered: float | None  # the site answered again
    tolerates_errors: bool  # requests in flight when the fault hit may fail
    injected: bool = True


def site_recovered(base_url: str, *, since: float) -> float | None:
    """The moment /readyz and the question list both answered 200 again, or None."""
    deadline = since + RECOVERY_TIMEOUT_SECONDS
    session = requests.Session()
    session.headers.update(PROXY_HEADERS)
    while time.monotonic() < deadline:
        try:
            ready = session.get(f"{base_url}/readyz", timeout=5).status_code == 200
            listed = ready and session.get(f"{base_url}/questions/", timeout=5).status_code == 200
            if listed:
                return time.monotonic()
        except requests.RequestException:
            session.close()
        time.sleep(0.25)
    return None


def _trace_state(trace_id: int) -> str:
    from hub.traces.models import Trace

    return Trace.objects.filter(pk=trace_id).values_list("state", flat=True).first()


def _probe_upload(site: Site, probe_bytes) -> int | None:
    """A big private trace, uploaded and followed until a worker is replaying it."""
    person = site.uploaders.take("upload")
    trace_id = upload(
        site, person, probe_bytes(), fields={"private": "true"}, page="api upload, probe"
    )
    if trace_id is None:
        return None
    deadline = time.monotonic() + REPLAYING_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if _trace_state(trace_id) == "replaying":
            return trace_id
        time.sleep(0.05)
    return None


def _busy_worker(workers):
    """The worker whose pool process is running a diagnosis (its sandbox child is alive),
    waited for: "replaying" is set before the file is copied and the sandbox forked."""
    deadline = time.monotonic() + REPLAYING_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for worker in workers:
            for child in worker.pool_children():
                try:
                    if child.children():
                        return worker, child
                except psutil.NoSuchProcess:
                    continue
        time.sleep(0.02)
    return None, None


def kill_pool_process(site: Site, *, workers, probe_bytes) -> str:
    """SIGKILL the pool process running a diagnosis; its worker replaces it and the broker
    redelivers the task (acks_late + reject_on_worker_lost)."""
    trace_id = _probe_upload(site, probe_bytes)
    worker, child = _busy_worker(workers)
    if child is None:
        raise FaultNotInjected(f"no diagnosis running to kill (probe trace {trace_id})")
    for process in [*child.children(recursive=True), child]:
        try:
            process.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    return f"{worker.name}'s pool process {child.pid} killed mid-diagnosis (probe trace {trace_id})"


def kill_whole_worker(site: Site, *, workers, probe_bytes) -> str:
    """SIGKILL a worker's whole process group mid-diagnosis (an OOM kill of its container),
    then start it again as a supervisor would; the unacked task returns after the broker's
    visibility timeout."""
    trace_id = _probe_upload(site, probe_bytes)
    worker, child = _busy_worker(workers)
    if worker is None:
        raise FaultNotInjected(f"no diagnosis running to kill (probe trace {trace_id})")
    worker.kill()
    time.sleep(2)
    worker.start()
    return f"{worker.name} (process group) killed mid-diagnosis (probe trace {trace_id}), restarted"


def restart_redis(site: Site, *, redis_server) -> str:
    """Stop Redis (cache, limits, presence, broker) as `docker restart` does, start it again."""
    redis_server.stop()
    time.sleep(REDIS_DOWN_SECONDS)
    redis_server.start()
    return f"redis-server stopped for {REDIS_DOWN_SECONDS} s, started again"


def drop_postgres_connections(site: Site, *, database: str) -> str:
    """pg_terminate_backend on every connection of the site's database but the driver's."""
    from django.db import connection

    dropped = 0
    for round_ in range(POSTGRES_DROPS):
        if round_:
            time.sleep(1)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [database],
            )
            dropped += cursor.fetchone()[0]
    # The fault ends with the last drop: a request that begins after it must get a live
    # connection (a persistent one left broken by the drop would fail it).
    return f"{dropped} PostgreSQL connections terminated in {POSTGRES_DROPS} rounds"


def storage_refuses_writes(site: Site, *, media) -> str:
    detail = media.refuse_writes()
    time.sleep(STORAGE_FULL_SECONDS)
    media.accept_writes()
    return f"{detail} for {STORAGE_FULL_SECONDS} s"


FAULTS = ("pool-kill", "redis", "postgres", "storage", "worker-kill")


def fault_plan(*, names, workers, redis_server, media, database: str, probe_bytes) -> list[tuple]:
    """(share of the run, name, action, tolerates errors): the faults named (FAULTS), each at
    its own time of the run."""
    plan = [
        (0.12, "SIGKILL pool process mid-diagnosis", lambda site: kill_pool_process(
            site, workers=workers, probe_bytes=probe_bytes), False),
        (0.28, "restart Redis", lambda site: restart_redis(site, redis_server=redis_server),
         False),
        (0.44, "drop PostgreSQL connections", lambda site: drop_postgres_connections(
            site, database=database), True),
        (0.60, "storage refuses writes", lambda site: storage_refuses_writes(site, media=media),
         False),
        (0.76, "SIGKILL whole worker mid-diagnosis", lambda site: kill_whole_worker(
            site, workers=workers, probe_bytes=probe_bytes), False),
    ]  # fmt: skip
    return [step for short, step in zip(FAULTS, plan, strict=True) if short in names]


def faults_run(site: Site, plan: list[tuple], *, started: float, seconds: float, runs: list):
    """Run each fault at its time, then wait for the site to recover (a thread's target)."""
    for share, name, action, tolerates in plan:
        at = started + share * seconds
        if site.stop.wait(max(0.0, at - time.monotonic())):
            return
        print(f"[{time.monotonic() - started:6.1f} s] fault: {name}", flush=True)
        begun = time.monotonic()
        injected = True
        try:
            detail = action(site)
        except Exception as exc:  # reported (and fails the run), but the run goes on
            detail, injected = f"NOT injected: {type(exc).__name__}: {exc}", False
        ended = time.monotonic()
        recovered = site_recovered(site.base_url, since=ended)
        runs.append(FaultRun(name, detail, begun, ended, recovered, tolerates, injected))
        took = f"{recovered - ended:.1f} s" if recovered else "NOT recovered"
        print(f"[{time.monotonic() - started:6.1f} s]   {detail}; site back after {took}",
              flush=True)  # fmt: skip
