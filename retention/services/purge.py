"""The purge of one churned merchant: claimed, batched, resumable, fenced.

Safety design (the engine's own is in retention.engine, the run's in .runs)
- The schedule moves from scheduled to purging only when it is due, warned in time and not
  held (a conditional transition under a row lock); its one open run is resumed, never doubled
  (a unique constraint on open runs per merchant).
- The run is claimed (RunClaim): one worker at a time, a lease renewed with every batch, every
  write fenced by the claim, so a worker that lost its claim writes nothing more.
- `purge_stop_reason` is asked before every batch: a reactivation or a hold stops the purge,
  with its reason, and only the worker holding the run marks it stopped.
- A purge that reaches its time budget (or Celery's soft time limit) saves its progress, gives
  its claim back and is queued again by its task; a transient database error does the same
  through the task's retry; only a real error marks the run and the schedule failed.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from junoprivacy.celery import enqueue_on_commit
from merchants.models import Merchant

from ..engine import Erasure, Scope, total_rows
from ..exceptions import RetentionError
from ..models import ErasureRun, PurgeSchedule, RetentionRule
from ..pseudonyms import is_pseudonym, pseudonym
from ..selectors import purge_stop_reason, schedules_due
from .common import CHURN_RULE, TRANSIENT_DB_ERRORS, require_permission
from .runs import (
    OPEN, ClaimLost, RunClaim, TimeBudgetReached, end_unheld_runs, run_erasure, run_fail, run_release_after_error,
)

logger = logging.getLogger(__name__)

PURGE_TASK = "retention.merchant_purge"


def merchant_purge(
    *, schedule_id: int, batch_size: int | None = None, on_progress=None, lease_seconds: int | None = None,
    time_budget: float | None = None,
) -> ErasureRun | None:
    """Purge one churned merchant, or resume its purge. Returns the run, or None if not taken.

    A run returned still running (unclaimed) used its time budget: queue the purge again.
    """
    now = timezone.now()
    with transaction.atomic():
        schedule = PurgeSchedule.objects.select_for_update().select_related("merchant", "rule").get(pk=schedule_id)
        if schedule.state == PurgeSchedule.State.SCHEDULED:
            if not schedules_due(now=now, rules=[schedule.rule]).filter(pk=schedule_id).exists():
                return None
            schedule.state = PurgeSchedule.State.PURGING
            schedule.save(update_fields=["state", "updated_at"])
        elif schedule.state != PurgeSchedule.State.PURGING:
            # Cancelled (or done) while a run was released, retrying or its worker dead: end it.
            if schedule.state == PurgeSchedule.State.CANCELLED:
                end_unheld_runs(_runs_of(schedule), _("Merchant aktif kembali; penghapusan dibatalkan."))
            return None
        run = _open_run(schedule)
    claim = RunClaim.take(
        run.pk, lease=_lease(lease_seconds), seen_attempts=run.attempts,
        budget=settings.ERASURE_TIME_BUDGET_SECONDS if time_budget is None else time_budget,
    )
    if claim is None:
        return None  # another worker holds it
    scope = Scope.merchant(schedule.merchant_id)
    try:
        engine = Erasure(scope, batch_size=batch_size, should_proceed=lambda: purge_stop_reason(schedule_id=schedule_id))
        result = run_erasure(
            claim, engine, remaining=lambda: total_rows(Erasure(scope).count()), on_progress=on_progress
        )
    except ClaimLost:
        logger.info("purge of schedule %s: another worker took the run over; this one stops", schedule_id)
        return None
    except (TimeBudgetReached, SoftTimeLimitExceeded):
        claim.release()
        return ErasureRun.objects.get(pk=run.pk)
    except TRANSIENT_DB_ERRORS as exc:
        if not claim.worn_out:
            run_release_after_error(claim)
            raise
        _fail(claim, schedule_id, exc)  # it keeps coming back: a person must look
        return ErasureRun.objects.get(pk=run.pk)
    except Exception as exc:
        _fail(claim, schedule_id, exc)
        raise
    try:
        with transaction.atomic():
            if result.completed:
                claim.finish()
                PurgeSchedule.objects.filter(pk=schedule_id).update(
                    state=PurgeSchedule.State.PURGED, purged_at=timezone.now()
                )
            else:
                claim.stop(result.stopped_reason)
                # A merchant that came back is cancelled; a held one goes back to the queue, where
                # the planner skips it until the hold is lifted.
                back = Merchant.objects.filter(pk=schedule.merchant_id, churned_at__isnull=True).exists()
                mine = PurgeSchedule.objects.select_for_update().get(pk=schedule_id)
                cancelled = back or mine.state == PurgeSchedule.State.CANCELLED
                mine.state = PurgeSchedule.State.CANCELLED if cancelled else PurgeSchedule.State.SCHEDULED
                mine.save(update_fields=["state", "updated_at"])
    except ClaimLost:
        return None
    return ErasureRun.objects.get(pk=run.pk)


def _fail(claim: RunClaim, schedule_id: int, exc: BaseException) -> None:
    """Mark the run and its schedule failed, for the data protection officer to retry."""
    run_fail(claim, exc, also=lambda: PurgeSchedule.objects.filter(pk=schedule_id).update(
        state=PurgeSchedule.State.FAILED
    ))


def _runs_of(schedule: PurgeSchedule):
    return ErasureRun.objects.filter(kind=ErasureRun.Kind.MERCHANT_PURGE, merchant_ref=schedule.merchant_id)


def _lease(seconds: int | None) -> timedelta:
    return timedelta(seconds=seconds or settings.PURGE_LEASE_SECONDS)


def _open_run(schedule: PurgeSchedule) -> ErasureRun:
    """The merchant's open purge run (a pending retry, or one to resume), or a new one."""
    run = _runs_of(schedule).filter(dry_run=False, state__in=OPEN).order_by("-created_at").first()
    if run is not None:
        return run
    return ErasureRun.objects.create(
        kind=ErasureRun.Kind.MERCHANT_PURGE, merchant=schedule.merchant, merchant_ref=schedule.merchant_id,
        rule=schedule.rule, subject_hashes=_merchant_pseudonyms(schedule.merchant), state=ErasureRun.State.PENDING,
    )


def _merchant_pseudonyms(merchant: Merchant) -> dict[str, str]:
    """Keyed hashes of the identifiers by which someone may later ask "was X deleted?"."""
    values = {
        "business_name": (merchant.business_name, "text"),
        "tax_number": (merchant.tax_number, "text"),
        "owner_email": (merchant.owner_email, "email"),
        "owner_phone": (merchant.owner_phone_e164 or merchant.owner_phone, "phone"),
    }
    return {k: pseudonym(v, kind=kind) for k, (v, kind) in values.items() if v and not is_pseudonym(v)}


def merchant_purge_dry_run(*, merchant_id: int, actor=None) -> ErasureRun:
    """The counts a purge of this merchant would produce, recorded, with nothing changed."""
    merchant = Merchant.objects.get(pk=merchant_id)
    counts = Erasure(Scope.merchant(merchant_id)).count()
    now = timezone.now()
    return ErasureRun.objects.create(
        kind=ErasureRun.Kind.MERCHANT_PURGE, merchant=merchant, merchant_ref=merchant.pk,
        rule=RetentionRule.objects.filter(key=CHURN_RULE).first(), dry_run=True,
        state=ErasureRun.State.COMPLETED, requested_by=actor, started_at=now, finished_at=now, counts=counts,
        rows_total=total_rows(counts), rows_done=0,
    )


def purge_retry(*, run_id: int, actor) -> ErasureRun:
    """The data protection officer retries a failed purge: it goes back to the queue now and
    resumes where the failed run stopped (what was erased is not erased twice)."""
    require_permission(actor, "retention.retry_erasurerun", what=_("mengulang penghapusan"), system_allowed=False)
    with transaction.atomic():
        failed = ErasureRun.objects.select_for_update().get(pk=run_id)
        if failed.state != ErasureRun.State.FAILED or failed.kind != ErasureRun.Kind.MERCHANT_PURGE:
            raise RetentionError(_("Hanya penghapusan merchant yang gagal yang dapat diulang."))
        schedule = PurgeSchedule.objects.select_for_update().get(merchant_id=failed.merchant_ref)
        if schedule.state not in (PurgeSchedule.State.FAILED, PurgeSchedule.State.SCHEDULED):
            raise RetentionError(_("Penghapusan merchant ini tidak dalam keadaan gagal."))
        retry = ErasureRun.objects.create(
            kind=failed.kind, merchant_id=failed.merchant_id, merchant_ref=failed.merchant_ref, rule=failed.rule,
            subject_hashes=failed.subject_hashes, state=ErasureRun.State.PENDING, requested_by=actor,
            retry_of=failed,
        )
        # Straight to purging: it was due and warned when it failed; the run re-checks holds and
        # reactivation before every batch.
        schedule.state = PurgeSchedule.State.PURGING
        schedule.save(update_fields=["state", "updated_at"])
        enqueue_on_commit(PURGE_TASK, schedule.pk)
    return retry
