"""Celery tasks of the outbox, each named after the service it calls."""

from celery import shared_task

from . import services
from .channels import DeliveryError

MAX_ATTEMPTS = 8


@shared_task(
    name=services.SEND_TASK, bind=True, acks_late=True, autoretry_for=(DeliveryError,), retry_backoff=30,
    retry_backoff_max=3600, retry_jitter=True, max_retries=MAX_ATTEMPTS - 1,
)
def message_send(self, message_id: int) -> str | None:
    message = services.message_send(message_id=message_id, final_attempt=self.request.retries >= self.max_retries)
    return message.state if message else None


@shared_task(name="messaging.messages_resume_stalled", acks_late=True)
def messages_resume_stalled() -> int:
    return len(services.messages_resume_stalled())
