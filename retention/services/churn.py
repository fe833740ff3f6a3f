"""Churn and reactivation: JUNOPOS (or an officer) says a merchant stopped, or came back.

Each report appends a ChurnEvent and updates the merchant's PurgeSchedule under a row lock; a
repeated report changes nothing. A churn reported late is scheduled from its real date: the
purge still waits for its warnings (retention.selectors.warned_q), whatever path reported it.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from merchants.models import Merchant

from ..exceptions import RetentionError
from ..models import ChurnEvent, PurgeSchedule, RetentionRule
from ..selectors import churn_unscheduled, reactivated_unnoticed
from .common import CHURN_RULE, require_permission


def merchant_churn(
    *, merchant_id: int, churned_at: datetime | None = None, source: str = ChurnEvent.Source.JUNOPOS, actor=None,
) -> PurgeSchedule:
    """The merchant's subscription ended: schedule its purge after the rule's grace period."""
    require_permission(actor, "retention.record_churn", what=_("mencatat merchant berhenti"))
    churned_at = churned_at or timezone.now()
    if churned_at > timezone.now():
        raise RetentionError(_("Tanggal berhenti tidak boleh di masa depan."))
    with transaction.atomic():
        merchant = _locked_merchant(merchant_id)
        schedule = PurgeSchedule.objects.select_for_update().filter(merchant=merchant).first()
        if schedule and schedule.state in (PurgeSchedule.State.PURGING, PurgeSchedule.State.PURGED):
            raise RetentionError(_("Data merchant ini sudah atau sedang dihapus."))
        if merchant.churned_at and schedule and schedule.state in (
            PurgeSchedule.State.SCHEDULED, PurgeSchedule.State.FAILED
        ):
            return schedule  # already known: JUNOPOS may report twice
        rule = RetentionRule.objects.get(key=CHURN_RULE)
        if merchant.churned_at != churned_at:
            merchant.churned_at = churned_at
            merchant.save(update_fields=["churned_at"])  # leaves its row in the merchant's history
        ChurnEvent.objects.create(merchant=merchant, kind=ChurnEvent.Kind.CHURNED, at=churned_at, source=source, actor=actor)
        # A schedule cancelled by a reactivation starts afresh: its old warnings were for a purge
        # that did not happen, so they stay as records but no longer count (only warnings given
        # since the churn do).
        schedule, _created = PurgeSchedule.objects.update_or_create(
            merchant=merchant,
            defaults={
                "rule": rule, "churned_at": churned_at, "due_at": churned_at + rule.period_delta,
                "state": PurgeSchedule.State.SCHEDULED,
            },
        )
    return schedule


def merchant_reactivate(
    *, merchant_id: int, at: datetime | None = None, source: str = ChurnEvent.Source.JUNOPOS, actor=None
) -> PurgeSchedule | None:
    """The merchant came back before its purge: cancel it (a running purge stops at its next batch)."""
    require_permission(actor, "retention.record_churn", what=_("mencatat merchant aktif kembali"))
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
        ChurnEvent.objects.create(merchant=merchant, kind=ChurnEvent.Kind.REACTIVATED, at=at, source=source, actor=actor)
        if schedule and schedule.state != PurgeSchedule.State.CANCELLED:
            schedule.state = PurgeSchedule.State.CANCELLED
            schedule.save(update_fields=["state", "updated_at"])
    return schedule


def churn_detect(*, now: datetime | None = None) -> dict[str, int]:
    """Notice churn and reactivation recorded outside the portal (JUNOPOS's own tables).

    A merchant with a churn date and no schedule is scheduled from that date (its warnings still
    come first); a scheduled purge whose merchant no longer has a churn date is cancelled. Both
    leave a churn event.
    """
    now = now or timezone.now()
    churned = 0
    for merchant_id, churned_at in churn_unscheduled(now=now).values_list("pk", "churned_at").iterator():
        merchant_churn(merchant_id=merchant_id, churned_at=churned_at, source=ChurnEvent.Source.DETECTED)
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


def _locked_merchant(merchant_id: int) -> Merchant:
    try:
        return Merchant.objects.select_for_update().get(pk=merchant_id)
    except Merchant.DoesNotExist:
        raise RetentionError(_("Merchant %(id)s tidak ditemukan.") % {"id": merchant_id}) from None
