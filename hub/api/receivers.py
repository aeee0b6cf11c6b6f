"""The API's answers to what other apps announce: a diagnosed trace fires its webhooks."""

from django.conf import settings
from django.dispatch import receiver

from hub.api.models import EVENT_DIAGNOSIS_READY, EVENT_DIAGNOSIS_REPLAYED
from hub.api.serializers.traces import replay_data
from hub.api.webhooks import webhook_dispatch
from hub.traces.signals import trace_diagnosed, trace_replayed


@receiver(trace_diagnosed, dispatch_uid="api.webhooks.diagnosis_ready")
def diagnosis_ready_dispatch(sender, *, trace, diagnosis, **_kwargs) -> None:
    payload = {
        "trace_id": trace.pk,
        "question_id": trace.question_id,
        "state": trace.state,
        "engine_version": diagnosis.engine_version,
        "summary": diagnosis.summary,
        "codes": [f["code"] for f in diagnosis.findings],
        "url": settings.SITE_URL.rstrip("/") + trace.get_absolute_url(),
    }
    # Inside the transaction: the deliveries are recorded with the diagnosis, sent after commit.
    webhook_dispatch(user=trace.owner, event=EVENT_DIAGNOSIS_READY, payload=payload)


@receiver(trace_replayed, dispatch_uid="api.webhooks.diagnosis_replayed")
def diagnosis_replayed_dispatch(sender, *, trace, diagnosis, **_kwargs) -> None:
    payload = {
        "trace_id": trace.pk,
        "question_id": trace.question_id,
        "engine_version": diagnosis.engine_version,
        "replay": replay_data(diagnosis),
        "url": settings.SITE_URL.rstrip("/") + trace.get_absolute_url(),
    }
    webhook_dispatch(user=trace.owner, event=EVENT_DIAGNOSIS_REPLAYED, payload=payload)
