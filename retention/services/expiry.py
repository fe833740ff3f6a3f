"""The end of a kept record's own period: a purged merchant's tax records go after ten years."""

from __future__ import annotations

import logging
from datetime import datetime

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..engine import Erasure, Scope, total_rows
from ..models import ErasureRun, RetentionRule
from ..registry import DataMap, datamap
from ..selectors import expiring_entries, hold_reason, holds_for_merchant
from .common import TRANSIENT_DB_ERRORS
from .runs import (
    OPEN, ClaimLost, RunClaim, TimeBudgetReached, end_unheld_runs, run_erasure, run_fail, run_release_after_error,
)

logger = logging.getLogger(__name__)


def expiry_cutoffs(*, now: datetime, registry: DataMap = datamap) -> dict[str, datetime]:
    keys = {e.retained_under for e in expiring_entries(registry)}
    return {rule.key: rule.cutoff(now=now) for rule in RetentionRule.objects.filter(key__in=keys)}


def retention_expire(*, merchant_id: int, now: datetime | None = None, time_budget: float | None = None) -> list[ErasureRun]:
    """Delete a purged merchant's kept records whose own period has ended (e.g. ten years of tax).

    One run per rule, resumed rather than doubled (one open run per merchant and rule); a run
    that fails is marked failed, one that uses its time budget is left running and unclaimed
    for the stalled-work sweep to queue again.
    """
    now = now or timezone.now()
    runs: list[ErasureRun] = []
    hold = holds_for_merchant(merchant_id, now=now).first()
    if hold is not None:
        # A run released or orphaned before the hold came must not stay running for ever.
        end_unheld_runs(ErasureRun.objects.filter(kind=ErasureRun.Kind.RETENTION_EXPIRY, merchant_ref=merchant_id),
                       hold_reason(hold))
        return runs
    rules = {r.key: r for r in RetentionRule.objects.filter(key__in=expiry_cutoffs(now=now))}

    def should_proceed() -> str | None:
        hold = holds_for_merchant(merchant_id).first()
        return hold_reason(hold) if hold else None

    budget = settings.ERASURE_TIME_BUDGET_SECONDS if time_budget is None else time_budget
    for key, rule in sorted(rules.items()):
        scope = Scope.expiry(merchant_id=merchant_id, rule_key=key, before=rule.cutoff(now=now))
        remaining = total_rows(Erasure(scope).count())
        run = _open_run(merchant_id, rule, create=bool(remaining))
        if run is None:
            continue
        claim = RunClaim.take(run.pk, budget=budget, seen_attempts=run.attempts)
        if claim is None:
            continue  # a live worker has it
        try:
            result = run_erasure(claim, Erasure(scope, should_proceed=should_proceed), remaining=remaining)
            claim.finish() if result.completed else claim.stop(result.stopped_reason)
        except ClaimLost:
            continue
        except (TimeBudgetReached, SoftTimeLimitExceeded):
            claim.release()
        except TRANSIENT_DB_ERRORS as exc:
            if claim.worn_out:
                run_fail(claim, exc)  # it keeps coming back: a person must look
                continue
            run_release_after_error(claim)  # the task's retry resumes it
            raise
        except Exception as exc:
            run_fail(claim, exc)
            raise
        runs.append(ErasureRun.objects.get(pk=run.pk))
    return runs


def _open_run(merchant_id: int, rule: RetentionRule, *, create: bool) -> ErasureRun | None:
    open_runs = ErasureRun.objects.filter(
        kind=ErasureRun.Kind.RETENTION_EXPIRY, merchant_ref=merchant_id, rule=rule, dry_run=False,
        state__in=OPEN,
    )
    run = open_runs.first()
    if run is not None or not create:
        return run
    try:
        with transaction.atomic():
            return ErasureRun.objects.create(
                kind=ErasureRun.Kind.RETENTION_EXPIRY, merchant_id=merchant_id, merchant_ref=merchant_id, rule=rule,
                state=ErasureRun.State.PENDING,
            )
    except IntegrityError:
        return open_runs.first()  # another worker opened it a moment ago
