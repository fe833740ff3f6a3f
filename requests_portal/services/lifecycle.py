"""What beat does to requests: expire the unverified, remind officers of deadlines, send the digest.

Each sweep works in batches of a module constant, each request in its own transaction, and is
safe to run twice: an expired request is no longer submitted; a reminder records the due time
it was sent for, so it goes once per due time (an extension or a pause that moves the due time
earns a new one).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from retention.registry import RowErasure, datamap
from retention.selectors import any_of

from ..audit import chain_event
from ..formatting import format_due
from ..models import CLOCK_STATES, DataSubjectRequest, State
from ..notifications import notify_officer
from ..selectors import officers
from .common import SYSTEM, lock

UNVERIFIED_LIFETIME = timedelta(days=7)
SWEEP_BATCH = 500
REMINDERS = (("reminded_24h_for", timedelta(hours=24)), ("reminded_6h_for", timedelta(hours=6)))


def requests_unverified_expired(*, now):
    return DataSubjectRequest.objects.filter(state=State.SUBMITTED, created_at__lt=now - UNVERIFIED_LIFETIME)


def request_expire(*, request_id: int, now=None) -> DataSubjectRequest | None:
    """A request never verified within 7 days expires, and its contact data is erased.

    Erased the data map's way (as the engine erases a requester), in the expiry's transaction:
    the request's personal fields (addresses replaced by their keyed hashes, so the request can
    still be counted and its audit chain verified; names masked; texts emptied) in the row and
    its history copies; the rows tied to it deleted (codes, attachments) or anonymised (events'
    texts, whose digests the chain keeps); the messages it sent erased as messaging declares.
    Kept: that a request of this right was made, when, and that it expired.
    """
    now = now or timezone.now()
    with transaction.atomic():
        request = lock(request_id)
        if request.state != State.SUBMITTED or request.created_at >= now - UNVERIFIED_LIFETIME:
            return None
        erased = datamap.get(DataSubjectRequest).erased_values(request)
        for column, value in erased.items():
            setattr(request, column, value)
        request.state = State.EXPIRED
        request.closed_at = now
        chain_event(request, verb="expired", actor_kind=SYSTEM, from_state=State.SUBMITTED, to_state=State.EXPIRED)
        request.save()
        if request.api_client_id:
            from .api import status_callback_queue

            status_callback_queue(request)
        # The history copies hold the same contact data: the newest one (written just now)
        # included. A bulk update writes no history of its own, which is the point here.
        request.history.all().update(**erased)
        _erase_tied_records(request)
        return request


def _erase_tied_records(request: DataSubjectRequest) -> None:
    """Every declared table whose rows belong to the request (`subject_via` the request): deleted
    or anonymised as declared, history copies too, and the rows they carry (its messages)."""
    for entry in datamap:
        vias = [v.field for v in entry.subject_via
                if entry.model._meta.get_field(v.field).related_model is DataSubjectRequest]
        if not vias:
            continue
        rows = entry.model._default_manager.filter(any_of(Q(**{via: request.pk}) for via in vias))
        pks = list(rows.values_list("pk", flat=True))
        if not pks:
            continue
        for name in entry.carries:  # first, while the row that carries them is there
            field = entry.model._meta.get_field(name)
            carried = datamap.get(field.related_model)
            for row in carried.model._default_manager.filter(pk__in=rows.values(field.attname)):
                _erase_row(carried, row)
        history = entry.history_model
        if entry.erasure == RowErasure.DELETE:
            entry.model._default_manager.filter(pk__in=pks).delete()
            if history is not None:  # their copies, the deletion's own included
                history._default_manager.filter(**{f"{entry.model._meta.pk.attname}__in": pks}).delete()
            continue
        for row in entry.model._default_manager.filter(pk__in=pks):
            _erase_row(entry, row)


def _erase_row(entry, row) -> None:
    erased = entry.erased_values(row)
    if not erased:
        return
    entry.model._default_manager.filter(pk=row.pk).update(**erased)
    if entry.history_model is not None:
        entry.history_model._default_manager.filter(**{entry.model._meta.pk.attname: row.pk}).update(**erased)


def requests_expire_unverified(*, now=None) -> int:
    now = now or timezone.now()
    ids = list(requests_unverified_expired(now=now).order_by("created_at").values_list("pk", flat=True)[:SWEEP_BATCH])
    return sum(1 for pk in ids if request_expire(request_id=pk, now=now) is not None)


def requests_remind(*, now=None) -> int:
    """Remind officers of requests falling due within 24 hours and within 6 hours (once each)."""
    now = now or timezone.now()
    sent = 0
    for field, ahead in REMINDERS:
        due = (
            DataSubjectRequest.objects.filter(
                state__in=CLOCK_STATES, paused_at__isnull=True, due_at__gt=now, due_at__lte=now + ahead,
            )
            .filter(Q(**{f"{field}__isnull": True}) | ~Q(**{field: F("due_at")}))
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        for pk in list(due):
            sent += _remind(pk, field=field, ahead=ahead, now=now)
    return sent


def _remind(request_id: int, *, field: str, ahead: timedelta, now) -> int:
    with transaction.atomic():
        request = lock(request_id)
        if request.state not in CLOCK_STATES or request.due_at is None or getattr(request, field) == request.due_at:
            return 0
        recipients = [request.assignee] if request.assignee and request.assignee.email else list(officers(superusers=False).exclude(email=""))
        with translation.override(settings.LANGUAGE_CODE):
            hours = int(ahead.total_seconds() // 3600)
            context = {"request": request, "hours": hours, "due": format_due(request.due_at)}
            subject = _("[%(ref)s] jatuh tempo dalam %(hours)s jam") % {"ref": request.reference, "hours": hours}
            body = render_to_string("emails/officer_reminder.txt", context)
        for user in recipients:
            notify_officer(request, user=user, kind="officer_reminder", subject=subject, body=body)
        setattr(request, field, request.due_at)
        request.save(update_fields=[field])
        return len(recipients)


def requests_digest(*, now=None) -> int:
    """The daily digest: to every officer, the open work by deadline."""
    from ..selectors import queue_summary

    now = now or timezone.now()
    summary = queue_summary(now=now)
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Ringkasan harian permintaan subjek data: %(late)s terlambat, %(today)s jatuh tempo hari ini") % {
            "late": summary["late"], "today": summary["due_today"],
        }
        body = render_to_string(
            "emails/officer_digest.txt", {"summary": summary, "now": now, "admin_url": settings.PORTAL_URL.rstrip("/") + "/admin/"}
        )
    count = 0
    with transaction.atomic():
        for user in officers(superusers=False).exclude(email=""):
            notify_officer(None, user=user, kind="officer_digest", subject=subject, body=body)
            count += 1
    return count
