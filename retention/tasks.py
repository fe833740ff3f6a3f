"""Celery tasks of retention, each named after the service it calls; they take ids.

Registered by name (services queue them by name, never importing this module). Acknowledged
late (settings) so a killed worker's task is delivered again; safe to run twice: the purge and
the expiries claim their run (a second copy finds it claimed and returns), and the engine only
touches rows that still need it.
"""

import logging

from celery import shared_task

from . import services
from .models import PurgeSchedule
from .services.expiry import RECORDS_EXPIRE_TASK
from .services.plan import EXPIRE_TASK
from .services.purge import PURGE_TASK
from .services.subject import SUBJECT_TASK
from .services.tombstone import TOMBSTONE_TASK

logger = logging.getLogger(__name__)

RETRY = {
    "autoretry_for": services.TRANSIENT_DB_ERRORS,
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(name="retention.purge_plan", acks_late=True, **RETRY)
def purge_plan() -> dict:
    return services.purge_plan()


@shared_task(name="retention.work_resume_stalled", acks_late=True, **RETRY)
def work_resume_stalled() -> dict:
    return services.work_resume_stalled()


@shared_task(name=PURGE_TASK, bind=True, acks_late=True, **RETRY)
def merchant_purge(self, schedule_id: int) -> dict | None:
    if not PurgeSchedule.objects.filter(pk=schedule_id).exists():
        return None
    run = services.merchant_purge(schedule_id=schedule_id)
    if run is None:
        logger.info("purge of schedule %s not taken: another worker has it, or it is not due", schedule_id)
        return None
    if run.state == run.State.RUNNING:  # its time budget ran out: progress saved, claim given back
        merchant_purge.delay(schedule_id)
    return {"run": run.pk, "state": run.state, "rows": run.rows_done}


@shared_task(name=EXPIRE_TASK, acks_late=True, **RETRY)
def retention_expire(merchant_id: int) -> list[int]:
    runs = services.retention_expire(merchant_id=merchant_id)
    if any(run.state == run.State.RUNNING for run in runs):
        retention_expire.delay(merchant_id)
    return [run.pk for run in runs]


@shared_task(name=RECORDS_EXPIRE_TASK, acks_late=True, **RETRY)
def records_expire(rule_id: int) -> int | None:
    run = services.records_expire(rule_id=rule_id)
    if run is not None and run.state == run.State.RUNNING:  # its time budget ran out: queued again
        records_expire.delay(rule_id)
    return run.pk if run is not None else None


@shared_task(name=TOMBSTONE_TASK, acks_late=True, **RETRY)
def tombstone_expire(merchant_id: int) -> int | None:
    run = services.tombstone_expire(merchant_id=merchant_id)
    if run is not None and run.state == run.State.RUNNING:  # its time budget ran out: queued again
        tombstone_expire.delay(merchant_id)
    return run.pk if run is not None else None


@shared_task(name=SUBJECT_TASK, acks_late=True, **RETRY)
def subject_erasure_continue(run_id: int) -> dict | None:
    """A subject erasure whose worker died (or a retried one): opened from its seal, run to its end."""
    run = services.subject_erasure_continue(run_id=run_id)
    if run is None:
        logger.info("subject erasure %s not taken: another worker has it, or it is over", run_id)
        return None
    if run.state == run.State.RUNNING:  # its soft time limit came: progress saved, claim given back
        subject_erasure_continue.delay(run_id)
    return {"run": run.pk, "state": run.state, "rows": run.rows_done}
