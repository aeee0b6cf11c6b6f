"""With Redis down the site still reads, writes and takes uploads; when it is back, all resumes.

A private redis-server (not the shared one) serves as the cache, the presence and rate-limit
store and the broker; each test stops it for real and starts it again on the same port.
"""

import socket
import subprocess
import time

import pytest
import redis
from django.core.cache import cache
from django.core.management import call_command

from hub.celery import app as celery_app
from hub.core import presence
from hub.core.cache import redis_breaker
from hub.core.ratelimit import RateLimited, rate_limit
from hub.forum.models import Answer
from hub.traces import services as trace_services
from hub.traces.diagnosis import trace_diagnose
from hub.traces.models import Trace
from hub.traces.sweep import traces_sweep_stuck
from tests.factories import answer_make, question_make, user_make
from tests.hub.traces.pipeline_fixtures import trace_bytes, upload

pytestmark = pytest.mark.django_db


class RedisServer:
    """A redis-server subprocess on a free port of 127.0.0.1, which a test can stop and restart."""

    def __init__(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self):
        self.process.kill()
        self.process.wait()
        self.process = None


def _celery_broker_set(url: str) -> None:
    celery_app.conf.broker_url = url
    # Pools opened on the previous URL would keep sending there.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def redis_server(settings):
    """The private Redis, up, with the cache, presence, rate limits and the broker on it."""
    server = RedisServer()
    server.start()
    settings.REDIS_URL = server.url
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": server.url}}
    settings.REDIS_BREAKER_SECONDS = 0.5  # the tests wait it out after a restart
    presence._redis_client = None
    redis_breaker.open_until = 0.0  # closed: an earlier test's outage is over
    broker_before = celery_app.conf.broker_url
    _celery_broker_set(server.url)
    yield server
    _celery_broker_set(broker_before)
    presence._redis_client = None
    redis_breaker.open_until = 0.0
    if server.process is not None:
        server.stop()


@pytest.fixture
def site(db):
    """One of each kind of page: content, a question with an answer, a public trace."""
    call_command("load_learning_content", verbosity=0)
    asker = user_make(prefix="asker", reputation=50)
    member = user_make(prefix="member", reputation=50)
    question = question_make(author=asker, tags=["pytorch"])
    answer_make(author=member, question=question)
    trace = trace_services.trace_upload(
        owner=asker, uploaded_file=upload(trace_bytes()), question=question
    )
    return {"asker": asker, "member": member, "question": question, "trace": trace}


def _pages(site) -> list[str]:
    question = site["question"]
    return [
        "/",
        "/questions/",
        question.get_absolute_url(),
        "/tags/",
        "/tags/pytorch/",
        "/search/?q=loss",
        "/glossary/",
        "/glossary/backpropagation/",
        "/learn/backprop/1/",
        "/articles/backpropagation/",
        "/faq/",
        f"/users/{site['asker'].username}/",
        f"/traces/{site['trace'].pk}/",
    ]


def _api_reads(site) -> list[str]:
    return [
        "/api/v1/questions/",
        f"/api/v1/questions/{site['question'].pk}/",
        "/api/v1/tags/",
        "/api/v1/glossary/",
        "/api/v1/glossary/backpropagation/",
    ]


def _statuses(client, paths) -> dict[str, int]:
    return {path: client.get(path).status_code for path in paths}


def test_with_redis_down_every_page_answers_200_to_visitors_and_members(client, redis_server, site):
    redis_server.stop()
    pages = _pages(site)
    assert _statuses(client, pages) == dict.fromkeys(pages, 200)
    client.force_login(site["member"])
    member_pages = [*pages, "/notifications/"]
    assert _statuses(client, member_pages) == dict.fromkeys(member_pages, 200)


def test_with_redis_down_the_online_count_is_left_out_rather_than_wrong(client, redis_server, site):
    assert " online</span>" in client.get("/questions/").content.decode()
    redis_server.stop()
    assert " online</span>" not in client.get("/questions/").content.decode()


def test_with_redis_down_every_api_read_answers_200(client, redis_server, site):
    redis_server.stop()
    reads = _api_reads(site)
    assert _statuses(client, reads) == dict.fromkeys(reads, 200)
    client.force_login(site["member"])
    member_reads = [*reads, "/api/v1/lesson/", "/api/v1/lesson/steps/1/"]
    assert _statuses(client, member_reads) == dict.fromkeys(member_reads, 200)


def test_with_redis_down_a_member_can_still_post_an_answer(client, redis_server, site):
    redis_server.stop()
    client.force_login(site["asker"])
    question = site["question"]
    response = client.post(
        f"/questions/{question.pk}/answer/", {"body": "Clip the gradients at norm 1.0 first."}
    )
    assert response.status_code == 302
    assert Answer.objects.filter(question=question, author=site["asker"]).exists()


def test_with_redis_down_writes_are_still_limited_by_each_process(redis_server):
    redis_server.stop()
    for _ in range(3):
        rate_limit(scope="test-outage", key="someone", limit=3, period_seconds=60)
    with pytest.raises(RateLimited):
        rate_limit(scope="test-outage", key="someone", limit=3, period_seconds=60)


def test_with_redis_down_reads_are_not_throttled_by_the_api(client, redis_server, site, settings):
    settings.API_THROTTLE_RATES = {"anon": "2/min", "read": "2/min"}
    redis_server.stop()
    statuses = [client.get("/api/v1/tags/").status_code for _ in range(4)]
    assert statuses == [200] * 4


def _upload_while_down(client, redis_server, capture, path: str):
    """A member's upload to `path` with the broker stopped: (response, the member's trace)."""
    owner = user_make(prefix="uploader")
    client.force_login(owner)
    redis_server.stop()
    with capture(execute=True):  # the send after commit, as in a real request
        response = client.post(path, {"file": upload(trace_bytes())})
    return response, Trace.objects.filter(owner=owner).first()


def test_an_upload_while_the_broker_is_down_stays_uploaded_and_is_diagnosed_after_the_sweep(
    client, redis_server, django_capture_on_commit_callbacks
):
    response, trace = _upload_while_down(
        client, redis_server, django_capture_on_commit_callbacks, "/traces/new/"
    )
    assert response.status_code == 302
    assert trace.state == Trace.State.UPLOADED

    redis_server.start()
    with django_capture_on_commit_callbacks(execute=True):
        assert traces_sweep_stuck()["requeued"] == 1
    trace.refresh_from_db()
    assert trace.state == Trace.State.QUEUED
    queued = redis.Redis.from_url(redis_server.url).llen(celery_app.conf.task_default_queue)
    assert queued == 1  # the sweep's message reached the broker; a worker would run this:
    trace_diagnose(trace_id=trace.pk)
    trace.refresh_from_db()
    assert trace.state == Trace.State.DIAGNOSED


def test_an_api_upload_while_the_broker_is_down_answers_201_and_stays_uploaded(
    client, redis_server, django_capture_on_commit_callbacks
):
    response, trace = _upload_while_down(
        client, redis_server, django_capture_on_commit_callbacks, "/api/v1/traces/"
    )
    assert response.status_code == 201, response.content
    assert trace.state == Trace.State.UPLOADED


def test_the_cache_misses_while_redis_is_down_and_works_again_once_it_is_back(redis_server):
    cache.set("outage:probe", "before")
    assert cache.get("outage:probe") == "before"
    redis_server.stop()
    assert cache.get("outage:probe") is None
    cache.set("outage:probe", "during")  # a no-op, not an error
    redis_server.start()
    time.sleep(0.6)  # past the breaker's open time
    cache.set("outage:probe", "after")
    assert cache.get("outage:probe") == "after"


def test_with_redis_down_the_cache_gives_up_at_once_instead_of_waiting_each_time(
    redis_server,
):
    redis_server.stop()
    cache.get("outage:probe")  # the first miss opens the breaker
    started = time.monotonic()
    for _ in range(50):
        cache.get("outage:probe")
    assert time.monotonic() - started < 0.05


def test_readyz_names_redis_and_the_broker_while_redis_is_down(client, redis_server):
    redis_server.stop()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.content.decode()
    assert "redis unreachable" in body and "broker unreachable" in body
