"""Load and faults: mixed traffic for N minutes against gunicorn + PostgreSQL + Redis + two Celery
workers on 127.0.0.1, with a worker killed, Redis restarted, PostgreSQL connections dropped and
the media disk full during the run; then the database is checked.

    .venv/bin/python bench/load.py [--minutes 5] [--upload-every 3] [--faults redis,postgres]
                                   [--conn-max-age 60] [--keep-db]

Needs PostgreSQL on 127.0.0.1 (BENCH_PG_URL, default postgres://postgres@127.0.0.1:5432) and
redis-server on the PATH; run as root, the media directory is a 256 MiB tmpfs the storage fault
fills. Creates the database gradhub_load (dropped at the end unless --keep-db) and a private
redis-server (db 14) that the Redis fault stops and starts, seeds a community, and runs the site
as production does (GRADHUB_MODE=production, gunicorn with 3 workers as in docker-compose, two
`celery worker` processes with one pool process each, `celery beat` for the sweep).

Traffic: anonymous readers, signed-in members reading and voting, a writer asking and answering
(API), and a trace upload every few seconds (API, with a token; small synthetic traces, most
asked with a new question, some private). Faults, one at a time: SIGKILL of the pool process
running a diagnosis, a Redis restart, PostgreSQL connections terminated, storage refusing
writes, SIGKILL of a whole worker (restarted as a supervisor would). After the traffic it waits
(bounded) for every trace to settle and prints: requests, errors, p50/p99 per page; each fault
and how long the site took to recover; RSS of web and workers at start and end; the database
invariants (bench/load_checks.py). Exits 1 if an invariant fails or a request failed outside
a fault that tolerates it (only requests in flight when PostgreSQL connections were dropped).
"""

from __future__ import annotations

import argparse
import math
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_checks import invariants_check, pending_traces, plots_pending  # noqa: E402
from bench.load_faults import FAULTS, fault_plan, faults_run  # noqa: E402
from bench.load_report import report  # noqa: E402
from bench.load_services import (  # noqa: E402
    CeleryBeat,
    CeleryWorker,
    Gunicorn,
    MediaDisk,
    RedisServer,
)
from bench.load_traffic import (  # noqa: E402
    ANSWERS_PER_WRITER,
    PROXY_HEADERS,
    QUESTIONS_PER_WRITER,
    UPLOADS_PER_UPLOADER,
    VOTES_PER_MEMBER,
    Person,
    Pool,
    Site,
    actors_start,
)

DB_NAME = "gradhub_load"
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
GUNICORN_WORKERS = 3  # docker-compose.yml's web service
# The broker redelivers a task whose worker died after this long (CELERY_VISIBILITY_TIMEOUT);
# production keeps 3600 s and the sweep's 15 min, a five-minute run needs it shorter.
VISIBILITY_TIMEOUT_SECONDS = 60
SETTLE_MINUTES = 7  # past beat's five-minute sweep, which queues uploads the broker missed
SEED_QUESTIONS, SEED_POSTS = 2_000, 10_000
LAYERS = (32,) + (64,) * 8 + (10,)  # bench/pipeline.py's MLP: 18 parameters


def _admin_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def run_environment(*, run_dir: Path, redis_url: str, media_root: Path) -> dict[str, str]:
    """The environment of every process of the run, as a production deployment sets it."""
    static_root = run_dir / "static"
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "hub.settings",
        "GRADHUB_MODE": "production",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": PROXY_HEADERS["Host"],
        "STATIC_ROOT": str(static_root),
        "DATABASE_URL": f"{PG_ADMIN_URL}/{DB_NAME}",
        "REDIS_URL": redis_url,
        "MEDIA_ROOT": str(media_root),
        "CELERY_QUEUE": "load",
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT_SECONDS),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    os.environ.update(env)
    return env


def trace_bytes(*, seed: int, steps: int = 300) -> bytes:
    import traces
    from traces.synthetic import synthetic_trace

    return traces.dumps(synthetic_trace(num_steps=steps, layer_sizes=LAYERS, seed=seed))


def probe_bytes_factory():
    """A new big trace each call (a different seed: the same bytes would reuse the trace)."""
    seeds = iter(range(1_000_000, 2_000_000))
    return lambda: trace_bytes(seed=next(seeds), steps=40_000)


def people_make(prefix: str, count: int) -> list[Person]:
    """Members with enough reputation to ask freely, each with a token and a signed-in session."""
    from django.conf import settings
    from django.test import Client, override_settings

    from hub.accounts.models import Profile
    from hub.accounts.services import user_create
    from hub.api.services import token_create

    people = []
    for n in range(count):
        # Nobody signs in with these passwords: a fast hasher keeps the set-up short.
        with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
            user = user_create(
                username=f"{prefix}{n}",
                email=f"{prefix}{n}@example.com",
                password=secrets.token_hex(),
            )
        Profile.objects.filter(user=user).update(reputation=100)
        _, raw = token_create(user=user, name="load", scopes="read,write,traces", expires_days=1)
        client = Client(HTTP_HOST=PROXY_HEADERS["Host"], HTTP_X_FORWARDED_PROTO="https")
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        people.append(
            Person(user.pk, user.username, raw, f"{settings.SESSION_COOKIE_NAME}={cookie}")
        )
    return people


def site_prepare(*, base_url: str, minutes: float, upload_every: float) -> Site:
    """Migrate, load the content, seed a community and the run's people."""
    import random

    from django.core.management import call_command

    from bench.web_seed import seed
    from hub.forum.models import Answer, Question, Tag

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("load_learning_content", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    seed(questions=SEED_QUESTIONS, posts=SEED_POSTS, rng=random.Random(20261207))
    uploads = math.ceil(minutes * 60 / upload_every) + 4  # + the fault probes
    writes = math.ceil(minutes * 60 / 0.9)  # the writer's pace, an upper bound
    members = people_make("member", max(10, math.ceil(writes / VOTES_PER_MEMBER)))
    writers = people_make(
        "writer", max(10, math.ceil(writes / min(QUESTIONS_PER_WRITER, ANSWERS_PER_WRITER)))
    )
    # Three in four uploads ask a new question (QUESTIONS_PER_WRITER each); a margin for chance.
    uploaders = people_make("uploader", math.ceil(uploads * 0.75 * 1.3 / QUESTIONS_PER_WRITER) + 1)
    questions = list(Question.objects.order_by("?").values_list("pk", flat=True)[:300])
    answers = list(
        Answer.objects.filter(is_automated=False).order_by("?").values_list("pk", flat=True)[:300]
    )
    tag = Tag.objects.order_by("pk").first()
    seeded_user = Question.objects.select_related("author").first().author.username
    pages = [
        ("home", "/"),
        ("question list", "/questions/"),
        ("question list, page 3", "/questions/?page=3"),
        ("tags", "/tags/"),
        ("tag", f"/tags/{tag.slug}/"),
        ("search", "/search/?q=vanishing+gradients"),
        ("glossary", "/glossary/"),
        ("glossary term", "/glossary/backpropagation/"),
        ("lesson step", "/learn/backprop/1/"),
        ("user", f"/users/{seeded_user}/"),
        ("faq", "/faq/"),
    ]
    print(f"site prepared in {time.perf_counter() - started:.0f} s", flush=True)
    return Site(
        base_url=base_url,
        question_ids=questions,
        answer_ids=answers,
        anonymous_pages=pages,
        members=Pool(members, budgets={"vote": VOTES_PER_MEMBER}),
        writers=Pool(writers, budgets={"ask": QUESTIONS_PER_WRITER, "answer": ANSWERS_PER_WRITER}),
        uploaders=Pool(
            uploaders,
            budgets={
                "ask": QUESTIONS_PER_WRITER,
                "upload": UPLOADS_PER_UPLOADER - QUESTIONS_PER_WRITER,
            },
        ),
        trace_bytes=trace_bytes,
    )


def settle(site: Site, *, uploader_ids: list[int], minutes: float) -> float:
    """Wait until every trace of the run has ended and its plots are drawn (bounded)."""
    from django.db import connection

    connection.close()  # the PostgreSQL fault may have dropped the driver's own connection
    started = time.monotonic()
    deadline = started + minutes * 60
    last = None
    while time.monotonic() < deadline:
        pending, plots = pending_traces(uploader_ids), plots_pending(uploader_ids)
        if (pending, plots) != last:
            print(f"  waiting: {pending} traces pending, {plots} diagnoses without plots",
                  flush=True)  # fmt: skip
            last = (pending, plots)
        if not pending and not plots:
            break
        time.sleep(2)
    return time.monotonic() - started


def rss(services: dict) -> dict[str, int]:
    return {name: service.rss_bytes() for name, service in services.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="traffic time (default 5)")
    parser.add_argument("--upload-every", type=float, default=3.0, help="seconds between uploads")
    parser.add_argument("--readers", type=int, default=2, help="anonymous reader threads")
    parser.add_argument("--members", type=int, default=2, help="signed-in member threads")
    parser.add_argument(
        "--faults",
        default=",".join(FAULTS),
        help=f"comma-separated, from {','.join(FAULTS)} (default: all); empty: traffic only",
    )
    parser.add_argument("--settle-minutes", type=float, default=SETTLE_MINUTES)
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=int(os.environ.get("CONN_MAX_AGE", "0")),
        help="the site's CONN_MAX_AGE (default 0, as production: a connection per request)",
    )
    parser.add_argument("--keep-db", action="store_true", help=f"leave {DB_NAME} behind")
    args = parser.parse_args()
    names = {name for name in args.faults.split(",") if name}
    if names - set(FAULTS):
        parser.error(f"unknown faults {sorted(names - set(FAULTS))}; known: {','.join(FAULTS)}")

    run_dir = Path(tempfile.mkdtemp(prefix="gradhub-load-"))
    print(f"logs and state of this run: {run_dir}", flush=True)
    print(
        f"{args.minutes:g} min of traffic: {args.readers} anonymous readers, {args.members} "
        f"members, 1 writer, an upload every {args.upload_every:g} s; gunicorn "
        f"{GUNICORN_WORKERS} workers, 2 Celery workers x 1 process; CONN_MAX_AGE "
        f"{args.conn_max_age}, visibility timeout {VISIBILITY_TIMEOUT_SECONDS} s",
        flush=True,
    )
    media = MediaDisk(run_dir / "media")
    redis_server = RedisServer(log_dir=run_dir, env=dict(os.environ))
    env = run_environment(run_dir=run_dir, redis_url=redis_server.url, media_root=media.path)
    env["CONN_MAX_AGE"] = os.environ["CONN_MAX_AGE"] = str(args.conn_max_age)
    services: dict = {}
    services_all: dict = {}
    try:
        media.set_up()
        redis_server.start()
        _admin_execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        _admin_execute(f"CREATE DATABASE {DB_NAME}")
        import django

        django.setup()
        gunicorn = Gunicorn(
            log_dir=run_dir, env=env, workers=GUNICORN_WORKERS, host_headers=PROXY_HEADERS
        )
        site = site_prepare(
            base_url=gunicorn.url, minutes=args.minutes, upload_every=args.upload_every
        )
        from django.db import connection

        connection.close()
        workers = [CeleryWorker(log_dir=run_dir, env=env, number=n) for n in (1, 2)]
        services = {"web (gunicorn)": gunicorn, "worker1": workers[0], "worker2": workers[1]}
        for service in [gunicorn, *workers]:
            service.start()
        beat = CeleryBeat(log_dir=run_dir, env=env)
        beat.start()
        services_all = {**services, "beat": beat}

        seconds = args.minutes * 60
        run_tag = secrets.token_hex(3)
        threads = actors_start(
            site, readers=args.readers, members=args.members, upload_every=args.upload_every,
            run_tag=run_tag,
        )  # fmt: skip
        started = time.monotonic()
        site.stop.wait(min(10.0, seconds / 10))  # warm: imports, templates, first forks
        rss_start = rss(services)
        faults: list = []
        if names:
            plan = fault_plan(
                names=names,
                workers=workers, redis_server=redis_server, media=media, database=DB_NAME,
                probe_bytes=probe_bytes_factory(),
            )  # fmt: skip
            fault_thread = threading.Thread(
                target=faults_run, args=(site, plan),
                kwargs={"started": started, "seconds": seconds, "runs": faults}, daemon=True,
            )  # fmt: skip
            fault_thread.start()
        site.stop.wait(max(0.0, started + seconds - time.monotonic()))
        site.stop.set()
        for thread in threads:
            thread.join(timeout=60)
        if names:
            fault_thread.join(timeout=300)
        traffic_seconds = time.monotonic() - started
        rss_end = rss(services)
        print("traffic done; waiting for the pipeline to settle", flush=True)
        uploader_ids = [p.user_id for p in site.uploaders.people]
        settle_seconds = settle(site, uploader_ids=uploader_ids, minutes=args.settle_minutes)
        checks = invariants_check(site.ledger, uploader_ids=uploader_ids, media_root=media.path)
        ok = report(
            site, faults=faults, checks=checks, started=started, traffic_seconds=traffic_seconds,
            settle_seconds=settle_seconds, rss_start=rss_start, rss_end=rss_end,
            restarted={w.name for w in workers if w.starts > 1}, log_dir=run_dir,
        )  # fmt: skip
    finally:
        for service in reversed(list(services_all.values())):
            service.stop()
        redis_server.stop()
        media.tear_down()
        if not args.keep_db:
            from django.db import connections

            connections.close_all()
            _admin_execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        shutil.rmtree(run_dir / "static", ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
