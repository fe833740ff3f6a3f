"""Celery tasks of retention. Each takes ids, re-reads its rows, calls one service.

Acknowledged late (settings) so a killed worker's task is delivered again; safe to run twice:
the purge claims its schedule (a second copy finds it claimed and returns), and the engine
only touches rows that still need it.
"""

import logging

from celery import shared_task

from .models import PurgeSchedule
from .services import TRANSIENT_DB_ERRORS, merchant_purge, purge_plan, retention_expire

logger = logging.getLogger(__name__)

RETRY = {
    "autoretry_for": TRANSIENT_DB_ERRORS,
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(acks_late=True, **RETRY)
def plan_purges() -> dict:
    return purge_plan()


@shared_task(acks_late=True, **RETRY)
def purge_merchant(schedule_id: int) -> dict | None:
    if not PurgeSchedule.objects.filter(pk=schedule_id).exists():
        return None
    run = merchant_purge(schedule_id=schedule_id)
    if run is None:
        logger.info("purge of schedule %s not claimed: another worker has it, or it is not due", schedule_id)
        return None
    return {"run": run.pk, "state": run.state, "rows": run.rows_done}


@shared_task(acks_late=True, **RETRY)
def expire_retained(merchant_id: int) -> list[int]:
    return [run.pk for run in retention_expire(merchant_id=merchant_id)]
