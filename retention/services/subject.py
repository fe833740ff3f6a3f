"""The erasure of one data subject (a deletion request), sparing what a legal hold keeps.

Safety design
- Two halves: `subject_erasure_start` checks and records the run (pending, her identifiers
  sealed, the planned counts); `subject_erasure_continue` claims it and runs the engine. The
  caller of both (`subject_erase`, or the requests app's execution, which records the run's id
  in the same transaction as its start) always knows which run is hers.
- Resumable by the plan: the erasure reaches her requests (their addresses become keyed hashes)
  before it is over, so what is left could not be found again from anything but the run. The run
  keeps her identifiers sealed (retention/seal.py) until it completes; a killed worker's run is
  queued again by the stalled-work sweep (`retention.subject_erasure_continue`), which opens the
  seal and lets the engine finish (it touches only rows that still need it: nothing twice). A
  passing database error or the task's soft time limit gives the claim back (still running, for
  the retry or the sweep), as a purge does; only a real error fails the run.
- Her completed erasure empties every seal of her earlier runs that failed or stopped: nothing of
  her stays sealed once she is erased.
- Every (re)start checks the holds again: a hold placed on her stops the run; a merchant under
  a hold keeps its records, and the run says so.
- A failed or stopped run is retried as a new run (`retry_of`), which takes over the seal; a run
  is retried once (its retry is the one to retry next: `latest_retry`).
"""

from __future__ import annotations

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from junoprivacy.celery import enqueue_on_commit
from merchants.models import Merchant

from ..engine import Erasure, Scope, total_rows
from ..exceptions import ErasureBlocked, RetentionError
from ..models import ErasureRun
from ..pseudonyms import pseudonym
from ..seal import SealBroken, seal, unseal
from ..selectors import held_merchant_ids, hold_reason, holds_for_subject, subject_records
from .common import TRANSIENT_DB_ERRORS, require_permission
from .runs import ClaimLost, RunClaim, TimeBudgetReached, run_erasure, run_fail, run_release_after_error

SUBJECT_TASK = "retention.subject_erasure_continue"
RETRYABLE = (ErasureRun.State.FAILED, ErasureRun.State.STOPPED)


def subject_erase(
    *, email: str | None = None, phone: str | None = None, merchant_id: int | None = None, actor=None,
    dry_run: bool = False,
) -> ErasureRun:
    """Erase one data subject's records through the engine, sparing what a hold keeps, now.

    A hold on the subject refuses the whole erasure; a hold on a merchant keeps that merchant's
    records, and the run says so. `dry_run`: the counts alone, recorded as a dry-run record.
    """
    run = subject_erasure_start(email=email, phone=phone, merchant_id=merchant_id, actor=actor, dry_run=dry_run)
    if not dry_run:
        subject_erasure_continue(run_id=run.pk, seen_attempts=0)
        run.refresh_from_db()
    return run


def subject_erasure_start(
    *, email: str | None = None, phone: str | None = None, merchant_id: int | None = None, actor=None,
    dry_run: bool = False, retry_of: ErasureRun | None = None,
) -> ErasureRun:
    """Check and record a subject erasure (pending, identifiers sealed), or make its dry run."""
    try:
        scope = Scope.subject(email=email, phone=phone, merchant_id=merchant_id)
    except ValueError:
        raise RetentionError(_("Masukkan e-mail atau nomor telepon yang valid.")) from None
    hold = holds_for_subject(email=scope.email, phone=scope.phone).first()
    if hold is not None:
        raise ErasureBlocked(hold_reason(hold))
    owned = _active_merchants_owned_by(scope, merchant_id=merchant_id)
    if owned:
        # Erasing an owner anonymises the merchant account itself (the tombstone): that is the
        # purge of a merchant that stopped using JUNOPOS, not something to do to a live shop.
        raise RetentionError(
            _("Subjek ini pemilik merchant aktif (%(ids)s): akun usaha dihapus melalui penghentian langganan.")
            % {"ids": ", ".join(str(pk) for pk in owned)}
        )
    scope, note = _scope_sparing_holds(scope)
    hashes = {k: pseudonym(v, kind=k) for k, v in (("email", scope.email), ("phone", scope.phone)) if v}
    planned = Erasure(scope).count()
    now = timezone.now()
    return ErasureRun.objects.create(
        kind=ErasureRun.Kind.SUBJECT_ERASURE, merchant_id=merchant_id, merchant_ref=merchant_id,
        subject_hashes=hashes, dry_run=dry_run, requested_by=actor, rows_total=total_rows(planned), retry_of=retry_of,
        state=ErasureRun.State.COMPLETED if dry_run else ErasureRun.State.PENDING,
        counts=planned if dry_run else {}, stop_reason=note if dry_run else "",
        started_at=now if dry_run else None, finished_at=now if dry_run else None,
        sealed_scope="" if dry_run else seal({"email": scope.email, "phone": scope.phone, "merchant": merchant_id}),
    )


def subject_erasure_continue(*, run_id: int, seen_attempts: int | None = None) -> ErasureRun | None:
    """Claim an open subject erasure and run it to its end (first run, or a killed worker's).

    None when another worker holds it. Its end is recorded on the run: completed (the seal
    emptied), stopped (a hold placed on her), or failed (a real error, raised after recording).
    """
    claim = RunClaim.take(run_id, seen_attempts=seen_attempts)
    if claim is None:
        return None
    run = ErasureRun.objects.get(pk=run_id)
    try:
        sealed = unseal(run.sealed_scope)
    except SealBroken:
        run_fail(claim, _("Pengenal subjek yang tersegel tidak dapat dibuka (kuncinya diganti?): jalankan "
                          "penghapusan subjek lagi dengan alamatnya."))
        run.refresh_from_db()
        return run
    scope = Scope.subject(email=sealed["email"], phone=sealed["phone"], merchant_id=sealed["merchant"])
    placed = holds_for_subject(email=scope.email, phone=scope.phone).first()
    if placed is not None:
        claim.stop(hold_reason(placed))
        run.refresh_from_db()
        return run
    scope, note = _scope_sparing_holds(scope)

    def should_proceed() -> str | None:
        # A hold placed on the subject while her erasure runs stops it at the next batch.
        placed = holds_for_subject(email=scope.email, phone=scope.phone).first()
        return hold_reason(placed) if placed else None

    # The first attempt was counted by its start; a resumed one counts what is left.
    remaining = run.rows_total if claim.attempts == 1 else (lambda: total_rows(Erasure(scope).count()))
    try:
        result = run_erasure(claim, Erasure(scope, should_proceed=should_proceed), remaining=remaining)
        with transaction.atomic():
            if result.completed:
                claim.finish(note=note)
                _forget_earlier_seals(run)
            else:
                claim.stop(result.stopped_reason)
    except ClaimLost:
        pass  # taken over by the stalled-work sweep (this process was too slow): it records the end
    except (TimeBudgetReached, SoftTimeLimitExceeded):
        claim.release()
    except TRANSIENT_DB_ERRORS as exc:
        if not claim.worn_out:
            run_release_after_error(claim)
            raise
        run_fail(claim, exc)  # it keeps coming back: a person must look
    except Exception as exc:
        run_fail(claim, exc)
        raise
    run.refresh_from_db()
    return run


def _forget_earlier_seals(run: ErasureRun) -> None:
    """Her erasure is complete: the seals of her earlier runs that failed or stopped go too."""
    ErasureRun.objects.filter(
        kind=ErasureRun.Kind.SUBJECT_ERASURE, state__in=RETRYABLE, subject_hashes=run.subject_hashes,
        merchant_ref=run.merchant_ref,
    ).exclude(sealed_scope="").update(sealed_scope="")


def latest_retry(run: ErasureRun) -> ErasureRun:
    """The newest run in `run`'s chain of retries (itself when it was never retried)."""
    while (newer := ErasureRun.objects.filter(retry_of=run).order_by("-pk").first()) is not None:
        run = newer
    return run


def subject_erasure_retry(*, run_id: int, actor) -> ErasureRun:
    """The data protection officer retries a failed or stopped subject erasure: a new run from the
    old one's sealed identifiers (holds checked again), queued at once."""
    require_permission(actor, "retention.retry_erasurerun", what=_("mengulang penghapusan"), system_allowed=False)
    run = subject_erasure_restart(run_id=run_id, actor=actor)
    enqueue_on_commit(SUBJECT_TASK, run.pk)
    return run


def subject_erasure_restart(*, run_id: int, actor) -> ErasureRun:
    """A new run for a failed or stopped subject erasure, taking over its seal: a person's decision
    (`actor` required; the caller checks the permission its own workflow asks: the DPO's retry
    here, the execute permission in a request's execution). Raises ErasureBlocked while a hold
    covers her, RetentionError when the run was retried already (retry the newest)."""
    if actor is None:
        raise RetentionError(_("Penghapusan yang gagal diulang oleh petugas, bukan otomatis."))
    with transaction.atomic():
        old = ErasureRun.objects.select_for_update().get(pk=run_id)
        if old.kind != ErasureRun.Kind.SUBJECT_ERASURE or old.state not in RETRYABLE or old.dry_run:
            raise RetentionError(_("Hanya penghapusan subjek yang gagal atau dihentikan yang dapat diulang."))
        retried = ErasureRun.objects.filter(retry_of=old).order_by("-pk").first()
        if retried is not None:
            raise RetentionError(_("Penghapusan #%(old)s sudah diulang sebagai #%(new)s.") % {
                "old": old.pk, "new": retried.pk})
        try:
            sealed = unseal(old.sealed_scope)
        except SealBroken:
            raise RetentionError(_("Pengenal subjek penghapusan ini tidak tersimpan lagi: jalankan penghapusan subjek "
                                   "lagi dengan alamatnya.")) from None
        run = subject_erasure_start(
            email=sealed["email"], phone=sealed["phone"], merchant_id=sealed["merchant"], actor=actor, retry_of=old,
        )
        ErasureRun.objects.filter(pk=old.pk).update(sealed_scope="")
    return run


def _scope_sparing_holds(scope: Scope) -> tuple[Scope, str]:
    """The scope without the merchants a legal hold covers, and the note that says which."""
    held = held_merchant_ids()
    spared = Scope.subject(email=scope.email, phone=scope.phone, merchant_id=scope.merchant_id, exclude_merchants=held)
    return spared, _kept_by_holds(spared, held, merchant_id=scope.merchant_id)


def _kept_by_holds(scope: Scope, held: set[int], *, merchant_id: int | None) -> str:
    if not held:
        return ""
    found = subject_records(email=scope.email, phone=scope.phone, merchant_id=merchant_id).merchants
    kept = sorted(m.merchant_id for m in found if m.merchant_id in held)
    if not kept:
        return ""
    return _("Data di merchant %(ids)s disimpan karena penahanan hukum.") % {"ids": ", ".join(map(str, kept))}


def _active_merchants_owned_by(scope: Scope, *, merchant_id: int | None) -> list[int]:
    condition = Q()
    if scope.email:
        condition |= Q(owner_email__iexact=scope.email)
    if scope.phone:
        condition |= Q(owner_phone_e164=scope.phone)
    owned = Merchant.objects.filter(condition, churned_at__isnull=True)
    if merchant_id is not None:
        owned = owned.filter(pk=merchant_id)
    return sorted(owned.values_list("pk", flat=True))
