"""Writes in retention: churn and reactivation, legal holds, purges, subject erasure, expiry.

Every step leaves an explicit record: a churn event, a hold with who placed and lifted it,
an erasure run with its counts. The purge is a long, resumable service: its safety design is
in retention.engine (batches, re-runnable) and in PurgeSchedule (the lease that is its lock).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from merchants.identifiers import normalize_email, normalize_phone
from merchants.models import Merchant

from .engine import Counts, Erasure, Scope, merge_counts, total_rows
from .exceptions import ErasureBlocked, RetentionError
from .models import ChurnEvent, ErasureRun, LegalHold, PurgeSchedule, RetentionRule
from .pseudonyms import is_pseudonym, pseudonym
from .registry import DataMap, datamap
from .selectors import (
    expiring_entries, held_merchant_ids, holds_for_merchant, holds_for_subject, merchants_with_expired_records,
    churn_unscheduled, reactivated_unnoticed, schedules_due, schedules_stalled, subject_records,
)

logger = logging.getLogger(__name__)

CHURN_RULE = "merchant-churn"
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)


def _run_recorder(run: ErasureRun, on_progress=None):
    """The engine's on_batch for `run`: counts, rows done and heartbeat, written inside each
    batch's transaction, so the record never claims more than was committed."""
    counts: Counts = dict(run.counts)

    def on_batch(batch: Counts, rows: int) -> None:
        merge_counts(counts, batch)
        run.rows_done += rows
        ErasureRun.objects.filter(pk=run.pk).update(counts=counts, rows_done=run.rows_done, heartbeat_at=timezone.now())
        if on_progress is not None:
            on_progress(rows)

    return on_batch


def _period(rule: RetentionRule) -> timedelta:
    return timedelta(days=rule.period * (365 if rule.unit == RetentionRule.Unit.YEARS else 1))


def retention_cutoff(rule: RetentionRule, *, now: datetime) -> datetime:
    """Rows dated before this have outlived `rule`.

    Counted from the end of the financial year (calendar year, Asia/Jakarta) where the rule
    says so: a sale of 2015 is kept to the end of 2025 and goes on 1 January 2026.
    """
    if rule.from_end_of_financial_year and rule.unit == RetentionRule.Unit.YEARS:
        local = timezone.localtime(now, ZoneInfo(settings.TIME_ZONE))
        return datetime(local.year - rule.period, 1, 1, tzinfo=ZoneInfo(settings.TIME_ZONE))
    return now - _period(rule)


# -- churn ----------------------------------------------------------------------------------


def merchant_churn(
    *, merchant_id: int, churned_at: datetime | None = None, source: str = ChurnEvent.Source.JUNOPOS, actor=None,
    due_not_before: datetime | None = None,
) -> PurgeSchedule:
    """JUNOPOS (or an officer) says the merchant's subscription ended: schedule its purge.

    `due_not_before` pushes the due date out when the portal learns of a churn late, so that
    the merchant still gets the warnings the policy promises.
    """
    churned_at = churned_at or timezone.now()
    with transaction.atomic():
        merchant = _locked_merchant(merchant_id)
        schedule = PurgeSchedule.objects.select_for_update().filter(merchant=merchant).first()
        if schedule and schedule.state in (PurgeSchedule.State.PURGING, PurgeSchedule.State.PURGED):
            raise RetentionError(_("Data merchant ini sudah atau sedang dihapus."))
        if merchant.churned_at and schedule and schedule.state == PurgeSchedule.State.SCHEDULED:
            return schedule  # already known: JUNOPOS may report twice
        rule = RetentionRule.objects.get(key=CHURN_RULE)
        if merchant.churned_at != churned_at:
            merchant.churned_at = churned_at
            merchant.save(update_fields=["churned_at"])  # leaves its row in the merchant's history
        ChurnEvent.objects.create(
            merchant=merchant, kind=ChurnEvent.Kind.CHURNED, at=churned_at, source=source, actor=actor
        )
        schedule, _created = PurgeSchedule.objects.update_or_create(
            merchant=merchant,
            defaults={
                "rule": rule,
                "churned_at": churned_at,
                "due_at": max(churned_at + _period(rule), due_not_before or churned_at),
                "state": PurgeSchedule.State.SCHEDULED,
                "warnings_sent": {},
                "lease_until": None,
                "claimed_by": "",
            },
        )
    return schedule


def merchant_reactivate(
    *, merchant_id: int, at: datetime | None = None, source: str = ChurnEvent.Source.JUNOPOS, actor=None
) -> PurgeSchedule | None:
    """The merchant came back before its purge: cancel it (a running purge stops at its next batch)."""
    at = at or timezone.now()
    with transaction.atomic():
        merchant = _locked_merchant(merchant_id)
        schedule = PurgeSchedule.objects.select_for_update().filter(merchant=merchant).first()
        if schedule and schedule.state == PurgeSchedule.State.PURGED:
            raise RetentionError(_("Data merchant ini sudah dihapus dan tidak dapat dipulihkan."))
        if merchant.churned_at is None:
            return schedule
        merchant.churned_at = None
        merchant.save(update_fields=["churned_at"])
        ChurnEvent.objects.create(
            merchant=merchant, kind=ChurnEvent.Kind.REACTIVATED, at=at, source=source, actor=actor
        )
        if schedule and schedule.state != PurgeSchedule.State.CANCELLED:
            schedule.state = PurgeSchedule.State.CANCELLED
            schedule.save(update_fields=["state", "updated_at"])
    return schedule


def _locked_merchant(merchant_id: int) -> Merchant:
    try:
        return Merchant.objects.select_for_update().get(pk=merchant_id)
    except Merchant.DoesNotExist:
        raise RetentionError(_("Merchant %(id)s tidak ditemukan.") % {"id": merchant_id}) from None


# -- legal holds ----------------------------------------------------------------------------


def hold_validate(
    *,
    reason: str,
    detail: str,
    merchant_id: int | None = None,
    subject_email: str = "",
    subject_phone: str = "",
    ends_at: datetime | None = None,
) -> dict:
    """Check a hold before it is placed; returns its normalised fields or raises RetentionError."""
    email = normalize_email(subject_email) or ""
    if subject_email and not email:
        raise RetentionError(_("Alamat e-mail subjek tidak valid."))
    phone = normalize_phone(subject_phone) or ""
    if subject_phone and not phone:
        raise RetentionError(_("Nomor telepon subjek tidak valid."))
    if not (merchant_id or email or phone):
        raise RetentionError(_("Penahanan harus mencakup merchant atau subjek data (e-mail atau telepon)."))
    if not detail or not detail.strip():
        raise RetentionError(_("Tuliskan keterangan penahanan (mis. nomor surat)."))
    if reason not in LegalHold.Reason.values:
        raise RetentionError(_("Pilih alasan penahanan."))
    if ends_at is not None and ends_at <= timezone.now():
        raise RetentionError(_("Tanggal berakhir harus di masa depan."))
    if merchant_id and not Merchant.objects.filter(pk=merchant_id).exists():
        raise RetentionError(_("Merchant %(id)s tidak ditemukan.") % {"id": merchant_id})
    return {
        "merchant_id": merchant_id or None, "subject_email": email, "subject_phone": phone, "reason": reason,
        "detail": detail.strip(), "ends_at": ends_at,
    }


def hold_place(*, actor, **fields) -> LegalHold:
    """Place a legal hold: every erasure it covers stops until it is lifted or ends."""
    hold = LegalHold(placed_by=actor, **hold_validate(**fields))
    try:
        hold.full_clean()
    except ValidationError as exc:
        raise RetentionError("; ".join(exc.messages)) from None
    hold.save()
    return hold


def hold_lift(*, hold_id: int, actor, reason: str) -> LegalHold:
    if not reason or not reason.strip():
        raise RetentionError(_("Tuliskan alasan pencabutan penahanan."))
    with transaction.atomic():
        hold = LegalHold.objects.select_for_update().get(pk=hold_id)
        if hold.lifted_at is not None:
            raise RetentionError(_("Penahanan ini sudah dicabut."))
        hold.lifted_at = timezone.now()
        hold.lifted_by = actor
        hold.lift_reason = reason.strip()
        hold.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    return hold


def _hold_reason(hold: LegalHold) -> str:
    return _("Ditahan (%(reason)s): %(detail)s") % {"reason": hold.get_reason_display(), "detail": hold.detail}


# -- the purge of one churned merchant ---------------------------------------------------------


def purge_stop_reason(*, schedule_id: int, now: datetime | None = None) -> str | None:
    """Why the purge must not go on now, or None. Asked before every batch."""
    now = now or timezone.now()
    schedule = PurgeSchedule.objects.select_related("merchant").get(pk=schedule_id)
    if schedule.state == PurgeSchedule.State.CANCELLED or schedule.merchant.churned_at is None:
        return _("Merchant aktif kembali; penghapusan dibatalkan.")
    hold = holds_for_merchant(schedule.merchant_id, now=now).first()
    if hold is not None:
        return _hold_reason(hold)
    if schedule.due_at > now:
        return _("Belum jatuh tempo (%(due)s).") % {"due": timezone.localtime(schedule.due_at).strftime("%Y-%m-%d %H:%M")}
    return None


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
        rows_total=total_rows(counts),
        rows_done=0,
    )


def merchant_purge(
    *, schedule_id: int, batch_size: int | None = None, on_progress=None, lease_seconds: int | None = None
) -> ErasureRun | None:
    """Purge one churned merchant, or resume its purge. Returns the run, or None if not claimed.

    Claims the schedule with a conditional UPDATE (scheduled and due, or purging with a lease
    that ran out), so two workers never purge the same merchant. Resumes the merchant's
    unfinished run when there is one. Transient database errors leave the run running and the
    lease released, for the task's retry; any other error marks run and schedule failed.
    """
    lease = timedelta(seconds=lease_seconds or settings.PURGE_LEASE_SECONDS)
    token = uuid.uuid4().hex
    now = timezone.now()
    claimed = (
        PurgeSchedule.objects.filter(pk=schedule_id)
        .filter(
            Q(state=PurgeSchedule.State.SCHEDULED, due_at__lte=now)
            | Q(state=PurgeSchedule.State.PURGING, lease_until__lt=now)
        )
        .update(state=PurgeSchedule.State.PURGING, claimed_by=token, lease_until=now + lease)
    )
    if not claimed:
        return None
    try:
        return _purge_claimed(
            schedule_id=schedule_id, token=token, lease=lease, batch_size=batch_size, on_progress=on_progress
        )
    except TRANSIENT_DB_ERRORS:
        # The error may be the server ending the connection; Django keeps the dead one until the
        # task ends, so drop it here, or the release fails too and the task's retry finds the
        # lease still ours and gives up (not claimed), leaving the purge to the next daily plan.
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
        PurgeSchedule.objects.filter(pk=schedule_id, claimed_by=token).update(lease_until=timezone.now())
        raise


def _purge_claimed(*, schedule_id: int, token: str, lease: timedelta, batch_size, on_progress) -> ErasureRun:
    """The purge once this worker holds the schedule's lease (see merchant_purge)."""
    now = timezone.now()
    schedule = PurgeSchedule.objects.select_related("merchant", "rule").get(pk=schedule_id)
    merchant = schedule.merchant
    run = (
        ErasureRun.objects.filter(
            kind=ErasureRun.Kind.MERCHANT_PURGE, merchant_ref=merchant.pk, dry_run=False,
            state__in=[ErasureRun.State.PENDING, ErasureRun.State.RUNNING],
        )
        .order_by("-created_at")
        .first()
    )
    if run is None:
        run = ErasureRun.objects.create(
            kind=ErasureRun.Kind.MERCHANT_PURGE, merchant=merchant, merchant_ref=merchant.pk, rule=schedule.rule,
            subject_hashes=_merchant_pseudonyms(merchant), state=ErasureRun.State.PENDING,
        )
    remaining = Erasure(Scope.merchant(merchant.pk)).count()
    run.rows_total = run.rows_done + total_rows(remaining)
    run.state = ErasureRun.State.RUNNING
    run.started_at = run.started_at or now
    run.heartbeat_at = now
    run.attempts += 1
    run.save(update_fields=["rows_total", "state", "started_at", "heartbeat_at", "attempts"])

    def should_proceed() -> str | None:
        renewed = PurgeSchedule.objects.filter(pk=schedule_id, claimed_by=token).update(
            lease_until=timezone.now() + lease
        )
        if not renewed:
            return _("Kunci penghapusan diambil alih pekerja lain.")
        return purge_stop_reason(schedule_id=schedule_id)

    engine = Erasure(
        Scope.merchant(merchant.pk), batch_size=batch_size,
        should_proceed=should_proceed, on_batch=_run_recorder(run, on_progress),
    )
    try:
        result = engine.run()
    except TRANSIENT_DB_ERRORS:
        raise  # merchant_purge releases the lease for the task's retry
    except Exception as exc:
        logger.exception("purge of merchant %s failed", merchant.pk)
        ErasureRun.objects.filter(pk=run.pk).update(
            state=ErasureRun.State.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=timezone.now()
        )
        PurgeSchedule.objects.filter(pk=schedule_id, claimed_by=token).update(
            state=PurgeSchedule.State.FAILED, lease_until=None, claimed_by=""
        )
        raise
    finished = timezone.now()
    with transaction.atomic():
        if result.completed:
            ErasureRun.objects.filter(pk=run.pk).update(
                state=ErasureRun.State.COMPLETED, finished_at=finished, stop_reason="", error=""
            )
            PurgeSchedule.objects.filter(pk=schedule_id, claimed_by=token).update(
                state=PurgeSchedule.State.PURGED, purged_at=finished, lease_until=None, claimed_by=""
            )
        else:
            ErasureRun.objects.filter(pk=run.pk).update(
                state=ErasureRun.State.STOPPED, finished_at=finished, stop_reason=result.stopped_reason
            )
            # A merchant that came back is cancelled; a held one goes back to the queue, where
            # the planner skips it until the hold is lifted.
            back = Merchant.objects.filter(pk=merchant.pk, churned_at__isnull=True).exists()
            mine = PurgeSchedule.objects.select_for_update().filter(pk=schedule_id, claimed_by=token).first()
            if mine is not None:
                cancelled = back or mine.state == PurgeSchedule.State.CANCELLED
                mine.state = PurgeSchedule.State.CANCELLED if cancelled else PurgeSchedule.State.SCHEDULED
                mine.lease_until, mine.claimed_by = None, ""
                mine.save(update_fields=["state", "lease_until", "claimed_by", "updated_at"])
    run.refresh_from_db()
    return run


def purge_retry(*, run_id: int, actor) -> ErasureRun:
    """An officer retries a failed purge: its schedule goes back to the queue now."""
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
        schedule.state = PurgeSchedule.State.SCHEDULED
        schedule.lease_until = None
        schedule.claimed_by = ""
        schedule.save(update_fields=["state", "lease_until", "claimed_by", "updated_at"])
        transaction.on_commit(lambda: _enqueue_purge(schedule.pk))
    return retry


def _enqueue_purge(schedule_id: int) -> None:
    from .tasks import purge_merchant

    purge_merchant.delay(schedule_id)


def _enqueue_expiry(merchant_id: int) -> None:
    from .tasks import expire_retained

    expire_retained.delay(merchant_id)


# -- subject erasure (deletion requests) --------------------------------------------------------


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
        raise ErasureBlocked(_hold_reason(hold))
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
    hashes = {k: pseudonym(v, kind=k) for k, v in (("email", scope.email), ("phone", scope.phone)) if v}
    now = timezone.now()
    run = ErasureRun.objects.create(
        kind=ErasureRun.Kind.SUBJECT_ERASURE, merchant_id=merchant_id, merchant_ref=merchant_id,
        subject_hashes=hashes, dry_run=dry_run, state=ErasureRun.State.RUNNING, requested_by=actor,
        started_at=now, heartbeat_at=now, attempts=1,
    )
    engine = Erasure(scope)
    note = ""
    if held:
        found = subject_records(email=scope.email, phone=scope.phone, merchant_id=merchant_id).merchants
        kept = [m.merchant_id for m in found if m.merchant_id in held]
        if kept:
            note = _("Data di merchant %(ids)s disimpan karena penahanan hukum.") % {
                "ids": ", ".join(str(m) for m in sorted(kept))
            }
    if dry_run:
        counts = engine.count()
        ErasureRun.objects.filter(pk=run.pk).update(
            state=ErasureRun.State.COMPLETED, counts=counts, finished_at=timezone.now(), stop_reason=note,
            rows_total=total_rows(counts),
        )
        run.refresh_from_db()
        return run
    engine.on_batch = _run_recorder(run)
    try:
        result = engine.run()
    except Exception as exc:
        ErasureRun.objects.filter(pk=run.pk).update(
            state=ErasureRun.State.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=timezone.now()
        )
        raise
    ErasureRun.objects.filter(pk=run.pk).update(
        state=ErasureRun.State.COMPLETED if result.completed else ErasureRun.State.STOPPED,
        finished_at=timezone.now(), stop_reason=(result.stopped_reason or note),
    )
    run.refresh_from_db()
    return run


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


# -- expiry of kept records ---------------------------------------------------------------------


def _expiry_cutoffs(*, now: datetime, registry: DataMap = datamap) -> dict[str, datetime]:
    keys = {e.retained_under for e in expiring_entries(registry)}
    return {rule.key: retention_cutoff(rule, now=now) for rule in RetentionRule.objects.filter(key__in=keys)}


def retention_expire(*, merchant_id: int, now: datetime | None = None) -> list[ErasureRun]:
    """Delete a purged merchant's kept records whose own period has ended (e.g. ten years of tax)."""
    now = now or timezone.now()
    runs: list[ErasureRun] = []
    if holds_for_merchant(merchant_id, now=now).exists():
        return runs
    cutoffs = _expiry_cutoffs(now=now)
    rules = {r.key: r for r in RetentionRule.objects.filter(key__in=cutoffs)}

    def should_proceed() -> str | None:
        hold = holds_for_merchant(merchant_id).first()
        return _hold_reason(hold) if hold else None

    for key, cutoff in cutoffs.items():
        scope = Scope.expiry(merchant_id=merchant_id, rule_key=key, before=cutoff)
        if not Erasure(scope).count():
            continue
        run = ErasureRun.objects.create(
            kind=ErasureRun.Kind.RETENTION_EXPIRY, merchant_id=merchant_id, merchant_ref=merchant_id,
            rule=rules[key], state=ErasureRun.State.RUNNING, started_at=now, attempts=1,
        )
        result = Erasure(scope, should_proceed=should_proceed, on_batch=_run_recorder(run)).run()
        ErasureRun.objects.filter(pk=run.pk).update(
            state=ErasureRun.State.COMPLETED if result.completed else ErasureRun.State.STOPPED,
            finished_at=timezone.now(), stop_reason=result.stopped_reason,
        )
        run.refresh_from_db()
        runs.append(run)
    return runs


# -- the daily plan -----------------------------------------------------------------------------


def purge_warnings_send(*, now: datetime | None = None) -> int:
    """Warn merchants whose purge is near (14 and 3 days before, per the rule), in their language."""
    now = now or timezone.now()
    sent = 0
    rules = {r.pk: r for r in RetentionRule.objects.filter(key=CHURN_RULE)}
    horizon = max((max(r.warnings, default=0) for r in rules.values()), default=0)
    if not horizon:
        return 0
    candidates = (
        schedules_due(now=now + timedelta(days=horizon))
        .filter(due_at__gt=now, rule_id__in=rules)
        .select_related("merchant")
    )
    for schedule in candidates:
        days_left = (schedule.due_at - now) / timedelta(days=1)
        applicable = [d for d in rules[schedule.rule_id].warnings if d >= days_left]
        if not applicable:
            continue
        warning = min(applicable)
        if str(warning) in schedule.warnings_sent:
            continue
        with transaction.atomic():
            locked = PurgeSchedule.objects.select_for_update().get(pk=schedule.pk)
            if str(warning) in locked.warnings_sent or locked.state != PurgeSchedule.State.SCHEDULED:
                continue
            # The nearest warning counts for the earlier ones too: one mail, not two at once.
            for day in applicable:
                locked.warnings_sent[str(day)] = now.isoformat()
            locked.save(update_fields=["warnings_sent", "updated_at"])
            transaction.on_commit(lambda s=locked, d=warning: _send_purge_warning(s, d))
        sent += 1
    return sent


def _send_purge_warning(schedule: PurgeSchedule, days: int) -> None:
    merchant = schedule.merchant
    if not merchant.owner_email:
        logger.warning("merchant %s has no e-mail for its purge warning", merchant.pk)
        return
    language = merchant.preferred_language if merchant.preferred_language in dict(settings.LANGUAGES) else "id"
    with translation.override(language):
        context = {
            "merchant": merchant,
            "days": days,
            "due_at": timezone.localtime(schedule.due_at, ZoneInfo(settings.TIME_ZONE)),
            "churned_at": timezone.localtime(schedule.churned_at, ZoneInfo(settings.TIME_ZONE)),
        }
        subject = render_to_string("emails/purge_warning_subject.txt", context).strip()
        body = render_to_string("emails/purge_warning.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [merchant.owner_email])


def churn_detect(*, now: datetime | None = None) -> dict[str, int]:
    """Notice churn and reactivation recorded outside the portal (JUNOPOS's own tables).

    A merchant with a churn date and no schedule is scheduled from that date; a scheduled
    purge whose merchant no longer has a churn date is cancelled. Both leave a churn event.
    """
    now = now or timezone.now()
    rule = RetentionRule.objects.get(key=CHURN_RULE)
    # Learnt late: the first warning still goes out before the purge.
    not_before = now + timedelta(days=max(rule.warnings, default=0))
    churned = 0
    for merchant_id, churned_at in churn_unscheduled(now=now).values_list("pk", "churned_at").iterator():
        merchant_churn(
            merchant_id=merchant_id, churned_at=churned_at, source=ChurnEvent.Source.DETECTED, due_not_before=not_before
        )
        churned += 1
    reactivated = 0
    for schedule_id, merchant_id in reactivated_unnoticed().values_list("pk", "merchant_id").iterator():
        with transaction.atomic():
            schedule = PurgeSchedule.objects.select_for_update().get(pk=schedule_id)
            if schedule.state != PurgeSchedule.State.SCHEDULED:
                continue
            schedule.state = PurgeSchedule.State.CANCELLED
            schedule.save(update_fields=["state", "updated_at"])
            ChurnEvent.objects.create(
                merchant_id=merchant_id, kind=ChurnEvent.Kind.REACTIVATED, at=now, source=ChurnEvent.Source.DETECTED
            )
        reactivated += 1
    return {"churned": churned, "reactivated": reactivated}


def purge_plan(*, now: datetime | None = None) -> dict[str, int]:
    """The daily plan: notice churn, warn, queue one purge per due merchant, re-queue stalled ones, expire."""
    now = now or timezone.now()
    detected = churn_detect(now=now)
    warned = purge_warnings_send(now=now)
    due = list(schedules_due(now=now).values_list("pk", flat=True))
    stalled = list(schedules_stalled(now=now).values_list("pk", flat=True))
    expired = list(
        merchants_with_expired_records(cutoffs=_expiry_cutoffs(now=now)).values_list("merchant_id", flat=True)
    )

    def enqueue():
        for schedule_id in due + stalled:
            _enqueue_purge(schedule_id)
        for merchant_id in expired:
            _enqueue_expiry(merchant_id)

    transaction.on_commit(enqueue)
    return {
        "detected_churn": detected["churned"], "detected_reactivation": detected["reactivated"],
        "warned": warned, "due": len(due), "stalled": len(stalled), "expired": len(expired),
    }
