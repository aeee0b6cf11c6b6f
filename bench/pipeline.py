"""Benchmark: upload-to-posted latency of the trace pipeline, and throughput with two workers.

    .venv/bin/python bench/pipeline.py [--quick]

Needs PostgreSQL and Redis (the test suite's services). Creates a throw-away database, starts
real Celery worker processes (tests/worker.py) on a private queue, and measures from the HTTP
upload (Django's test client POSTing the file to /traces/questions/<id>/upload/) until the
Gradient Doctor's answer row exists in the thread:

- latency, one warm worker (concurrency 1): p50 / p95 for 1k-step and 50k-step traces
  (an 18-parameter, 9-layer MLP: 1 MB and 48 MB files), uploads one after another;
- throughput, two workers (two processes, concurrency 1 each): a burst of 1k-step uploads,
  traces posted per second.

The bot post appears as soon as the diagnosis is stored; its plots are drawn by a follow-up task
and edited into the post, so both times are printed. Also prints the time the same trace takes
to load + diagnose (and to plot) in-process, so the pipeline's
overhead (queue, fork, plots, database, post) can be read off. Target (issue 6): p50 <= 2 s for
1k steps.

``--verified`` measures the verified fix instead (issue 17): traces recorded with a program
(bench/replay.py's deep-sigmoid MLP, whose gradients vanish, and its small GPT of ~0.5 M
parameters trained at 100x its learning rate), uploaded one after another to one warm worker
that replays TRACE_REPLAY_STEPS (200) steps; p50 / max from the upload to the bot post and to
the "Verified fix" section in it. Target: post p50 <= 2 s, verified fix p50 <= 30 s on a model of
<= 1 M parameters.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RUN_ID = f"bench{os.getpid()}"
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/gradhub")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ["GRADHUB_TEST_RUN_ID"] = RUN_ID
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="gradhub-bench-media-")
# The suite's settings replay 40 steps; this bench measures the production default.
os.environ["TRACE_REPLAY_STEPS"] = os.environ.get("BENCH_REPLAY_STEPS", "200")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

import traces  # noqa: E402
from tests.worker import WorkerProcess  # noqa: E402
from traces.synthetic import synthetic_trace  # noqa: E402

LAYERS = (32,) + (64,) * 8 + (10,)  # 9 Linear layers, 18 parameters
POLL_SECONDS = 0.01
POST_TIMEOUT_SECONDS = 300


def trace_file(steps: int, seed: int) -> bytes:
    return traces.dumps(synthetic_trace(num_steps=steps, layer_sizes=LAYERS, seed=seed))


def asker_and_question(n: int):
    """A person and their question, made directly (the forum's rate limits are not under test)."""
    from hub.forum.models import Question

    user = get_user_model().objects.create_user(f"bench{n}", f"bench{n}@example.com", "x" * 20)
    question = Question.objects.create(
        author=user, title=f"Bench question {n}", slug=f"bench-{n}", body="b", body_html="b"
    )
    return user, question


def upload(n: int, data: bytes):
    """POST one trace to a fresh question; returns (question id, monotonic start time)."""
    user, question = asker_and_question(n)
    client = Client()
    client.force_login(user)
    started = time.monotonic()
    response = client.post(
        f"/traces/questions/{question.pk}/upload/",
        {"file": SimpleUploadedFile("run.trace", data)},
        HTTP_ACCEPT="application/json",
    )
    if response.status_code != 200:
        raise SystemExit(f"upload failed: {response.status_code} {response.content[:300]!r}")
    return question.pk, started


def wait_posted(question_ids: list[int]) -> dict[int, float]:
    """Monotonic time at which each question got its bot answer."""
    from hub.forum.models import Answer
    from hub.traces.models import Trace

    posted: dict[int, float] = {}
    deadline = time.monotonic() + POST_TIMEOUT_SECONDS
    pending = set(question_ids)
    while pending and time.monotonic() < deadline:
        done = set(
            Answer.objects.filter(question_id__in=pending, is_automated=True).values_list(
                "question_id", flat=True
            )
        )
        now = time.monotonic()
        for qid in done:
            posted[qid] = now
        pending -= done
        failed = list(
            Trace.objects.filter(question_id__in=pending, state="failed").values_list(
                "question_id", "failure_reason"
            )
        )
        if failed:
            raise SystemExit(f"diagnosis failed: {failed[:3]}")
        time.sleep(POLL_SECONDS)
    if pending:
        raise SystemExit(f"{len(pending)} traces not posted after {POST_TIMEOUT_SECONDS} s")
    return posted


def wait_plots(question_id: int) -> float:
    """Monotonic time at which the question's diagnosis had its plots drawn."""
    return wait_diagnosis(question_id, "plots_done")


def wait_replayed(question_id: int) -> float:
    """Monotonic time at which the question's diagnosis had its verified fix added."""
    return wait_diagnosis(question_id, "replay_done")


def wait_diagnosis(question_id: int, flag: str) -> float:
    """Monotonic time at which the question's diagnosis had ``flag`` set."""
    from hub.traces.models import Diagnosis

    deadline = time.monotonic() + POST_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if Diagnosis.objects.filter(trace__question_id=question_id, **{flag: True}).exists():
            return time.monotonic()
        time.sleep(POLL_SECONDS)
    raise SystemExit(f"{flag} of question {question_id} not set after {POST_TIMEOUT_SECONDS} s")


def recorded_trace(name: str) -> bytes:
    """A trace with a program, recorded in this process from one of bench/replay.py's models."""
    import torch

    from bench import replay

    torch.set_num_threads(1)
    make, steps = {
        "sigmoid": (replay.sigmoid_mlp, 60),
        "gpt": (lambda: replay.gpt(128, 2, 64, 8, lr=3e-2), 30),
    }[name]
    _, step = make()
    path = Path(tempfile.mkdtemp()) / f"{name}.trace"
    with traces.record(path):
        for _ in range(steps):
            step()
    return path.read_bytes()


def measure_verified(name: str, data: bytes, runs: int, counter: list[int]) -> dict:
    """Seconds from upload to the bot post and to its verified fix, one upload at a time."""
    from hub.traces.models import Diagnosis

    posted, replayed = [], []
    for _ in range(runs):
        counter[0] += 1
        qid, started = upload(counter[0], data)
        posted.append(wait_posted([qid])[qid] - started)
        replayed.append(wait_replayed(qid) - started)
    replay = Diagnosis.objects.get(trace__question_id=qid).replay.get("replay", {})
    fixes = replay.get("fixes") or [{}]
    return {
        "name": name,
        "posted": posted,
        "replayed": replayed,
        "findings": sorted(
            {f["code"] for f in Diagnosis.objects.get(trace__question_id=qid).findings}
        ),
        "reproduced": replay.get("reproduced"),
        "top": f"{fixes[0].get('fix')} ({fixes[0].get('verdict')})",
    }


def verified_bench(runs: int) -> None:
    """Upload -> post -> verified fix, one warm worker, for each recorded model."""
    files = {name: recorded_trace(name) for name in ("sigmoid", "gpt")}
    counter = [0]
    log_dir = Path(tempfile.mkdtemp(prefix="gradhub-bench-logs-"))
    rows = []
    workers = start_workers(1, log_dir)
    try:
        measure_verified("warm-up", files["sigmoid"], 1, counter)
        for name, data in files.items():
            rows.append(measure_verified(name, data, runs, counter))
    finally:
        for worker in workers:
            worker.stop()
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"upload -> bot post -> verified fix ({os.environ['TRACE_REPLAY_STEPS']} replay steps):")
    for row in rows:
        print(
            f"  {row['name']}: post p50 {statistics.median(row['posted']):.2f} s, verified fix "
            f"p50 {statistics.median(row['replayed']):.1f} s max {max(row['replayed']):.1f} s "
            f"(n={len(row['posted'])}; findings {', '.join(row['findings'])}; reproduced "
            f"{row['reproduced']}; top fix {row['top']})"
        )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def in_process_seconds(data: bytes) -> tuple[float, float]:
    """(load + diagnose, plots) seconds for the same file in this process: the engine's share."""
    import analysis
    from analysis import plots

    started = time.perf_counter()
    trace = traces.loads(data)
    diagnosis = analysis.diagnose(trace)
    diagnosed = time.perf_counter()
    plots.render_svgs(trace, diagnosis)
    return diagnosed - started, time.perf_counter() - diagnosed


def measure_latency(steps: int, runs: int, counter: list[int]) -> tuple[list, list]:
    """Seconds from upload to the bot post, and to the plots drawn into it, one at a time."""
    posted, plotted = [], []
    for _ in range(runs):
        data = trace_file(steps, seed=10_000 + counter[0])
        counter[0] += 1
        qid, started = upload(counter[0], data)
        posted.append(wait_posted([qid])[qid] - started)
        plotted.append(wait_plots(qid) - started)
    return posted, plotted


def start_workers(count: int, log_dir: Path) -> list[WorkerProcess]:
    workers = []
    for i in range(count):
        worker = WorkerProcess(log_path=log_dir / f"worker{i}.log", concurrency=1)
        worker.start()
        workers.append(worker)
    return workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke test)")
    parser.add_argument("--verified", action="store_true", help="time the verified fix instead")
    args = parser.parse_args()
    if args.verified:
        creation = connection.creation
        creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
        try:
            verified_bench(runs=3 if args.quick else 5)
        finally:
            connection.close()
            creation.destroy_test_db(creation.connection.settings_dict["NAME"], verbosity=0)
        return
    runs_1k, runs_50k, burst = (5, 2, 10) if args.quick else (20, 5, 40)

    creation = connection.creation
    creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    log_dir = Path(tempfile.mkdtemp(prefix="gradhub-bench-logs-"))
    counter = [0]
    try:
        workers = start_workers(1, log_dir)
        try:
            measure_latency(1000, 2, counter)  # warm the worker child (imports, first fork)
            lat_1k = measure_latency(1000, runs_1k, counter)
            lat_50k = measure_latency(50_000, runs_50k, counter)
        finally:
            for worker in workers:
                worker.stop()

        workers = start_workers(2, log_dir)
        try:
            measure_latency(1000, 2, counter)  # warm both
            files = [trace_file(1000, seed=20_000 + i) for i in range(burst)]
            started = time.monotonic()
            qids = []
            for data in files:
                counter[0] += 1
                qids.append(upload(counter[0], data)[0])
            posted = wait_posted(qids)
            elapsed = max(posted.values()) - started
        finally:
            for worker in workers:
                worker.stop()
    finally:
        connection.close()
        creation.destroy_test_db(creation.connection.settings_dict["NAME"], verbosity=0)

    base_1k = in_process_seconds(trace_file(1000, seed=1))
    base_50k = in_process_seconds(trace_file(50_000, seed=1))
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("upload-to-posted latency, one warm worker:")
    for name, (posted, plotted), base in (("1k", lat_1k, base_1k), ("50k", lat_50k, base_50k)):
        print(
            f"  {name:>3} steps: posted p50 {statistics.median(posted):6.2f} s  "
            f"p95 {percentile(posted, 0.95):6.2f} s | plots in the post p50 "
            f"{statistics.median(plotted):6.2f} s  p95 {percentile(plotted, 0.95):6.2f} s  "
            f"(n={len(posted)}; in-process: load+diagnose {base[0]:.2f} s, plots {base[1]:.2f} s)"
        )
    print(
        f"throughput, two workers: {burst} x 1k-step traces posted in {elapsed:.1f} s = "
        f"{burst / elapsed:.2f} traces/s"
    )


if __name__ == "__main__":
    main()
