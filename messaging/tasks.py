"""Celery tasks of the outbox, each named after the service it calls."""

from celery import shared_task

from . import services
from .channels import DeliveryError

@shared_task(
    name=services.SEND_TASK, acks_late=True, autoretry_for=(DeliveryError,), retry_backoff=30,
    retry_backoff_max=3600, retry_jitter=True, max_retries=services.MAX_ATTEMPTS - 1,
)
def message_send(message_id: int) -> str | None:
    # The service counts the attempts on the row and gives up after the last one, however many
    # copies of this task (retries, the sweep's) made them.
    message = services.message_send(message_id=message_id)
    return message.state if message else None


@shared_task(name="messaging.messages_resume_stalled", acks_late=True)
def messages_resume_stalled() -> int:
    return len(services.messages_resume_stalled())
