"""Outgoing webhooks: signing, delivery, retries with backoff and the delivery log, against a
real HTTP server on 127.0.0.1."""

import json
import time

import pytest
from django.core.exceptions import ValidationError

from hub.api.models import WebhookDelivery
from hub.api.services import webhook_endpoint_create, webhook_url_validate
from hub.api.tasks import deliver_webhook
from hub.api.webhooks import (
    WEBHOOK_MAX_ATTEMPTS,
    webhook_delivery_enqueue,
    webhook_dispatch,
    webhook_signature,
    webhook_signature_verify,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint_for(make_user, webhook_receiver):
    def make(user=None, events=("diagnosis.ready",)):
        endpoint, secret = webhook_endpoint_create(
            user=user or make_user(), url=webhook_receiver.url, events=list(events)
        )
        return endpoint, secret

    return make


def _pending(endpoint, event="diagnosis.ready", payload=None) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        endpoint=endpoint, event=event, payload=payload or {"trace_id": 7}
    )


def test_a_delivery_is_signed_over_the_timestamp_and_the_raw_body(endpoint_for, webhook_receiver):
    endpoint, secret = endpoint_for()
    delivery = _pending(endpoint, payload={"trace_id": 7, "codes": ["vanishing_gradients"]})
    deliver_webhook.apply(args=[delivery.pk])
    [request] = webhook_receiver.wait_for(1)
    headers, body = request["headers"], request["body"]
    assert headers["X-GradHub-Event"] == "diagnosis.ready"
    assert headers["X-GradHub-Delivery"] == str(delivery.uuid)
    assert headers["Content-Type"] == "application/json"
    assert webhook_signature_verify(
        secret=secret,
        body=body,
        timestamp=headers["X-GradHub-Timestamp"],
        signature=headers["X-GradHub-Signature"],
    )
    assert headers["X-GradHub-Signature"] == webhook_signature(
        secret=secret, timestamp=headers["X-GradHub-Timestamp"], body=body
    )
    document = json.loads(body)
    assert document["id"] == str(delivery.uuid) and document["event"] == "diagnosis.ready"
    assert document["data"] == {"trace_id": 7, "codes": ["vanishing_gradients"]}
    delivery.refresh_from_db()
    assert delivery.state == "succeeded" and delivery.response_status == 200
    assert len(delivery.attempts) == 1 and delivery.attempts[0]["duration_ms"] >= 0


def test_signature_verification_refuses_a_tampered_body_a_wrong_secret_and_a_replay():
    body, secret = b'{"event":"ping"}', "whsec_test"
    now = int(time.time())
    good = webhook_signature(secret=secret, timestamp=str(now), body=body)
    verify = webhook_signature_verify
    assert verify(secret=secret, body=body, timestamp=str(now), signature=good)
    assert not verify(secret=secret, body=body + b" ", timestamp=str(now), signature=good)
    assert not verify(secret="whsec_other", body=body, timestamp=str(now), signature=good)
    assert not verify(secret=secret, body=body, timestamp=str(now + 1), signature=good)
    old = str(now - 3600)
    stale = webhook_signature(secret=secret, timestamp=old, body=body)
    assert not verify(secret=secret, body=body, timestamp=old, signature=stale)
    assert not verify(secret=secret, body=body, timestamp="soon", signature=good)


def test_server_errors_are_retried_and_each_attempt_is_logged(endpoint_for, webhook_receiver):
    endpoint, _ = endpoint_for()
    webhook_receiver.statuses = [500, 503]
    delivery = _pending(endpoint)
    deliver_webhook.apply(args=[delivery.pk])  # eager: retries run at once
    requests = webhook_receiver.wait_for(3)
    assert len({r["headers"]["X-GradHub-Delivery"] for r in requests}) == 1
    delivery.refresh_from_db()
    assert [a["status_code"] for a in delivery.attempts] == [500, 503, 200]
    assert delivery.state == "succeeded" and delivery.completed_at is not None


def test_a_receiver_that_keeps_failing_is_given_up_on(endpoint_for, webhook_receiver):
    endpoint, _ = endpoint_for()
    webhook_receiver.statuses = [502] * 20
    delivery = _pending(endpoint)
    deliver_webhook.apply(args=[delivery.pk])
    delivery.refresh_from_db()
    assert delivery.state == "failed"
    assert len(delivery.attempts) == WEBHOOK_MAX_ATTEMPTS == len(webhook_receiver.requests)
    assert "HTTP 502" in delivery.error


def test_a_refusal_is_not_retried(endpoint_for, webhook_receiver):
    endpoint, _ = endpoint_for()
    webhook_receiver.statuses = [410]
    delivery = _pending(endpoint)
    deliver_webhook.apply(args=[delivery.pk])
    delivery.refresh_from_db()
    assert delivery.state == "failed" and len(delivery.attempts) == 1
    assert "refused the delivery with HTTP 410" in delivery.error


def test_an_unreachable_receiver_is_logged_with_the_error(make_user):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint, _ = webhook_endpoint_create(
        user=make_user(), url=f"http://127.0.0.1:{port}/hook", events=["ping"]
    )
    delivery = _pending(endpoint, event="ping")
    deliver_webhook.apply(args=[delivery.pk])
    delivery.refresh_from_db()
    assert delivery.state == "failed" and len(delivery.attempts) == WEBHOOK_MAX_ATTEMPTS
    assert delivery.attempts[0]["status_code"] is None
    assert "ConnectionError" in delivery.attempts[0]["error"]


def test_a_delivered_or_disabled_delivery_is_not_sent_again(endpoint_for, webhook_receiver):
    endpoint, _ = endpoint_for()
    delivery = _pending(endpoint)
    deliver_webhook.apply(args=[delivery.pk])
    deliver_webhook.apply(args=[delivery.pk])  # a redelivered task message
    assert len(webhook_receiver.wait_for(1)) == 1
    endpoint.is_active = False
    endpoint.save()
    paused = _pending(endpoint)
    deliver_webhook.apply(args=[paused.pk])
    paused.refresh_from_db()
    assert paused.state == "failed" and len(webhook_receiver.requests) == 1


def test_dispatch_reaches_active_endpoints_subscribed_to_the_event_after_commit(
    make_user, webhook_receiver, django_capture_on_commit_callbacks, monkeypatch
):
    user = make_user()
    subscribed, _ = webhook_endpoint_create(
        user=user, url=webhook_receiver.url, events=["diagnosis.ready"]
    )
    webhook_endpoint_create(user=user, url=webhook_receiver.url, events=["ping"])
    paused, _ = webhook_endpoint_create(
        user=user, url=webhook_receiver.url, events=["diagnosis.ready"]
    )
    paused.is_active = False
    paused.save()
    webhook_endpoint_create(user=make_user(), url=webhook_receiver.url, events=["diagnosis.ready"])
    sent = []
    monkeypatch.setattr(deliver_webhook, "delay", sent.append)
    with django_capture_on_commit_callbacks() as callbacks:
        deliveries = webhook_dispatch(user=user, event="diagnosis.ready", payload={"trace_id": 1})
        assert sent == []  # nothing leaves before the transaction commits
    for callback in callbacks:
        callback()
    assert [d.endpoint for d in deliveries] == [subscribed]
    assert sent == [deliveries[0].pk]


def test_a_diagnosis_triggers_a_signed_diagnosis_ready_delivery(
    make_user, make_question, webhook_receiver, django_capture_on_commit_callbacks, monkeypatch
):
    from hub.traces.diagnosis import trace_diagnose
    from hub.traces.services import trace_upload
    from tests.hub.traces.pipeline_fixtures import upload, vanishing_trace_bytes

    asker = make_user()
    endpoint, secret = webhook_endpoint_create(
        user=asker, url=webhook_receiver.url, events=["diagnosis.ready"]
    )
    trace = trace_upload(
        owner=asker,
        uploaded_file=upload(vanishing_trace_bytes()),
        question=make_question(author=asker),
    )
    sent = []
    monkeypatch.setattr(deliver_webhook, "delay", sent.append)
    with django_capture_on_commit_callbacks(execute=True):
        trace_diagnose(trace_id=trace.pk)
    [delivery_id] = sent
    deliver_webhook.apply(args=[delivery_id])
    [request] = webhook_receiver.wait_for(1)
    assert webhook_signature_verify(
        secret=secret,
        body=request["body"],
        timestamp=request["headers"]["X-GradHub-Timestamp"],
        signature=request["headers"]["X-GradHub-Signature"],
    )
    data = json.loads(request["body"])["data"]
    assert data["trace_id"] == trace.pk and "vanishing_gradients" in data["codes"]
    severities = {f["code"]: f["severity"] for f in data["findings"]}
    assert data["has_error"] == ("error" in severities.values())
    assert severities["vanishing_gradients"] in ("error", "warning")
    assert data["diagnosis_api_url"].endswith(f"/api/v1/traces/{trace.pk}/diagnosis/")


@pytest.mark.parametrize(
    "url", ["ftp://example.com/hook", "javascript:alert(1)", "http://", "example.com/hook"]
)
def test_only_http_and_https_urls_are_accepted(url):
    with pytest.raises(ValidationError, match="http:// or https://"):
        webhook_url_validate(url=url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
        "http://[::127.0.0.1]/hook",  # IPv4-compatible
        "http://[64:ff9b::7f00:1]/hook",  # NAT64 of 127.0.0.1
        "http://[64:ff9b::a01:203]/hook",  # NAT64 of 10.1.2.3
        "http://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
        "http://[2002:c0a8:5::1]/hook",  # 6to4 of 192.168.0.5
    ],
)
def test_private_and_loopback_hosts_are_refused_in_production(settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    with pytest.raises(ValidationError, match="private or local address"):
        webhook_url_validate(url=url)


@pytest.mark.parametrize(
    "url",
    [
        "https://ci.example.com/hook",
        "https://ci.example.com:8443/hook?x=1",
        "http://93.184.215.14/hook",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/hook",
        "ci.example.com/hook",
        "ftp://ci.example.com/hook",
        "https://ci.example.com:99999/hook",
        "https://exa mple.com/hook",
        "https://-bad-.example.com/hook",
        "https://ci.example.com/" + "x" * 500,
    ],
)
def test_the_settings_form_and_the_api_accept_exactly_the_same_webhook_urls(
    make_user, client_for, url
):
    from hub.api.forms import WebhookCreateForm

    form_ok = WebhookCreateForm({"url": url, "events": ["ping"]}).is_valid()
    response = client_for(make_user()).post(
        "/api/v1/webhooks/", {"url": url, "events": ["ping"]}, format="json"
    )
    assert response.status_code in (201, 400), response.content
    assert form_ok == (response.status_code == 201)


def test_a_public_address_is_accepted_in_production(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    assert webhook_url_validate(url="https://93.184.215.14/hook") == "https://93.184.215.14/hook"


def test_private_hosts_are_refused_again_at_send_time(settings, endpoint_for, webhook_receiver):
    endpoint, _ = endpoint_for()  # created while private hosts were allowed
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    delivery = _pending(endpoint)
    deliver_webhook.apply(args=[delivery.pk])
    delivery.refresh_from_db()
    assert delivery.state == "failed" and "private or local" in delivery.error
    assert webhook_receiver.requests == []


def test_a_delivery_connects_to_the_address_that_was_checked_not_a_fresh_lookup(
    settings, make_user, webhook_receiver, monkeypatch
):
    """DNS rebinding: the name resolves to a public address for the check, then to 127.0.0.1."""
    import socket

    import urllib3.util.connection

    port = int(webhook_receiver.url.rsplit(":", 1)[1].split("/")[0])
    answers = iter(["93.184.215.14", "127.0.0.1", "127.0.0.1"])
    real_getaddrinfo = socket.getaddrinfo

    def rebinding_getaddrinfo(host, *args, **kwargs):
        if host != "hooks.example.com":
            return real_getaddrinfo(host, *args, **kwargs)
        address = next(answers)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    connected = []
    real_create_connection = urllib3.util.connection.create_connection

    def create_connection(address, *args, **kwargs):
        connected.append(address)  # then reach the local receiver, whatever was asked
        return real_create_connection(("127.0.0.1", port), *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_getaddrinfo)
    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    endpoint, _ = webhook_endpoint_create(
        user=make_user(), url=f"http://hooks.example.com:{port}/hook", events=["ping"]
    )
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    delivery = _pending(endpoint, event="ping")
    deliver_webhook.apply(args=[delivery.pk])
    assert connected == [("93.184.215.14", port)]
    assert webhook_receiver.requests[0]["headers"]["Host"] == f"hooks.example.com:{port}"


def test_an_https_delivery_to_a_vetted_address_verifies_the_certificate_for_the_name():
    from hub.api.webhooks import webhook_session

    session = webhook_session(hostname="hooks.example.com")
    pool_kw = session.get_adapter("https://93.184.215.14/").poolmanager.connection_pool_kw
    assert pool_kw["server_hostname"] == pool_kw["assert_hostname"] == "hooks.example.com"
    assert session.trust_env is False  # no proxy from the environment between us and the address


def test_webhook_endpoints_through_the_api(make_user, client_for, webhook_receiver, monkeypatch):
    client = client_for(make_user())
    created = client.post(
        "/api/v1/webhooks/",
        {"url": webhook_receiver.url, "events": ["diagnosis.ready"]},
        format="json",
    )
    assert created.status_code == 201
    endpoint_id, secret = created.json()["id"], created.json()["secret"]
    assert secret.startswith("whsec_")
    shown = client.get(f"/api/v1/webhooks/{endpoint_id}/").json()
    assert "secret" not in shown and shown["events"] == ["diagnosis.ready"]
    assert (
        client.patch(
            f"/api/v1/webhooks/{endpoint_id}/", {"is_active": False}, format="json"
        ).json()["is_active"]
        is False
    )
    bad = client.post(
        "/api/v1/webhooks/", {"url": "ftp://x.example/", "events": ["nope"]}, format="json"
    )
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) >= {"url", "events.0"}
    sent = []
    monkeypatch.setattr(deliver_webhook, "delay", sent.append)
    ping = client.post(f"/api/v1/webhooks/{endpoint_id}/ping/")
    assert ping.status_code == 202 and ping.json()["event"] == "ping"
    log = client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries/").json()
    assert [d["id"] for d in log] == [ping.json()["id"]]
    assert client.delete(f"/api/v1/webhooks/{endpoint_id}/").status_code == 204
    assert client.get(f"/api/v1/webhooks/{endpoint_id}/").status_code == 404


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_worker_delivers_and_retries_with_backoff(celery_worker, make_user, webhook_receiver):
    endpoint, secret = webhook_endpoint_create(
        user=make_user(), url=webhook_receiver.url, events=["ping"]
    )
    webhook_receiver.statuses = [500]
    delivery = webhook_delivery_enqueue(endpoint=endpoint, event="ping", payload={"hello": 1})
    first, second = webhook_receiver.wait_for(2, timeout=60)
    # Celery's retry_backoff=1: the first retry waits 1 s (2 s, 4 s... after that).
    assert second["at"] - first["at"] >= 0.9
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        delivery.refresh_from_db()
        if delivery.state != "pending":
            break
        time.sleep(0.1)
    assert delivery.state == "succeeded"
    assert [a["status_code"] for a in delivery.attempts] == [500, 200]
    assert webhook_signature_verify(
        secret=secret,
        body=second["body"],
        timestamp=second["headers"]["X-GradHub-Timestamp"],
        signature=second["headers"]["X-GradHub-Signature"],
    )
