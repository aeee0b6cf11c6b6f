"""Celery tasks of the API: webhook deliveries."""

from celery import shared_task

from .webhooks import OUTCOME_RETRY, WEBHOOK_MAX_ATTEMPTS, webhook_delivery_attempt


class WebhookRetry(Exception):
    """The receiver was unreachable or failed; try again after the backoff."""


@shared_task(
    name="api.deliver_webhook",
    autoretry_for=(WebhookRetry,),
    max_retries=WEBHOOK_MAX_ATTEMPTS - 1,
    retry_backoff=1,  # 1, 2, 4, 8, 16 seconds between attempts
    retry_backoff_max=600,
    retry_jitter=False,
    soft_time_limit=30,
    time_limit=40,
)
def deliver_webhook(delivery_id: int) -> str:
    outcome = webhook_delivery_attempt(delivery_id=delivery_id)
    if outcome == OUTCOME_RETRY:
        raise WebhookRetry(f"delivery {delivery_id} will be retried")
    return outcome
