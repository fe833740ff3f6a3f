"""Consent tasks: each takes ids, re-reads, and calls one service (safe to run twice)."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .models import IdempotencyKey
from .services import policy as policy_services

# An idempotency key answers retries for this long; then the stored answer goes.
IDEMPOTENCY_TTL = timedelta(hours=24)


@shared_task(name="consent.policy_notice_run", acks_late=True)
def policy_notice_run(notice_id: int) -> str:
    return policy_services.policy_notice_run(
        notice_id=notice_id, pause=settings.CONSENT_NOTICE_PAUSE, batch_size=settings.CONSENT_NOTICE_BATCH,
    )


@shared_task(name="consent.policy_notices_resume", acks_late=True)
def policy_notices_resume() -> int:
    return len(policy_services.policy_notices_resume())


@shared_task(name="consent.idempotency_keys_expire", acks_late=True)
def idempotency_keys_expire() -> int:
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - IDEMPOTENCY_TTL).delete()
    return deleted


# How often a notice asks the outbox again while its e-mail is still being tried, and for how
# long (the outbox's own tries, with back-off, end well within a day).
ERASURE_NOTICE_RECHECK = 600
ERASURE_NOTICE_RECHECKS = 6 * 24 * 3


@shared_task(name="consent.erasure_notice_send", bind=True, acks_late=True, max_retries=ERASURE_NOTICE_RECHECKS)
def erasure_notice_send(self, notice_id: int) -> str:
    from .services import notices

    outcome = notices.erasure_notice_send(notice_id=notice_id)
    if outcome == notices.WAITING:
        raise self.retry(countdown=ERASURE_NOTICE_RECHECK)
    return outcome
