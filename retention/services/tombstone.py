"""The end of a purged merchant's tombstone (rule `merchant-tombstone`): the last of it goes.

Which record outlives which (LAW.md: erasure records, the portal's own proof, 10 years, counts
per table and action, never content, the merchant as a tombstone; tax records 10 years from
the end of their financial year):
- The tax records (sales, lines, payments) end first or the tombstone waits for them: they
  point at the merchant and its outlets. They are deleted by their own expiry (.expiry) on
  1 January of the eleventh year after their year; the tombstone's ten years run from the
  purge's completion (PurgeSchedule.purged_at), which came after the last sale, so for a
  merchant that sold until it churned the tombstone is due first (ten years of 365 days
  from the purge end before the tenth financial year after that sale does) and waits for the
  tax expiry. Only a merchant whose last sale was long before its purge, or that never sold,
  loses its tombstone on the tombstone's own date. The plan does not queue a merchant that
  still has dated kept rows; the dry run says until when it waits.
- When the tombstone's period ends, the rows of the merchant kept under a rule that deletes
  (the tombstone row, its outlets, kept with the sales that are now gone, the messages that
  prove its warnings and other notices: message proof goes with the erasure record it proves,
  ended holds that named it), its purge warnings, churn events and schedule, and its erasure
  records whose own ten years have ended (the purge's: it finished when the tombstone's
  period began) are deleted. A request a customer made about the shop (a record of no
  merchant) keeps its own rule, its link to the shop cleared, as a message a request carries.
- Rows of the merchant kept under a rule that keeps them anonymised (the consent ledger, the
  proof of consent: "as long as the processing it allowed, and the dispute period") are not
  the tombstone's to end. Those that point at the merchant through a foreign key the database
  enforces make the tombstone wait (the dry run names the table); consent's do not: its proof
  keeps the merchant's id without a constraint (consent/models.py) and outlives the row.
- The erasure proof outlives the tombstone: the erasure records still within their own ten
  years (the tax expiries, finished after the purge) stay, their link to the merchant row
  cleared (merchant_ref keeps the id), and the deletion itself leaves one run record (kind
  retention_expiry, rule merchant-tombstone, merchant_ref, the keyed hashes of the merchant's
  identifiers the purge kept, counts per table and action, and the purge's date in its note),
  so "was merchant X deleted, when, under which rule" is still answered, by id or by the keyed
  hash of its tax number, for that record's own ten years.

Safety design (the engine's own is in retention.engine, the run's in .runs)
- One open run per merchant and rule (the unique constraint on open runs), claimed by one
  worker (RunClaim), every batch fenced by the claim; a resumed run goes on in the same record
  (the stalled-work sweep queues it again by merchant and rule).
- An active hold naming the merchant stops it before it starts and before every batch; the run
  record says why (once per hold, not once a day).
- Retention's own records go in the batches of the engine's run: warnings and old run records
  in the first (they point at what the engine deletes), the churn events and the schedule in
  the very transaction that deletes the tombstone row, so that until then the plan still finds
  the merchant, and a stopped or failed run is taken up again the next day.
- The dry run counts exactly what the run changes, retention's own records included.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from celery.exceptions import SoftTimeLimitExceeded
from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from merchants.models import Merchant

from ..engine import ANONYMISED, DELETED, Counts, Erasure, Scope, merge_counts, total_rows
from ..models import ChurnEvent, ErasureRun, PurgeSchedule, PurgeWarning, RetentionRule
from ..pseudonyms import is_pseudonym
from ..registry import DataMap, datamap
from ..selectors import expiring_entries, hold_reason, holds_for_merchant
from .common import TRANSIENT_DB_ERRORS
from .runs import OPEN, ClaimLost, RunClaim, TimeBudgetReached, run_erasure, run_fail, run_release_after_error

logger = logging.getLogger(__name__)

TOMBSTONE_RULE = "merchant-tombstone"
TOMBSTONE_TASK = "retention.tombstone_expire"
# Retention's own records the service removes itself (the engine's scope must not keep the
# merchant's rows for them).
OWN = frozenset({"retention.PurgeWarning", "retention.ChurnEvent", "retention.PurgeSchedule", "retention.ErasureRun"})


def tombstone_rule() -> RetentionRule | None:
    return RetentionRule.objects.filter(key=TOMBSTONE_RULE).first()


def tombstones_due(*, now: datetime, registry: DataMap = datamap) -> QuerySet:
    """Purged merchants whose tombstone period ended (counted from the purge's completion) and
    that no longer hold dated kept rows (their tax records are gone). Held ones are included:
    their run says why it does not go on."""
    rules = list(RetentionRule.objects.all())  # one query: the tombstone's rule and those that delete
    rule = next((r for r in rules if r.key == TOMBSTONE_RULE), None)
    if rule is None:
        return PurgeSchedule.objects.none()
    schedules = PurgeSchedule.objects.filter(state=PurgeSchedule.State.PURGED, purged_at__lt=rule.cutoff(now=now))
    for entry in expiring_entries(registry):
        if "__" in entry.dated_by:
            continue  # dated through a parent: goes with it
        schedules = schedules.exclude(Exists(entry.model._default_manager.filter(**{entry.merchant: OuterRef("merchant_id")})))
    deleting = {r.key for r in rules if r.action == RetentionRule.Action.DELETE}
    engine = Erasure(Scope.tombstone(0, delete_rules=deleting, removed_first=OWN), registry=registry)
    for entry in registry:
        if entry.merchant and not engine.tombstone_deletes(entry):
            schedules = schedules.exclude(Exists(entry.model._default_manager.filter(**{entry.merchant: OuterRef("merchant_id")})))
    return schedules.order_by("purged_at")


@dataclass
class Waiting:
    reason: str


def _delete_rules() -> set[str]:
    return set(RetentionRule.objects.filter(action=RetentionRule.Action.DELETE).values_list("key", flat=True))


def _scope(merchant_id: int) -> Scope:
    return Scope.tombstone(merchant_id, delete_rules=_delete_rules(), removed_first=OWN)


def _constrained(entry) -> bool:
    """Whether the table's path to its merchant is a foreign key the database enforces. Proof kept
    for its own period without one (the consent ledger, disclosures) keeps the merchant's id and
    does not hold the tombstone: it outlives the merchant row by design."""
    first = entry.merchant.split("__", 1)[0]
    field = entry.model._meta.get_field(first)
    return bool(getattr(field, "db_constraint", True))


def _why_waiting(merchant_id: int, rule: RetentionRule, *, now: datetime, registry: DataMap = datamap) -> str | None:
    """Why the tombstone cannot go yet, or None: not purged or its period not over, tax records
    still kept (until when), or a table outside the data map still pointing at it."""
    schedule = PurgeSchedule.objects.filter(merchant_id=merchant_id).first()
    if schedule is None or schedule.state != PurgeSchedule.State.PURGED:
        return _("Merchant belum dihapus (purge); nisannya belum berjalan.")
    if schedule.purged_at >= rule.cutoff(now=now):
        return _("Masa nisan belum berakhir: berakhir %(date)s.") % {
            "date": timezone.localtime(schedule.purged_at + rule.period_delta).strftime("%Y-%m-%d")
        }
    for entry in expiring_entries(registry):
        if "__" in entry.dated_by:
            continue
        last = entry.model._default_manager.filter(**{entry.merchant: merchant_id}).aggregate(last=Max(entry.dated_by))["last"]
        if last is not None:
            kept = RetentionRule.objects.filter(key=entry.retained_under).first()
            until = _kept_until(kept, last) if kept else None
            return _("Menunggu catatan yang masih disimpan (%(table)s, aturan %(rule)s) sampai %(date)s.") % {
                "table": entry.db_table, "rule": entry.retained_under, "date": until or "?",
            }
    engine = Erasure(_scope(merchant_id), registry=registry)
    for entry in registry:
        if entry.merchant and not engine.tombstone_deletes(entry) and _constrained(entry):
            if entry.model._default_manager.filter(**{entry.merchant: merchant_id}).exists():
                return _("Masih dirujuk oleh %(table)s (aturan %(rule)s); nisan menunggu.") % {
                    "table": entry.db_table, "rule": entry.retained_under,
                }
    for model in apps.get_models(include_auto_created=True):
        if model._meta.label in OWN or registry.get(model) is not None:
            continue
        for f in model._meta.concrete_fields:
            if f.many_to_one and f.related_model is Merchant and f.db_constraint:
                if model._default_manager.filter(**{f.name: merchant_id}).exists():
                    return _("Masih dirujuk oleh %(table)s; nisan menunggu.") % {"table": model._meta.db_table}
    return None


def _kept_until(rule: RetentionRule, last: datetime) -> str:
    """The first day on which a row dated `last` has outlived `rule` (its cutoff passes it)."""
    local = timezone.localtime(last)
    if rule.from_end_of_financial_year and rule.unit == RetentionRule.Unit.YEARS:
        return f"{local.year + rule.period + 1}-01-01"
    return (local + rule.period_delta).strftime("%Y-%m-%d")


# -- what retention removes itself ---------------------------------------------------------------


def _old_runs(merchant_id: int, cutoff: datetime, *, exclude: int | None = None) -> QuerySet:
    """The merchant's erasure records whose own period (the tombstone rule's) has ended."""
    runs = ErasureRun.objects.filter(merchant_ref=merchant_id, finished_at__lt=cutoff).exclude(state__in=OPEN)
    return runs.exclude(pk=exclude) if exclude else runs


def _linked_runs(merchant_id: int, cutoff: datetime, *, exclude: int | None = None) -> QuerySet:
    """The merchant's erasure records still within their period that point at the tombstone row."""
    runs = ErasureRun.objects.filter(merchant_id=merchant_id).exclude(pk__in=_old_runs(merchant_id, cutoff).values("pk"))
    return runs.exclude(pk=exclude) if exclude else runs


def _first_counts(merchant_id: int, cutoff: datetime, *, exclude: int | None = None) -> Counts:
    counts: Counts = {}
    for table, action, n in (
        (PurgeWarning._meta.db_table, DELETED, PurgeWarning.objects.filter(schedule__merchant_id=merchant_id).count()),
        (ErasureRun._meta.db_table, DELETED, _old_runs(merchant_id, cutoff, exclude=exclude).count()),
        (ErasureRun._meta.db_table, ANONYMISED, _linked_runs(merchant_id, cutoff, exclude=exclude).count()),
    ):
        if n:
            merge_counts(counts, {table: {action: n}})
    return counts


def _last_counts(merchant_id: int) -> Counts:
    counts: Counts = {}
    for model in (ChurnEvent, PurgeSchedule):
        n = model.objects.filter(merchant_id=merchant_id).count()
        if n:
            counts[model._meta.db_table] = {DELETED: n}
    return counts


def _remove_first(merchant_id: int, cutoff: datetime, run_id: int) -> Counts:
    """Warnings (they point at the messages the engine deletes) and run records: deleted when
    their period ended, else unlinked from the tombstone row."""
    counts = _first_counts(merchant_id, cutoff, exclude=run_id)
    PurgeWarning.objects.filter(schedule__merchant_id=merchant_id).delete()
    old = _old_runs(merchant_id, cutoff, exclude=run_id)
    ErasureRun.objects.filter(retry_of__in=old.values("pk")).update(retry_of=None)
    _linked_runs(merchant_id, cutoff, exclude=run_id).update(merchant=None)
    ErasureRun.objects.filter(pk__in=list(old.values_list("pk", flat=True))).delete()
    return counts


class _TombstoneClaim(RunClaim):
    """The run's claim, which removes retention's own records in the engine's batches."""

    merchant_id: int = 0
    cutoff: datetime | None = None
    first_done: bool = False

    def record(self, counts: Counts, rows: int) -> None:
        counts = {table: dict(actions) for table, actions in counts.items()}
        extra: Counts = {}
        if not self.first_done:
            extra = _remove_first(self.merchant_id, self.cutoff, self.run_id)
        if counts.get(Merchant._meta.db_table, {}).get(DELETED):
            merge_counts(extra, _last_counts(self.merchant_id))
            ChurnEvent.objects.filter(merchant_id=self.merchant_id).delete()
            PurgeSchedule.objects.filter(merchant_id=self.merchant_id).delete()
        super().record(merge_counts(counts, extra), rows + total_rows(extra))
        self.first_done = True  # only once the batch is recorded (a refused batch rolls it back)


def tombstone_counts(merchant_id: int, *, now: datetime) -> Counts:
    """What the run would change: the engine's dry run and retention's own records."""
    rule = tombstone_rule()
    counts = Erasure(_scope(merchant_id)).count()
    merge_counts(counts, _first_counts(merchant_id, rule.cutoff(now=now)))
    return merge_counts(counts, _last_counts(merchant_id))


def tombstone_expire_dry_run(*, merchant_id: int, now: datetime | None = None, actor=None) -> ErasureRun:
    """The counts the tombstone's deletion would produce, recorded (with why it waits, if it
    does), nothing changed. The record names the merchant only by merchant_ref."""
    now = now or timezone.now()
    rule = tombstone_rule()
    waiting = _why_waiting(merchant_id, rule, now=now)
    hold = holds_for_merchant(merchant_id, now=now).first()
    counts = tombstone_counts(merchant_id, now=now)
    return ErasureRun.objects.create(
        kind=ErasureRun.Kind.RETENTION_EXPIRY, merchant_ref=merchant_id, rule=rule, dry_run=True,
        state=ErasureRun.State.COMPLETED, requested_by=actor, started_at=now, finished_at=now, counts=counts,
        rows_total=total_rows(counts), stop_reason=hold_reason(hold) if hold else (waiting or ""),
    )


def _pseudonyms(merchant_id: int) -> dict[str, str]:
    """The keyed hashes the purge kept ("was X deleted?" by tax number, name, owner address)."""
    purge = (
        ErasureRun.objects.filter(kind=ErasureRun.Kind.MERCHANT_PURGE, merchant_ref=merchant_id, dry_run=False)
        .exclude(subject_hashes={}).order_by("-finished_at").first()
    )
    if purge is not None:
        return dict(purge.subject_hashes)
    row = Merchant.objects.filter(pk=merchant_id).values("business_name", "tax_number", "owner_email").first() or {}
    return {k: v for k, v in row.items() if v and is_pseudonym(v)}


def _open_run(merchant_id: int, rule: RetentionRule, *, create: bool) -> ErasureRun | None:
    runs = ErasureRun.objects.filter(
        kind=ErasureRun.Kind.RETENTION_EXPIRY, merchant_ref=merchant_id, rule=rule, dry_run=False, state__in=OPEN
    )
    run = runs.first()
    if run is not None or not create:
        return run
    try:
        with transaction.atomic():
            return ErasureRun.objects.create(
                kind=ErasureRun.Kind.RETENTION_EXPIRY, merchant_ref=merchant_id, rule=rule,
                subject_hashes=_pseudonyms(merchant_id), state=ErasureRun.State.PENDING,
            )
    except IntegrityError:
        return runs.first()  # another worker opened it a moment ago


def _record_held(merchant_id: int, rule: RetentionRule, reason: str) -> ErasureRun:
    """A held merchant's tombstone: its open run stopped, or a stopped record saying why (once
    per hold: the daily plan asks again every day)."""
    open_run = _open_run(merchant_id, rule, create=False)
    if open_run is not None:
        claim = RunClaim.take(open_run.pk)
        if claim is not None:
            try:
                claim.stop(reason)
            except ClaimLost:
                pass
        return ErasureRun.objects.get(pk=open_run.pk)
    last = (
        ErasureRun.objects.filter(kind=ErasureRun.Kind.RETENTION_EXPIRY, merchant_ref=merchant_id, rule=rule, dry_run=False)
        .order_by("-created_at").first()
    )
    if last is not None and last.state == ErasureRun.State.STOPPED and last.stop_reason == reason:
        return last
    now = timezone.now()
    return ErasureRun.objects.create(
        kind=ErasureRun.Kind.RETENTION_EXPIRY, merchant_ref=merchant_id, rule=rule, state=ErasureRun.State.STOPPED,
        started_at=now, finished_at=now, stop_reason=reason,
    )


def tombstone_expire(
    *, merchant_id: int, now: datetime | None = None, time_budget: float | None = None,
    batch_size: int | None = None,
) -> ErasureRun | None:
    """Delete the last of a purged merchant whose tombstone period ended (see the module's
    design). Returns the run (stopped with the hold's reason if held; still running, unclaimed,
    if it used its time budget: queue it again), or None: nothing due, still waiting (logged),
    or another worker holds it."""
    now = now or timezone.now()
    rule = tombstone_rule()
    if rule is None or not Merchant.objects.filter(pk=merchant_id).exists() and _open_run(merchant_id, rule, create=False) is None:
        return None
    hold = holds_for_merchant(merchant_id, now=now).first()
    if hold is not None:
        return _record_held(merchant_id, rule, hold_reason(hold))
    run = _open_run(merchant_id, rule, create=False)
    if run is None:  # a run already open was due when it opened: it is resumed, not re-judged
        waiting = _why_waiting(merchant_id, rule, now=now)
        if waiting:
            logger.info("tombstone of merchant %s waits: %s", merchant_id, waiting)
            return None
        run = _open_run(merchant_id, rule, create=True)
    budget = settings.ERASURE_TIME_BUDGET_SECONDS if time_budget is None else time_budget
    claim = _TombstoneClaim.take(run.pk, budget=budget, seen_attempts=run.attempts)
    if claim is None:
        return None
    claim.merchant_id, claim.cutoff = merchant_id, rule.cutoff(now=now)
    scope = _scope(merchant_id)
    # Read now: the schedule goes in the same batch as the tombstone row.
    purged = PurgeSchedule.objects.filter(merchant_id=merchant_id).values_list("purged_at", flat=True).first()

    def should_proceed() -> str | None:
        held = holds_for_merchant(merchant_id).first()
        return hold_reason(held) if held else None

    try:
        engine = Erasure(scope, batch_size=batch_size, should_proceed=should_proceed)
        result = run_erasure(claim, engine, remaining=lambda: total_rows(tombstone_counts(merchant_id, now=now)))
        if result.completed and not claim.first_done:
            # Nothing left for the engine (resumed after its last batch): retention's own records.
            with transaction.atomic():
                claim.record({}, 0)
        if result.completed:
            claim.finish(note=_note(purged))
        else:
            claim.stop(result.stopped_reason)
    except ClaimLost:
        return None
    except (TimeBudgetReached, SoftTimeLimitExceeded):
        claim.release()
    except TRANSIENT_DB_ERRORS as exc:
        if claim.worn_out:
            run_fail(claim, exc)
            return None
        run_release_after_error(claim)
        raise
    except Exception as exc:
        run_fail(claim, exc)
        raise
    return ErasureRun.objects.get(pk=run.pk)


def _note(purged_at: datetime | None) -> str:
    if purged_at is None:
        return ""  # resumed after its last batch: the purge's date went with the schedule
    return _("Nisan merchant dihapus; merchant dihapus (purge) pada %(date)s.") % {
        "date": timezone.localtime(purged_at).strftime("%Y-%m-%d")
    }
