"""The life of a run record, written once for every long job: purge, subject erasure, expiry,
and the request executions of the requests app.

Safety design
- A run is worked by the one worker that holds its claim: a random token and a lease, taken
  with a conditional UPDATE (the run is pending or running, and unclaimed or its lease ran
  out). A dead worker's lease runs out; the stalled-work sweep queues the run again and the
  next worker takes it over, resuming where the counts say it stopped.
- Every write of a worker is fenced by its token: progress is written inside each batch's
  transaction after locking the run row with the token in the WHERE clause, and the batch
  rolls back when the token is gone (`ClaimLost`). A worker that lost its claim writes nothing
  more: no counts, no "stopped", no "failed".
- Counts are added to what the database holds, under that row lock, never written from a
  process's memory; `rows_total` is what is done plus what a dry run finds left, computed at
  every (re)start, so the totals are right whoever resumes.
- Life: take (running, attempts + 1) -> record per batch -> finish (completed) | stop (with a
  reason: a hold, a reactivation) | fail (a real error, for a person to retry) | release (the
  time budget ran out or the database went away: still running, unclaimed, to be resumed).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..engine import Counts, merge_counts
from ..models import ErasureRun
from .common import TRANSIENT_DB_ERRORS


logger = logging.getLogger(__name__)


class ClaimLost(Exception):
    """Another worker holds the run now: this one must write nothing more."""


class TimeBudgetReached(Exception):
    """The run used its time budget: save, give the claim back, queue again."""


OPEN = (ErasureRun.State.PENDING, ErasureRun.State.RUNNING)
# A run that has been taken this many times, each ended by a passing error, is failed instead of
# tried again: an error that keeps coming back is not passing, and a person must see it.
MAX_ATTEMPTS = 20


def describe(exc: BaseException) -> str:
    """An error for the run record: its kind and first line, never the database's DETAIL lines,
    which quote row content."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}"[:500]


@dataclass
class RunClaim:
    run_id: int
    token: str
    lease: timedelta
    budget: float | None = None
    attempts: int = 0
    started: float = field(default_factory=time.monotonic)
    batches: int = 0  # recorded under this claim: the budget never stops a claim before its first

    @classmethod
    def take(
        cls, run_id: int, *, lease: timedelta | None = None, budget: float | None = None,
        seen_attempts: int | None = None,
    ) -> RunClaim | None:
        """Claim an open run that no live worker holds; None if another worker holds it.

        `seen_attempts`: the attempts the caller read with the run; the claim then also requires
        them unchanged (nobody took the run in between) and saves reading them back.
        """
        lease = lease or timedelta(seconds=settings.PURGE_LEASE_SECONDS)
        token = uuid.uuid4().hex
        now = timezone.now()
        candidates = ErasureRun.objects.filter(pk=run_id, state__in=OPEN)
        if seen_attempts is not None:
            candidates = candidates.filter(attempts=seen_attempts)
        taken = (
            candidates.filter(Q(claimed_by="") | Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .update(
                state=ErasureRun.State.RUNNING, claimed_by=token, lease_until=now + lease,
                started_at=Coalesce(F("started_at"), now), heartbeat_at=now, attempts=F("attempts") + 1,
                finished_at=None,
            )
        )
        if not taken:
            return None
        if seen_attempts is not None:
            attempts = seen_attempts + 1
        else:
            attempts = ErasureRun.objects.filter(pk=run_id).values_list("attempts", flat=True).get()
        return cls(run_id=run_id, token=token, lease=lease, budget=budget, attempts=attempts)

    @property
    def worn_out(self) -> bool:
        return self.attempts >= MAX_ATTEMPTS

    # -- while it runs ------------------------------------------------------------------

    def out_of_time(self) -> bool:
        """The budget is used up (after at least one batch, so that every claim makes progress)."""
        return self.budget is not None and self.batches > 0 and time.monotonic() - self.started >= self.budget

    def check(self) -> None:
        """Before a batch: raise if the time budget is used up. (A lost claim needs no query here:
        the batch's own record() refuses it and the batch rolls back.)"""
        if self.out_of_time():
            raise TimeBudgetReached

    def set_remaining(self, rows: int) -> None:
        self._fenced(rows_total=F("rows_done") + rows)

    def record(self, counts: Counts, rows: int) -> None:
        """Inside a batch's transaction: add the batch to the run, renew the lease, or refuse."""
        # Only the counts are read (under the lock): not the whole row with its seal, every batch.
        locked = (
            ErasureRun.objects.select_for_update().filter(pk=self.run_id, claimed_by=self.token)
            .values_list("counts", flat=True).first()
        )
        if locked is None:
            raise ClaimLost
        now = timezone.now()
        ErasureRun.objects.filter(pk=self.run_id).update(
            counts=merge_counts(locked, counts), rows_done=F("rows_done") + rows,
            heartbeat_at=now, lease_until=now + self.lease,
        )
        self.batches += 1

    # -- how it ends --------------------------------------------------------------------

    def finish(self, *, note: str = "") -> None:
        self._fenced(
            state=ErasureRun.State.COMPLETED, finished_at=timezone.now(), stop_reason=note, error="",
            claimed_by="", lease_until=None, rows_total=F("rows_done"), sealed_scope="",
        )

    def stop(self, reason: str) -> None:
        self._fenced(
            state=ErasureRun.State.STOPPED, finished_at=timezone.now(), stop_reason=reason, claimed_by="",
            lease_until=None,
        )

    def fail(self, error: str) -> None:
        self._fenced(
            state=ErasureRun.State.FAILED, finished_at=timezone.now(), error=error[:4000], claimed_by="",
            lease_until=None,
        )

    def release(self) -> None:
        """Give the claim back, still running: the next worker resumes at once (lease run out)."""
        self._fenced(claimed_by="", lease_until=timezone.now())

    def _fenced(self, **fields) -> None:
        if not ErasureRun.objects.filter(pk=self.run_id, claimed_by=self.token).update(**fields):
            raise ClaimLost


def end_unheld_runs(runs, reason: str, *, failed: bool = False) -> int:
    """End open runs that no live worker holds and whose work must not go on: stopped with
    `reason` (the merchant came back, a hold now covers it), or failed (`failed`: nobody can
    resume it), so that none stays running for ever. Runs a live worker holds are left to it:
    it stops them itself at its next batch."""
    ended = 0
    for run_id in runs.filter(state__in=OPEN, dry_run=False).values_list("pk", flat=True):
        claim = RunClaim.take(run_id)
        if claim is None:
            continue
        if run_fail(claim, reason) if failed else _stopped(claim, reason):
            ended += 1
    return ended


def _stopped(claim: RunClaim, reason: str) -> bool:
    try:
        claim.stop(reason)
    except ClaimLost:
        return False
    return True


def run_fail(claim: RunClaim, error: BaseException | str, *, also: Callable[[], None] | None = None) -> bool:
    """Record a real error on the run, for a person to see and retry, with `also()` (the caller's
    own state, e.g. the schedule) in the same transaction. False when the run is another
    worker's now: its failure is not this one's to record."""
    if isinstance(error, BaseException):
        logger.error("run %s failed: %s", claim.run_id, describe(error), exc_info=error)
        error = describe(error)
    _drop_dead_connection()
    try:
        with transaction.atomic():
            claim.fail(error)
            if also is not None:
                also()
    except ClaimLost:
        return False
    return True


def run_release_after_error(claim: RunClaim) -> None:
    """Give the claim back after a passing database error, for the task's retry to resume."""
    _drop_dead_connection()
    try:
        claim.release()
    except (ClaimLost, *TRANSIENT_DB_ERRORS):
        logger.warning("run %s: claim not released after a database error; its lease will run out", claim.run_id)


def _drop_dead_connection() -> None:
    # The error may be the server ending the connection; Django keeps the dead one until the
    # task ends, so drop it here, or the next write fails too.
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


# A run's first attempt counts what it has left (for its progress, `rows_total`) only once it has
# run this long: most purges of small shops are over before that and never pay for the count; every
# finished run's total is exact (finish() sets it to what was done), and a resumed run counts at once.
ESTIMATE_AFTER_SECONDS = 1.0


def run_erasure(claim: RunClaim, engine, *, remaining: int | Callable[[], int], on_progress=None):
    """Run `engine` under `claim`: total set, every batch recorded and fenced, the budget kept.

    `remaining` is what is left to do, or a function that counts it (the dry run), called at once
    on a resumed run and after ESTIMATE_AFTER_SECONDS on a first one.
    Returns the engine's Result; raises ClaimLost, TimeBudgetReached or the engine's error.
    Ending the run (finish, stop, fail, release) is the caller's, which knows what it means.
    """
    count = remaining if callable(remaining) else (lambda: remaining)
    deferred = callable(remaining) and claim.attempts == 1
    if not deferred:
        claim.set_remaining(count())
    asked = engine.should_proceed

    def should_proceed():
        nonlocal deferred
        claim.check()
        if deferred and time.monotonic() - claim.started >= ESTIMATE_AFTER_SECONDS:
            deferred = False
            claim.set_remaining(count())  # between two batches: done + left is the whole
        return asked()

    def on_batch(counts, rows):
        claim.record(counts, rows)
        if on_progress is not None:
            on_progress(rows)

    engine.should_proceed, engine.on_batch = should_proceed, on_batch
    return engine.run()
