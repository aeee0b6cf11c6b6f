"""The API's answers to what other apps announce: a diagnosed trace fires its webhooks."""

from django.conf import settings
from django.dispatch import receiver

from hub.api.models import EVENT_DIAGNOSIS_READY
from hub.api.webhooks import webhook_dispatch
from hub.traces.signals import trace_diagnosed


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
