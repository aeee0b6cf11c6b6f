"""Fixtures for the API tests: people with reputation, tokens, an API client."""

import functools

import pytest
from rest_framework.test import APIClient

from hub.api.services import token_create
from tests.factories import question_make, user_make

# Above the forum's new-user caps (REP_NEW_USER) and the downvote threshold (REP_TO_DOWNVOTE).
ESTABLISHED_REPUTATION = 500
# Each test's callers share 127.0.0.1 and the Redis cache: throttles far above what any test
# sends, except in the throttle tests, which set their own rates.
GENEROUS_RATES = {
    "anon": "10000/min",
    "read": "10000/min",
    "write": "10000/min",
    "upload": "10000/min",
}


@pytest.fixture(autouse=True)
def generous_throttles(settings):
    settings.API_THROTTLE_RATES = GENEROUS_RATES


@pytest.fixture
def make_user(db):
    """Members made by the suite's factory, established by default (API clients ask, vote)."""
    return functools.partial(user_make, reputation=ESTABLISHED_REPUTATION)


@pytest.fixture
def make_token():
    def make(user, scopes=("read", "write", "traces"), **kwargs) -> str:
        _, raw = token_create(
            user=user, name=kwargs.pop("name", "test"), scopes=list(scopes), **kwargs
        )
        return raw

    return make


@pytest.fixture
def client_for(make_token):
    """client_for(user, scopes=...) -> an APIClient sending that user's new token."""

    def make(user=None, scopes=("read", "write", "traces")) -> APIClient:
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(user, scopes)}")
        return client

    return make


@pytest.fixture
def make_question(make_user):
    def make(author=None, title="Why do my gradients vanish in a deep MLP?", body=None, tags=None):
        return question_make(
            author=author or make_user(),
            title=title,
            body=body or "My loss is flat after the first epoch and early layers do not learn.",
            tags=tags if tags is not None else ["pytorch"],
        )

    return make


class _Receiver:
    """A local HTTP server that records POSTs and answers with scripted status codes."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[dict] = []
        self.statuses: list[int] = []  # answered in order; 200 once exhausted
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                import time

                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append(
                        {"headers": dict(self.headers), "body": body, "at": time.monotonic()}
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[dict]:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} deliveries, got {len(self.requests)}")

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook_receiver():
    receiver = _Receiver()
    yield receiver
    receiver.close()
