"""Outgoing webhooks: enqueue signed JSON deliveries and make each delivery attempt.

Every delivery is a POST of a JSON body
``{"id": <delivery uuid>, "event": "diagnosis.ready", "created_at": ..., "data": {...}}`` with
headers ``X-GradHub-Event``, ``X-GradHub-Delivery``, ``X-GradHub-Timestamp`` (unix seconds) and
``X-GradHub-Signature: sha256=<hex>``: the HMAC-SHA256, keyed by the endpoint's secret, of
``"<timestamp>." + raw body``. Signing the timestamp with the body (Stripe's scheme) lets a
receiver refuse replays of an old delivery; ``webhook_signature_verify`` shows the check.
Delivery is at least once: receivers deduplicate on ``X-GradHub-Delivery``.
"""

import hashlib
import hmac
import json
import time
from urllib.parse import SplitResult, urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from requests.adapters import HTTPAdapter

from .models import EVENT_DIAGNOSIS_READY, WebhookDelivery
from .selectors import webhook_endpoint_list_for_event
from .services import host_addresses_check

WEBHOOK_TIMEOUT = (3.05, 10)  # connect, read seconds (requests' advice: just over 3 s connect)
WEBHOOK_MAX_ATTEMPTS = 6  # the first try plus five retries, 1+2+4+8+16 s apart (see tasks.py)
SIGNATURE_TOLERANCE_SECONDS = 300  # receivers should refuse older timestamps (Stripe's default)
USER_AGENT = "GradHub-Webhooks/1"
# Retrying helps with these; any other 4xx means the receiver refuses the delivery itself.
RETRY_STATUSES = {408, 409, 425, 429}

OUTCOME_SUCCEEDED = "succeeded"
OUTCOME_RETRY = "retry"
OUTCOME_FAILED = "failed"
OUTCOME_SKIPPED = "skipped"


class _HostnameTLSAdapter(HTTPAdapter):
    """Connects to the address in the URL (the vetted one) but sends SNI for, and checks the
    certificate against, the endpoint's host name."""

    def __init__(self, *, hostname: str):
        self.hostname = hostname  # before super().__init__, which builds the pool manager
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs |= {"server_hostname": self.hostname, "assert_hostname": self.hostname}
        super().init_poolmanager(*args, **kwargs)


def webhook_session(*, hostname: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # a proxy from the environment would connect, and resolve, for us
    session.mount("https://", _HostnameTLSAdapter(hostname=hostname))
    return session


def _url_at_address(parts: SplitResult, address: str) -> str:
    """The URL with its host replaced by `address` (user info and port kept)."""
    userinfo, _, _ = parts.netloc.rpartition("@")
    host = f"[{address}]" if ":" in address else address
    netloc = (f"{userinfo}@" if userinfo else "") + host + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def webhook_signature_verify(
    *,
    secret: str,
    body: bytes,
    timestamp: str,
    signature: str,
    tolerance_seconds: int = SIGNATURE_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """What a receiver does: a fresh timestamp and a matching signature (constant-time)."""
    try:
        age = (time.time() if now is None else now) - int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(age) > tolerance_seconds:
        return False
    expected = webhook_signature(secret=secret, timestamp=timestamp, body=body)
    return hmac.compare_digest(expected, signature or "")


def webhook_dispatch(*, user, event: str, payload: dict) -> list[WebhookDelivery]:
    """Record one delivery per active endpoint of `user` subscribed to `event`; each is sent
    by the `api.deliver_webhook` task once the surrounding transaction commits."""
    if event == EVENT_DIAGNOSIS_READY:
        payload = {**diagnosis_details(trace_id=payload.get("trace_id")), **payload}
    return [
        webhook_delivery_enqueue(endpoint=endpoint, event=event, payload=payload)
        for endpoint in webhook_endpoint_list_for_event(user=user, event=event)
    ]


def diagnosis_details(*, trace_id) -> dict:
    """What a CI job needs to decide: each finding's code, severity and title, `has_error`,
    and where the API serves the whole diagnosis."""
    from hub.traces.models import Trace
    from hub.traces.selectors import diagnosis_latest

    trace = Trace.objects.filter(pk=trace_id).first() if trace_id else None
    diagnosis = diagnosis_latest(trace=trace) if trace is not None else None
    if diagnosis is None:
        return {}
    findings = [
        {"code": f.get("code"), "severity": f.get("severity"), "title": f.get("title")}
        for f in diagnosis.findings
    ]
    path = reverse("api:trace-diagnosis", kwargs={"trace_id": trace.pk})
    return {
        "findings": findings,
        "has_error": any(f["severity"] == "error" for f in findings),
        "diagnosis_api_url": settings.SITE_URL.rstrip("/") + path,
    }


def webhook_delivery_enqueue(*, endpoint, event: str, payload: dict) -> WebhookDelivery:
    """Record a pending delivery and send it (in the worker) once the transaction commits."""
    from .tasks import deliver_webhook  # tasks imports this module

    data = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event, payload=data)
    transaction.on_commit(lambda: deliver_webhook.delay(delivery.pk))
    return delivery


def webhook_body(*, delivery: WebhookDelivery) -> bytes:
    document = {
        "id": str(delivery.uuid),
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def _record(delivery, *, state, status_code, error, duration_ms) -> None:
    delivery.attempts = [
        *delivery.attempts,
        {
            "at": timezone.now().isoformat(),
            "status_code": status_code,
            "error": error[:500],
            "duration_ms": duration_ms,
        },
    ]
    delivery.state = state
    delivery.response_status = status_code
    delivery.error = error[:500]
    if state != WebhookDelivery.State.PENDING:
        delivery.completed_at = timezone.now()
    delivery.save(update_fields=["attempts", "state", "response_status", "error", "completed_at"])


def webhook_delivery_attempt(*, delivery_id: int) -> str:
    """POST one delivery once and log the attempt; returns an OUTCOME_* constant.

    OUTCOME_RETRY means "try again later"; after WEBHOOK_MAX_ATTEMPTS the delivery is marked
    failed instead."""
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.state != WebhookDelivery.State.PENDING:
        return OUTCOME_SKIPPED
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        _record(
            delivery,
            state=WebhookDelivery.State.FAILED,
            status_code=None,
            error="The endpoint was disabled.",
            duration_ms=0,
        )
        return OUTCOME_FAILED
    parts = urlsplit(endpoint.url)
    url, host_header = endpoint.url, {}
    if not getattr(settings, "WEBHOOK_ALLOW_PRIVATE_HOSTS", True):
        # Checked again at send time (the name may resolve elsewhere than at creation), and the
        # connection goes to the address checked: a second lookup could be rebound to 127.0.0.1.
        try:
            addresses = host_addresses_check(host=parts.hostname or "", port=parts.port)
        except ValidationError as exc:
            _record(
                delivery,
                state=WebhookDelivery.State.FAILED,
                status_code=None,
                error=exc.messages[0],
                duration_ms=0,
            )
            return OUTCOME_FAILED
        url = _url_at_address(parts, addresses[0])
        host_header = {"Host": parts.netloc.rpartition("@")[2]}

    body = webhook_body(delivery=delivery)
    timestamp = str(int(time.time()))
    headers = {
        **host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-GradHub-Event": delivery.event,
        "X-GradHub-Delivery": str(delivery.uuid),
        "X-GradHub-Timestamp": timestamp,
        "X-GradHub-Signature": webhook_signature(
            secret=endpoint.secret, timestamp=timestamp, body=body
        ),
    }
    started = time.monotonic()
    status_code, error = None, ""
    try:
        with webhook_session(hostname=parts.hostname or "") as session:
            response = session.post(
                url, data=body, headers=headers, timeout=WEBHOOK_TIMEOUT, allow_redirects=False
            )
        status_code = response.status_code
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"
    duration_ms = int((time.monotonic() - started) * 1000)

    if status_code is not None and 200 <= status_code < 300:
        outcome = OUTCOME_SUCCEEDED
    elif status_code is not None and 400 <= status_code < 500 and status_code not in RETRY_STATUSES:
        outcome = OUTCOME_FAILED
        error = f"The receiver refused the delivery with HTTP {status_code}."
    else:
        outcome = OUTCOME_RETRY
        error = error or f"The receiver answered HTTP {status_code}."
    if outcome == OUTCOME_RETRY and len(delivery.attempts) + 1 >= WEBHOOK_MAX_ATTEMPTS:
        outcome = OUTCOME_FAILED
    state = {
        OUTCOME_SUCCEEDED: WebhookDelivery.State.SUCCEEDED,
        OUTCOME_FAILED: WebhookDelivery.State.FAILED,
        OUTCOME_RETRY: WebhookDelivery.State.PENDING,
    }[outcome]
    _record(delivery, state=state, status_code=status_code, error=error, duration_ms=duration_ms)
    return outcome
