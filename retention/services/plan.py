"""The daily plan, and the sweep that resumes stalled work within minutes.

The plan (beat, daily): notice churn set in JUNOPOS's tables, give the warnings that are due,
queue one purge per due merchant, queue expiry for purged merchants whose kept records ended,
one expiry per rule whose records of no merchant (the portal's requests) ended, and one
tombstone expiry per purged merchant whose tombstone period ended (.tombstone).
The sweep (beat, every minute): queue again every run whose worker's lease ran out (a worker
killed, a purge that used its time budget) and every message whose task was lost, so that a
killed worker's purge goes on within minutes, whatever the time of day, without a person.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from junoprivacy.celery import enqueue_on_commit
from messaging.services import messages_resume_stalled

from ..models import ErasureRun, PurgeSchedule
from ..selectors import churn_rules, merchants_with_expired_records, runs_stalled, schedules_due
from .churn import churn_detect
from .expiry import RECORDS_EXPIRE_TASK, expiry_cutoffs, records_expiry_due
from .purge import PURGE_TASK
from .runs import end_unheld_runs
from .subject import SUBJECT_TASK
from .tombstone import TOMBSTONE_TASK, tombstone_rule, tombstones_due
from .warnings import purge_warnings_send

EXPIRE_TASK = "retention.retention_expire"
SUBJECT_RUN_ABANDONED = "Proses berhenti sebelum selesai; jalankan penghapusan subjek lagi (yang sudah terhapus tidak diulang)."


def purge_plan(*, now: datetime | None = None) -> dict[str, int]:
    """The daily plan: notice churn, warn, queue the due purges and the expiries."""
    now = now or timezone.now()
    detected = churn_detect(now=now)
    warned = purge_warnings_send(now=now)
    due = list(schedules_due(now=now, rules=churn_rules()).values_list("pk", flat=True))
    expired = list(
        merchants_with_expired_records(cutoffs=expiry_cutoffs(now=now)).values_list("merchant_id", flat=True)
    )
    for schedule_id in due:
        enqueue_on_commit(PURGE_TASK, schedule_id)
    for merchant_id in expired:
        enqueue_on_commit(EXPIRE_TASK, merchant_id)
    records = records_expiry_due(now=now)
    for rule_id in records:
        enqueue_on_commit(RECORDS_EXPIRE_TASK, rule_id)
    tombstones = list(tombstones_due(now=now).values_list("merchant_id", flat=True))
    for merchant_id in tombstones:
        enqueue_on_commit(TOMBSTONE_TASK, merchant_id)
    stalled = work_resume_stalled(now=now)
    return {
        "detected_churn": detected["churned"], "detected_reactivation": detected["reactivated"],
        "warned": warned, "due": len(due), "stalled": stalled["runs"], "expired": len(expired),
        "records_expired": len(records), "tombstones": len(tombstones),
    }


def work_resume_stalled(*, now: datetime | None = None) -> dict[str, int]:
    """Queue again the runs and messages whose worker is gone (beat, every minute)."""
    now = now or timezone.now()
    stalled = list(runs_stalled(now=now).values_list("pk", "kind", "merchant_ref", "rule_id", "sealed_scope"))
    runs = [row[:4] for row in stalled]
    sealed = {row[0] for row in stalled if row[4]}
    schedules = dict(
        PurgeSchedule.objects.filter(
            merchant_id__in=[m for _pk, kind, m, _rule in runs if kind == ErasureRun.Kind.MERCHANT_PURGE]
        ).values_list("merchant_id", "pk")
    )
    tombstone = tombstone_rule() if any(kind == ErasureRun.Kind.RETENTION_EXPIRY for _p, kind, _m, _r in runs) else None
    resumed = 0
    for run_id, kind, merchant_id, rule_id in runs:
        if kind == ErasureRun.Kind.MERCHANT_PURGE and merchant_id in schedules:
            enqueue_on_commit(PURGE_TASK, schedules[merchant_id])
        elif kind == ErasureRun.Kind.RETENTION_EXPIRY and tombstone is not None and rule_id == tombstone.pk:
            enqueue_on_commit(TOMBSTONE_TASK, merchant_id)  # its schedule may be gone: by merchant
        elif kind == ErasureRun.Kind.RETENTION_EXPIRY and merchant_id is None:
            enqueue_on_commit(RECORDS_EXPIRE_TASK, rule_id)  # the records of no merchant, per rule
        elif kind == ErasureRun.Kind.RETENTION_EXPIRY:
            enqueue_on_commit(EXPIRE_TASK, merchant_id)
        elif kind == ErasureRun.Kind.SUBJECT_ERASURE and run_id in sealed:
            enqueue_on_commit(SUBJECT_TASK, run_id)  # her identifiers are sealed on the run
        elif kind == ErasureRun.Kind.SUBJECT_ERASURE:
            # Sealed nothing (a run from before seals): nobody can resume it, a person runs it again.
            end_unheld_runs(ErasureRun.objects.filter(pk=run_id), SUBJECT_RUN_ABANDONED, failed=True)
            continue
        resumed += 1
    return {"runs": resumed, "messages": len(messages_resume_stalled(now=now))}
