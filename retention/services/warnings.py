"""Warnings before a purge: 14 and 3 days before (per the rule), each its own record.

Each warning is due once the larger ones were delivered, `days` before the purge date as it
stands then: the rule's due date, pushed back by every delivered warning to its delivery plus
its days. A churn reported late therefore still gets both warnings, each with its full notice,
however the churn was reported. A warning counts only once its message was sent; one that
could not be sent is tried again by the next plan; a mail failure never stops the plan.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from messaging.services import message_queue

from ..models import PurgeSchedule, PurgeWarning
from ..pseudonyms import is_pseudonym
from ..selectors import churn_rules, purge_timeline, schedules_to_warn

logger = logging.getLogger(__name__)


def purge_warnings_send(*, now: datetime | None = None) -> int:
    """Give the warnings that are due now, in each merchant's language. Returns how many."""
    now = now or timezone.now()
    horizon = max((max(r.warnings, default=0) for r in churn_rules()), default=0)
    if not horizon:
        return 0
    given = 0
    for schedule in schedules_to_warn(now=now, horizon_days=horizon).iterator(chunk_size=500):
        days = purge_timeline(schedule, now=now).warning_due
        if days is None:
            continue
        try:
            if purge_warning_give(schedule_id=schedule.pk, days=days, now=now):
                given += 1
        except Exception:
            # One merchant's warning never stops the plan (the due purges are queued after this);
            # it is tried again at the next plan.
            logger.exception("purge warning of schedule %s not given", schedule.pk)
    return given


def purge_warning_give(*, schedule_id: int, days: int, now: datetime) -> PurgeWarning | None:
    """Record one warning and queue its message, under the schedule's lock (never twice)."""
    with transaction.atomic():
        schedule = (
            PurgeSchedule.objects.select_for_update(of=("self",)).select_related("merchant", "rule")
            .prefetch_related("warnings__message").get(pk=schedule_id)
        )
        if schedule.state != PurgeSchedule.State.SCHEDULED or purge_timeline(schedule, now=now).warning_due != days:
            return None
        merchant = schedule.merchant
        message = None
        if _reachable(merchant.owner_email):
            subject, body = _render(schedule, days)
            message = message_queue(
                kind="purge_warning", to_email=merchant.owner_email, merchant_id=merchant.pk,
                language=_language(merchant), subject=subject, body=body,
            )
        else:
            logger.warning("merchant %s has no usable e-mail for its %s-day purge warning", merchant.pk, days)
        return PurgeWarning.objects.create(schedule=schedule, days=days, message=message, created_at=now)


def _reachable(address: str) -> bool:
    """An address a message can go to: not empty, a valid e-mail, not a keyed hash left by an
    erasure of the owner."""
    if not address or is_pseudonym(address):
        return False
    try:
        validate_email(address.strip())
    except ValidationError:
        return False
    return True


def _language(merchant) -> str:
    return merchant.preferred_language if merchant.preferred_language in dict(settings.LANGUAGES) else "id"


def _render(schedule: PurgeSchedule, days: int) -> tuple[str, str]:
    with translation.override(_language(schedule.merchant)):
        context = {
            "merchant": schedule.merchant,
            "days": days,
            "due_at": timezone.localtime(max(schedule.due_at, timezone.now() + timedelta(days=days))),
            "churned_at": timezone.localtime(schedule.churned_at),
        }
        subject = render_to_string("emails/purge_warning_subject.txt", context).strip()
        body = render_to_string("emails/purge_warning.txt", context)
    return subject, body
