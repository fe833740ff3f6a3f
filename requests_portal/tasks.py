"""Celery tasks of the request workflow, each named after the service it calls (beat runs them)."""

from celery import shared_task

from retention.services.common import TRANSIENT_DB_ERRORS

from . import audit, services

RETRY = {
    "autoretry_for": TRANSIENT_DB_ERRORS, "retry_backoff": 5, "retry_backoff_max": 300, "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(name="requests_portal.requests_expire_unverified", acks_late=True, **RETRY)
def requests_expire_unverified() -> int:
    return services.requests_expire_unverified()


@shared_task(name="requests_portal.requests_remind", acks_late=True, **RETRY)
def requests_remind() -> int:
    return services.requests_remind()


@shared_task(name="requests_portal.requests_digest", acks_late=True, **RETRY)
def requests_digest() -> int:
    return services.requests_digest()


@shared_task(name="requests_portal.audit_anchor", acks_late=True, **RETRY)
def audit_anchor() -> int:
    anchored = 0
    # Catch up in links of ANCHOR_BATCH events until nothing waits (normally one link a minute).
    while (anchor := audit.audit_anchor()) is not None:
        anchored += anchor.event_count
    return anchored
