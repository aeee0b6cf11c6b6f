import socket

from celery import shared_task

from .services import worker_heartbeat_record


@shared_task(name="core.heartbeat", soft_time_limit=20, time_limit=30)
def heartbeat(hostname: str | None = None) -> int:
    """Proves a worker is alive and can write to the database."""
    return worker_heartbeat_record(hostname=hostname or socket.gethostname()).pk
