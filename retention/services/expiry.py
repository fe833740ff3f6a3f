"""The end of a kept record's own period, as its rule says, per rule in one run.

- `retention_expire`: a purged merchant's kept records (ten years of tax) are deleted.
- `records_expire`: the records of no merchant, the portal's own requests, two years after a
  request closed: the request and its events are kept anonymised (the audit chain's keyed
  hashes stay, so it still verifies), its codes and attachments deleted, its messages'
  addresses hashed and their text removed.

Safety design (the engine's own is in retention.engine, the run's in .runs)
- One open run per scope and rule (a merchant and a rule; or a rule alone for the records of
  no merchant: unique constraints on open runs), claimed by one worker at a time (RunClaim),
  every batch fenced by the claim; a resumed run goes on in the same record.
- A hold stops it: on the merchant (its expiry waits, and a run left open is stopped); on a
  subject (her request records are left out of the scope, and a hold placed while the run
  goes stops it at the next batch, for the next plan to leave her out).
- A run that uses its time budget (or Celery's soft time limit) is left running and
  unclaimed, and its task queues it again; a passing database error is retried by the task;
  only a real error (or one that keeps coming back) marks the run failed. The daily plan
  starts a new run the next day for whatever is left.
- Records of no merchant are only ever anonymised: their rule must say so. Deleting a
  request's events would break the audit chain they are anchored in, so a rule saying
  "delete" there is not executed (the plan logs it) until that has a design of its own.
"""

from __future__ import annotations

import logging
from datetime import datetime

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..engine import Erasure, Scope, total_rows
from ..models import ErasureRun, RetentionRule
from ..registry import DataMap, datamap
from ..selectors import expiring_entries, hold_reason, holds_for_merchant, holds_on_subjects
from .common import TRANSIENT_DB_ERRORS
from .runs import (
    OPEN, ClaimLost, RunClaim, TimeBudgetReached, end_unheld_runs, run_erasure, run_fail, run_release_after_error,
)

logger = logging.getLogger(__name__)

RECORDS_EXPIRE_TASK = "retention.records_expire"


def expiry_cutoffs(*, now: datetime, registry: DataMap = datamap) -> dict[str, datetime]:
    """Rule key -> cutoff, for the rules whose kept rows of merchants end with their own period."""
    keys = {e.retained_under for e in expiring_entries(registry)}
    return {rule.key: rule.cutoff(now=now) for rule in RetentionRule.objects.filter(key__in=keys)}


def retention_expire(
    *, merchant_id: int, now: datetime | None = None, time_budget: float | None = None,
    batch_size: int | None = None,
) -> list[ErasureRun]:
    """Erase a purged merchant's kept records whose own period has ended (e.g. ten years of tax).

    One run per rule, resumed rather than doubled (one open run per merchant and rule); a run
    that fails is marked failed, one that uses its time budget is left running and unclaimed
    for the stalled-work sweep to queue again.
    """
    now = now or timezone.now()
    hold = holds_for_merchant(merchant_id, now=now).first()
    if hold is not None:
        # A run released or orphaned before the hold came must not stay running for ever.
        end_unheld_runs(ErasureRun.objects.filter(kind=ErasureRun.Kind.RETENTION_EXPIRY, merchant_ref=merchant_id),
                       hold_reason(hold))
        return []

    def should_proceed() -> str | None:
        hold = holds_for_merchant(merchant_id).first()
        return hold_reason(hold) if hold else None

    runs = []
    for rule in RetentionRule.objects.filter(key__in=expiry_cutoffs(now=now)).order_by("key"):
        scope = Scope.expiry(merchant_id=merchant_id, rule_key=rule.key, before=rule.cutoff(now=now), action=rule.action)
        run = _expire(scope, rule, should_proceed=should_proceed, time_budget=time_budget, batch_size=batch_size)
        if run is not None:
            runs.append(run)
    return runs


def records_expiry_rules(*, registry: DataMap = datamap) -> list[RetentionRule]:
    """The rules under which records of no merchant are kept, that the engine executes: those
    whose action is to anonymise (see the module's safety design)."""
    keys = {e.retained_under for e in expiring_entries(registry, merchant=False)}
    rules = list(RetentionRule.objects.filter(key__in=keys).order_by("key"))
    for rule in rules:
        if rule.action != RetentionRule.Action.ANONYMISE:
            logger.error("rule %s keeps records of no merchant and says %s: not executed", rule.key, rule.action)
    return [rule for rule in rules if rule.action == RetentionRule.Action.ANONYMISE]


def records_scope(rule: RetentionRule, *, now: datetime) -> tuple[Scope, list[int]]:
    """The rule's expired records of no merchant, without those of subjects a hold names;
    and the holds left out (their ids)."""
    holds = list(holds_on_subjects(now=now).values_list("pk", "subject_email", "subject_phone"))
    scope = Scope.expiry(
        merchant_id=None, rule_key=rule.key, before=rule.cutoff(now=now), action=rule.action,
        exclude_subjects=[(email, phone) for _pk, email, phone in holds],
    )
    return scope, [pk for pk, _email, _phone in holds]


def records_expiry_due(*, now: datetime | None = None) -> list[int]:
    """Ids of the rules whose expired records of no merchant still hold something to erase."""
    now = now or timezone.now()
    return [rule.pk for rule in records_expiry_rules() if Erasure(records_scope(rule, now=now)[0]).has_work()]


def records_expire(
    *, rule_id: int, now: datetime | None = None, time_budget: float | None = None, batch_size: int | None = None,
) -> ErasureRun | None:
    """Erase the records of no merchant whose rule's period has ended (a request's, two years
    after it closed), in one run for the rule, resumed rather than doubled. Returns the run, or
    None when there was nothing to do or another worker holds it. A run returned still running
    (unclaimed) used its time budget: queue it again."""
    now = now or timezone.now()
    rule = next((r for r in records_expiry_rules() if r.pk == rule_id), None)
    if rule is None:
        # Its action was changed (or it was removed) while a run was open: that run must not
        # stay running for ever.
        end_unheld_runs(
            ErasureRun.objects.filter(kind=ErasureRun.Kind.RETENTION_EXPIRY, merchant_ref=None, rule_id=rule_id),
            _("Aturan ini tidak lagi menganonimkan catatan tanpa merchant; penghapusan dihentikan."),
        )
        return None
    scope, left_out = records_scope(rule, now=now)

    def should_proceed() -> str | None:
        # A hold placed on a subject while the run goes: stop, and let the next plan leave her out.
        placed = holds_on_subjects().exclude(pk__in=left_out).first()
        return hold_reason(placed) if placed else None

    return _expire(scope, rule, should_proceed=should_proceed, time_budget=time_budget, batch_size=batch_size)


def _expire(scope: Scope, rule: RetentionRule, *, should_proceed, time_budget, batch_size) -> ErasureRun | None:
    """One rule's expiry in its one open run: opened only when there is something to do."""
    remaining = total_rows(Erasure(scope).count())
    run = _open_run(scope.merchant_id, rule, create=bool(remaining))
    if run is None:
        return None
    budget = settings.ERASURE_TIME_BUDGET_SECONDS if time_budget is None else time_budget
    claim = RunClaim.take(run.pk, budget=budget, seen_attempts=run.attempts)
    if claim is None:
        return None  # a live worker has it
    try:
        engine = Erasure(scope, batch_size=batch_size, should_proceed=should_proceed)
        result = run_erasure(claim, engine, remaining=remaining)
        claim.finish() if result.completed else claim.stop(result.stopped_reason)
    except ClaimLost:
        return None
    except (TimeBudgetReached, SoftTimeLimitExceeded):
        claim.release()
    except TRANSIENT_DB_ERRORS as exc:
        if claim.worn_out:
            run_fail(claim, exc)  # it keeps coming back: a person must look
            return None
        run_release_after_error(claim)  # the task's retry resumes it
        raise
    except Exception as exc:
        run_fail(claim, exc)
        raise
    return ErasureRun.objects.get(pk=run.pk)


def _open_run(merchant_id: int | None, rule: RetentionRule, *, create: bool) -> ErasureRun | None:
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
