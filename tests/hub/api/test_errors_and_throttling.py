"""One error body everywhere; throttles per scope with Retry-After."""

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def _assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def test_unknown_api_paths_answer_json_404():
    _assert_error(APIClient().get("/api/v1/no/such/thing/"), 404, "not_found")


def test_a_malformed_json_body_is_a_parse_error(make_user, client_for):
    response = client_for(make_user()).post(
        "/api/v1/questions/", data="{not json", content_type="application/json"
    )
    _assert_error(response, 400, "parse_error")


def test_an_unsupported_content_type_is_415(make_user, client_for):
    response = client_for(make_user()).post(
        "/api/v1/questions/", data="title=x", content_type="text/plain"
    )
    _assert_error(response, 415, "unsupported_media_type")


def test_an_unsupported_method_is_405(make_user, client_for):
    _assert_error(client_for(make_user()).delete("/api/v1/questions/"), 405, "method_not_allowed")


def test_json_is_answered_whatever_accept_asks_for():
    response = APIClient().get("/api/v1/tags/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"


def test_a_bad_cursor_is_404(make_user, client_for):
    _assert_error(
        client_for(make_user()).get("/api/v1/questions/?cursor=garbage"), 404, "not_found"
    )


def test_writes_are_throttled_per_token_with_retry_after(settings, make_user, client_for):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "write": "2/min"}
    user = make_user()
    client, other_token_client = client_for(user), client_for(user)
    statuses = [client.post("/api/v1/questions/", {}, format="json").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    error = _assert_error(client.post("/api/v1/questions/", {}, format="json"), 429, "throttled")
    assert "try again in" in error["message"]
    assert (
        0 < int(client.post("/api/v1/questions/", {}, format="json").headers["Retry-After"]) <= 60
    )
    # Reads have their own budget, and another token its own counter.
    assert client.get("/api/v1/questions/").status_code == 200
    assert other_token_client.post("/api/v1/questions/", {}, format="json").status_code == 400


def test_anonymous_callers_are_throttled_by_ip(settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "anon": "3/min"}
    client = APIClient(REMOTE_ADDR="198.51.100.77")
    statuses = [client.get("/api/v1/tags/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert APIClient(REMOTE_ADDR="198.51.100.78").get("/api/v1/tags/").status_code == 200


def test_anonymous_callers_cannot_escape_the_throttle_with_a_forged_forwarded_for(settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "anon": "2/min"}
    client = APIClient(REMOTE_ADDR="198.51.100.79")
    statuses = [
        client.get("/api/v1/tags/", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code
        for n in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_the_root_lists_every_resource():
    data = APIClient().get("/api/v1/").json()
    for name in (
        "questions",
        "tags",
        "me",
        "notifications",
        "glossary",
        "traces",
        "diagnoses",
        "webhooks",
        "schema",
        "docs",
    ):
        assert data[name].startswith("http://testserver/api/v1/")


def test_uploads_are_throttled_per_user_across_all_their_tokens(settings, make_user, client_for):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "upload": "2/hour"}
    user = make_user()
    first, second = client_for(user, ["traces"]), client_for(user, ["traces"])
    statuses = [first.post("/api/v1/traces/", {}, format="multipart").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    # A fresh token of the same person does not reset the count.
    _assert_error(second.post("/api/v1/traces/", {}, format="multipart"), 429, "throttled")
