"""The erasure of one data subject (a deletion request), sparing what a legal hold keeps."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from merchants.models import Merchant

from ..engine import Erasure, Scope, total_rows
from ..exceptions import ErasureBlocked, RetentionError
from ..models import ErasureRun
from ..pseudonyms import pseudonym
from ..selectors import held_merchant_ids, hold_reason, holds_for_subject, subject_records
from .runs import ClaimLost, RunClaim, run_erasure, run_fail


def subject_erase(
    *, email: str | None = None, phone: str | None = None, merchant_id: int | None = None, actor=None,
    dry_run: bool = False,
) -> ErasureRun:
    """Erase one data subject's records through the engine, sparing what a hold keeps.

    A hold on the subject refuses the whole erasure; a hold on a merchant keeps that
    merchant's records, and the run says so.
    """
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
    held = held_merchant_ids()
    scope = Scope.subject(email=scope.email, phone=scope.phone, merchant_id=merchant_id, exclude_merchants=held)
    note = _kept_by_holds(scope, held, merchant_id=merchant_id)
    hashes = {k: pseudonym(v, kind=k) for k, v in (("email", scope.email), ("phone", scope.phone)) if v}
    planned = Erasure(scope).count()
    now = timezone.now()
    run = ErasureRun.objects.create(
        kind=ErasureRun.Kind.SUBJECT_ERASURE, merchant_id=merchant_id, merchant_ref=merchant_id,
        subject_hashes=hashes, dry_run=dry_run, requested_by=actor, rows_total=total_rows(planned),
        state=ErasureRun.State.COMPLETED if dry_run else ErasureRun.State.PENDING,
        counts=planned if dry_run else {}, stop_reason=note if dry_run else "",
        started_at=now if dry_run else None, finished_at=now if dry_run else None,
    )
    if dry_run:
        return run
    claim = RunClaim.take(run.pk, seen_attempts=0)

    def should_proceed() -> str | None:
        # A hold placed on the subject while her erasure runs stops it at the next batch.
        placed = holds_for_subject(email=scope.email, phone=scope.phone).first()
        return hold_reason(placed) if placed else None

    try:
        result = run_erasure(claim, Erasure(scope, should_proceed=should_proceed), remaining=total_rows(planned))
        if result.completed:
            claim.finish(note=note)
        else:
            claim.stop(result.stopped_reason)
    except ClaimLost:
        pass  # taken over by the stalled-work sweep (this process was too slow): it records the end
    except Exception as exc:
        run_fail(claim, exc)
        raise
    run.refresh_from_db()
    return run


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
