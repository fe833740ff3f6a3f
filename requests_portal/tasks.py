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


@shared_task(
    name=services.api.CALLBACK_TASK, acks_late=True, autoretry_for=(services.api.CallbackRetry, *TRANSIENT_DB_ERRORS),
    retry_backoff=30, retry_backoff_max=3600, retry_jitter=True, max_retries=services.api.MAX_CALLBACK_ATTEMPTS - 1,
)
def status_callback_send(callback_id: int) -> str | None:
    # The service counts the attempts on the row and gives up after the last one, however many
    # copies of this task (retries, the sweep's) made them.
    callback = services.status_callback_send(callback_id=callback_id)
    return callback.state if callback else None


@shared_task(name="requests_portal.status_callbacks_resume_stalled", acks_late=True, **RETRY)
def status_callbacks_resume_stalled() -> int:
    return len(services.status_callbacks_resume_stalled())


@shared_task(name="requests_portal.access_packages_expire", acks_late=True, **RETRY)
def access_packages_expire() -> int:
    # Safe twice: only packages not yet marked are taken, and a file already gone is ignored.
    return services.access_packages_expire()


@shared_task(name="requests_portal.request_execute", acks_late=True, **RETRY)
def request_execute(request_id: int, actor_id: int | None = None) -> str | None:
    # Re-read everything: the request may be gone or done; the service refuses what may not run.
    from django.contrib.auth import get_user_model

    from retention.exceptions import RetentionError

    from .exceptions import RequestError
    from .models import DataSubjectRequest

    if not DataSubjectRequest.objects.filter(pk=request_id).exists():
        return None
    actor = get_user_model().objects.filter(pk=actor_id, is_active=True).first() if actor_id else None
    try:
        execution = services.request_execute(request_id=request_id, actor=actor)
    except (RequestError, RetentionError):
        return None  # no longer approved or processing (run twice, or withdrawn): nothing to do
    return execution.state if execution is not None else None


@shared_task(name="requests_portal.request_executions_resume_stalled", acks_late=True, **RETRY)
def request_executions_resume_stalled() -> int:
    return len(services.request_executions_resume_stalled())
