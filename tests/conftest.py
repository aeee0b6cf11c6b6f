"""Project-wide fixtures. The suite runs against real PostgreSQL, Redis and Celery workers."""

import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings

from tests.browser_fixtures import (  # noqa: F401 (shared fixtures)
    browser,
    page,
    page_without_js,
    screenshot,
)
from tests.factories import user_make
from tests.oidcserver.fixtures import oidc_provider, oidc_server  # noqa: F401 (shared fixtures)
from tests.worker import WorkerProcess

START_HINT = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def pytest_sessionstart(session):
    """Stop at once, saying how to fix it, when a service the suite needs is down."""
    db = settings.DATABASES["default"]
    redis_url = urlparse(settings.REDIS_URL)
    needed = {
        "PostgreSQL": (db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432)),
        "Redis": (redis_url.hostname or "127.0.0.1", redis_url.port or 6379),
    }
    down = [name for name, address in needed.items() if not _reachable(*address)]
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.exit(
            "The test suite needs PostgreSQL: set DATABASE_URL=postgres://...", returncode=3
        )
    if down:
        lines = [
            f"{name} is not reachable at {needed[name][0]}:{needed[name][1]}." for name in down
        ]
        lines += ["Start it with:"] + [f"  {START_HINT[name]}" for name in down]
        pytest.exit("\n".join(lines), returncode=3)


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real worker process consuming this run's queue against the test database.

    Tests using it need ``@pytest.mark.django_db(transaction=True)`` so that their rows are
    committed and visible to the worker.
    """
    worker = WorkerProcess(log_path=tmp_path_factory.mktemp("celery") / "worker.log")
    with django_db_blocker.unblock():
        worker.start()
    yield worker
    worker.stop()


def pytest_collection_modifyitems(config, items):
    """Mark by what a test uses, so `make test-fast` can leave out the slow kinds reliably: a
    test with a real Celery worker is `worker`, one with a browser page is `browser`."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if "celery_worker" in fixtures:
            item.add_marker(pytest.mark.worker)
        if fixtures & {"page", "browser"}:
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def make_user(db):
    """make_user(username=None, *, reputation=None, moderator=False, **fields): a member made
    through sign-up (tests/factories.py)."""
    return user_make
