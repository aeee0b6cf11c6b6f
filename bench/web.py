"""Page throughput of the forum against a bare Django view, served by gunicorn in the same run.

    .venv/bin/python bench/web.py [--questions 10000 --posts 100000 --seconds 8 --keep-db]

Creates the PostgreSQL database `gradhub_bench` (dropped at the end), seeds it (users, tags,
questions, answers and comments; one "busy" question with many answers and comments), serves
bench.settings (the real settings + a bare HttpResponse view) as production runs them
(GRADHUB_MODE=production: DEBUG off, cached template loader, manifest static files collected
into a temporary STATIC_ROOT, requests arrive as from the HTTPS proxy) with gunicorn (2 sync workers)
on a free 127.0.0.1 port, then drives each page with a small keep-alive HTTP client (threads,
http.client) for a bounded time, alternating pages in rounds so drift hits them all alike.
Every page is driven anonymously, and the question list and the busy question page also as a
member: a page view is then the shared page plus the member's layer request (/me/layer/) when
the page did not bring their layer (as forum.js does), timed and counted together as one view
("reqs": HTTP requests per view), and the busy page once more as a member whose browser runs
no JavaScript (rendered for them alone). Search is driven twice: a repeated query (a
shared page) and uncached (a query string the page cache does not keep), once with a typo.
Prints requests/s, p50/p99 latency, the ratio to the bare view, and the SQL queries each page
runs (counted in-process). Needs PostgreSQL and Redis on 127.0.0.1 (as the test suite does).
"""

import argparse
import http.client
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.web_seed import paths_existing, seed  # noqa: E402

DB_NAME = os.environ.get("BENCH_DB", "gradhub_bench")  # BENCH_DB: e.g. a kept 100k database
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
WORKERS = 2  # the setup: gunicorn with 2 workers
# Two requests in flight per worker keep both busy without measuring a deep accept queue.
CONCURRENCY = 4
ROUNDS = 2
# The targets: ratio to the bare view (and search's p50) per page.
TARGETS = {
    "question list": 0.5,
    "busy question": 0.5,
    "question list, signed in": 0.5,
    "busy question, signed in": 0.5,
    "search, uncached": 0.3,
    "search typo, uncached": 0.3,
}
SEARCH_P50_TARGET_MS = 10.0
BENCH_HOST = "127.0.0.1"
# What the TLS-terminating proxy in front of a production deployment adds to each request
# (production settings redirect plain HTTP to HTTPS otherwise).
PROXY_HEADERS = {"Host": BENCH_HOST, "X-Forwarded-Proto": "https"}
# A member's shared page that brings their layer (hub/forum/page_cache.py): forum.js then asks
# /me/layer/ for nothing.
LAYER_IN_PAGE = b'<template id="member-layer">'


def asked(path: str, previous: bytes) -> bool:
    """Whether the page's script makes this request after the `previous` response."""
    # (rfind: the layer is at the page's end, and `in` scans a busy page's 200 KiB from its
    # start, ~70 µs of the client's CPU, which the server shares)
    return not (path.startswith("/me/layer/") and previous.rfind(LAYER_IN_PAGE) >= 0)


def _sql_identifier_ok(name: str) -> bool:
    return name.replace("_", "").isalnum()


def _admin_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_ADMIN_URL}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def database_create() -> None:
    assert _sql_identifier_ok(DB_NAME)
    _admin_execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    _admin_execute(f"CREATE DATABASE {DB_NAME}")


def database_drop() -> None:
    _admin_execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def production_environment(static_root: str) -> None:
    """Run the app as production does: GRADHUB_MODE=production, DEBUG off, a real SECRET_KEY,
    ALLOWED_HOSTS, the hashed+compressed static files collected by `collectstatic`.

    Set in os.environ, so the in-process measurements and the gunicorn server share it.
    """
    os.environ["GRADHUB_MODE"] = "production"
    os.environ["DEBUG"] = "false"
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)
    os.environ["ALLOWED_HOSTS"] = BENCH_HOST
    os.environ["STATIC_ROOT"] = static_root


def django_setup() -> None:
    os.environ["DATABASE_URL"] = f"{PG_ADMIN_URL}/{DB_NAME}"
    os.environ["REDIS_URL"] = REDIS_URL
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()


def static_collect() -> None:
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("collectstatic", interactive=False, verbosity=0)
    print(f"collectstatic (manifest storage) in {time.perf_counter() - started:.1f}s", flush=True)


def bench_client():
    """Django's test client speaking to the app as the proxy does (HTTPS, the real host)."""
    from django.test import Client

    return Client(HTTP_HOST=BENCH_HOST, HTTP_X_FORWARDED_PROTO="https")


def signed_in_cookie(*, runs_js: bool = True) -> str:
    """A member's Cookie header: their session, the CSRF cookie and the hint the site sets
    for members (a browser keeps both from the first page rendered for them) and, when their
    browser runs forum.js, the cookie it sets (then they get the shared pages)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="bench-member")
    client = bench_client()
    client.force_login(user)
    client.get("/questions/ask/")  # a page with a form: the site sets the CSRF cookie
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    csrf = client.cookies[settings.CSRF_COOKIE_NAME].value
    cookie = f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={csrf}"
    cookie += "; gh_member=1"
    return cookie + "; gh_js=1" if runs_js else cookie


def pages_to_drive(paths: dict) -> dict:
    """{name: (paths of one page view, Cookie header or None)}: every page anonymously; the
    question list and the busy question page as a member (the page and its layer request);
    the busy page for a member without JavaScript; search uncached, with and without a typo."""
    member = signed_in_cookie()
    busy_id = paths["busy question"].split("/")[2]
    layers = {"question list": "/me/layer/", "busy question": f"/me/layer/questions/{busy_id}/"}
    pages = {name: ((path,), None) for name, path in paths.items()}
    for name, layer in layers.items():
        pages[f"{name}, signed in"] = ((paths[name], layer), member)
    pages["busy question, no JS"] = ((paths["busy question"],), signed_in_cookie(runs_js=False))
    # An unknown parameter: the page cache keeps no copy, so every request searches.
    pages["search, uncached"] = ((paths["search"] + "&uncached=1",), None)
    pages["search typo, uncached"] = (("/search/?q=vanishng+gradiens&uncached=1",), None)
    return pages


def pages_only(pages: dict, names: str | None) -> dict:
    """The pages named in `names` ("a,b"; a name may hold ", " as "search, uncached" does),
    and the bare view, which the ratios need; all of them when `names` is None."""
    if names is None:
        return pages
    wanted = {"bare view"} | {name for name in pages if f",{name}," in f",{names},"}
    unknown = [part for part in names.split(",") if part and not any(part in n for n in wanted)]
    if unknown:
        raise SystemExit(f"unknown pages: {unknown}; the pages are {list(pages)}")
    return {name: page for name, page in pages.items() if name in wanted}


def page_client(cookie: str | None):
    client = bench_client()
    for pair in (cookie or "").split("; "):
        if pair:
            name, value = pair.split("=", 1)
            client.cookies[name] = value
    return client


def queries_per_page(pages: dict) -> dict:
    """SQL queries and their time for one request to each page, counted in-process."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for name, (paths, cookie) in pages.items():
        client = page_client(cookie)
        for path in paths:
            client.get(path)  # warm caches (view dedup, template loading)
        size, content = 0, b""
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            for path in paths:
                if not asked(path, content):
                    continue
                response = client.get(path)
                assert response.status_code == 200, (name, path, response.status_code)
                content = response.content
                size += len(content)
            total = time.perf_counter() - started
        sql = sum(float(q["time"]) for q in captured.captured_queries)
        counts[name] = {
            "queries": len(captured),
            "sql_ms": sql * 1000,
            "total_ms": total * 1000,
            "bytes": size,
        }
    return counts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_start(port: int, *, page_cache: bool) -> subprocess.Popen:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="bench.settings")
    env["BENCH_PAGE_CACHE"] = "1" if page_cache else "0"
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "hub.wsgi:application",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(WORKERS),
        "--worker-class", "sync",
        "--keep-alive", "5",
        "--log-level", "warning",
        "--chdir", str(ROOT),
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/bench/bare/", headers=PROXY_HEADERS)
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
        if process.poll() is not None:
            raise SystemExit("gunicorn exited during start-up")
    process.kill()
    raise SystemExit("gunicorn did not answer within 30 s")


def server_stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def load(
    *, port: int, paths: tuple, seconds: float, max_requests: int, cookie: str | None = None
) -> dict:
    """Drive page views (`paths` requested one after the other on one connection, timed as
    one) from CONCURRENCY threads for `seconds` (or `max_requests`)."""
    headers = dict(PROXY_HEADERS, **({"Cookie": cookie} if cookie else {}))
    latencies: list[float] = []
    errors = [0]
    requests = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    budget = [max_requests]

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        made = 0
        while time.perf_counter() < deadline:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            started = time.perf_counter()
            try:
                ok, body = True, b""
                for path in paths:
                    if not asked(path, body):
                        continue
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    body = response.read()
                    made += 1
                    ok = ok and response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            if ok:
                mine.append(time.perf_counter() - started)
            else:
                with lock:
                    errors[0] += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            requests[0] += made

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "latencies": latencies,
        "errors": errors[0],
        "elapsed": elapsed,
        "requests": requests[0],
    }


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=8.0, help="per page per round")
    parser.add_argument("--max-requests", type=int, default=50_000, help="per page per round")
    parser.add_argument("--keep-db", action="store_true", help="leave gradhub_bench behind")
    parser.add_argument(
        "--reuse-db", action="store_true", help="use a gradhub_bench kept by --keep-db (no seeding)"
    )
    parser.add_argument(
        "--page-cache",
        action="store_true",
        help="experiment: serve with Django's per-site cache middleware (bench/settings.py)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the busy question page")
    parser.add_argument(
        "--pages",
        help='drive only these pages, comma-separated (e.g. "bare view,search, uncached"; '
        "names as the report prints them; the bare view is always driven)",
    )
    args = parser.parse_args()

    if not args.reuse_db:
        database_create()
    process = None
    static_root = tempfile.mkdtemp(prefix="gradhub-bench-static-")
    production_environment(static_root)
    try:
        django_setup()
        static_collect()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)  # a kept database may predate a migration
        if args.reuse_db:
            paths = paths_existing()
        else:
            paths = seed(questions=args.questions, posts=args.posts, rng=random.Random(20261129))
        pages = pages_only(pages_to_drive(paths), args.pages)
        counts = queries_per_page(pages)
        shares = breakdown(pages)
        if args.profile:
            profile_page(paths["busy question"])
        from django.db import connections

        connections.close_all()

        port = free_port()
        process = server_start(port, page_cache=args.page_cache)
        for paths, cookie in pages.values():  # warm-up: imports, templates, PostgreSQL caches
            load(port=port, paths=paths, seconds=1.0, max_requests=100, cookie=cookie)
        results = {
            name: {"latencies": [], "errors": 0, "elapsed": 0.0, "requests": 0} for name in pages
        }
        for _ in range(ROUNDS):
            for name, (paths, cookie) in pages.items():
                run = load(
                    port=port,
                    paths=paths,
                    seconds=args.seconds,
                    max_requests=args.max_requests,
                    cookie=cookie,
                )
                results[name]["latencies"] += run["latencies"]
                results[name]["errors"] += run["errors"]
                results[name]["elapsed"] += run["elapsed"]
                results[name]["requests"] += run["requests"]
    finally:
        if process is not None:
            server_stop(process)
        shutil.rmtree(static_root, ignore_errors=True)
        if not (args.keep_db or args.reuse_db):
            from django.db import connections

            connections.close_all()
            database_drop()

    report(results, counts, page_cache=args.page_cache)
    report_breakdown(shares)
    return 0


def report(results: dict, counts: dict, *, page_cache: bool) -> None:
    bare_rps = len(results["bare view"]["latencies"]) / results["bare view"]["elapsed"]
    cache_note = ", per-site page cache ON (experiment)" if page_cache else ""
    print(
        f"\ngunicorn {WORKERS} sync workers{cache_note}, {CONCURRENCY} client threads, "
        f"{ROUNDS} rounds, GETs (anonymous unless signed in), {os.cpu_count()} CPUs shared "
        "with the client\n"
    )
    header = (
        f"{'page':<28} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'vs bare':>8} {'errors':>6} {'reqs':>5} {'queries':>7} {'sql ms':>7} {'KiB':>6} "
        f"{'1 req ms':>8}"
    )
    print(header)
    print("-" * len(header))
    verdicts = []
    for name, run in results.items():
        lat = run["latencies"]
        rps = len(lat) / run["elapsed"] if run["elapsed"] else 0.0
        ratio = rps / bare_rps if bare_rps else float("nan")
        c = counts[name]
        print(
            f"{name:<28} {len(lat):>8} {rps:>8.1f} {percentile(lat, 0.5) * 1000:>8.2f} "
            f"{percentile(lat, 0.99) * 1000:>8.2f} {ratio:>8.2f} {run['errors']:>6} "
            f"{run['requests'] / max(1, len(lat) + run['errors']):>5.2f} {c['queries']:>7} {c['sql_ms']:>7.2f} {c['bytes'] / 1024:>6.1f} {c['total_ms']:>8.1f}"
        )
        if name in TARGETS:
            verdicts.append((name, ratio, percentile(lat, 0.5) * 1000))
    print()
    for name, ratio, p50 in verdicts:
        state = "meets" if ratio >= TARGETS[name] else "MISSES"
        line = f"{name}: {ratio:.2f} of the bare view — {state} the {TARGETS[name]} target"
        if name.startswith("search"):
            state = "meets" if p50 <= SEARCH_P50_TARGET_MS else "MISSES"
            line += f"; p50 {p50:.1f} ms — {state} the {SEARCH_P50_TARGET_MS:.0f} ms target"
        print(line)
    print(
        f"median of all request latencies: {statistics.median(sum((r['latencies'] for r in results.values()), [])) * 1000:.2f} ms"
    )


def breakdown(pages: dict, *, repeat: int = 10) -> dict:
    """Where each page's time goes, in-process: template rendering, SQL, Python calls.

    Shares of cProfile's total for one request (repeated); profiling slows Python code, so
    read the shares, not the absolute times.
    """
    import cProfile
    import pstats

    shares = {}
    for name, (paths, cookie) in pages.items():
        client = page_client(cookie)
        for path in paths:
            client.get(path)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(repeat):
            content = b""
            for path in paths:
                if asked(path, content):
                    content = client.get(path).content
        profiler.disable()
        stats = pstats.Stats(profiler)
        total = template = sql = 0.0
        includes = 0
        for (filename, _line, function), (_cc, calls, tottime, cumtime, _) in stats.stats.items():
            total += tottime
            if filename.endswith("django/template/backends/django.py") and function == "render":
                template = max(template, cumtime)
            if filename.endswith("psycopg/cursor.py") and function == "execute":
                sql += cumtime
            if filename.endswith("django/template/loader_tags.py") and function == "render":
                includes = max(includes, calls)
        shares[name] = {
            "calls": stats.total_calls // repeat,
            "template": template / total if total else 0.0,
            "sql": sql / total if total else 0.0,
            "nodes": includes // repeat,
        }
    return shares


def report_breakdown(shares: dict) -> None:
    print(
        "\nwhere the time goes (in-process; cProfile shares; 'in render' includes"
        " SQL run lazily from templates)"
    )
    header = f"{'page':<28} {'py calls':>9} {'in render':>9} {'SQL':>6} {'includes+blocks':>16}"
    print(header)
    print("-" * len(header))
    for name, share in shares.items():
        print(
            f"{name:<26} {share['calls']:>9} {share['template'] * 100:>8.0f}% "
            f"{share['sql'] * 100:>5.0f}% {share['nodes']:>16}"
        )


def profile_page(path: str) -> None:
    """The busy question page's top functions (cumulative), in-process."""
    import cProfile
    import pstats

    client = bench_client()
    client.get(path)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(20):
        client.get(path)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    sys.exit(main())
