"""Reads of requests: the officers' queue, the day's figures, what a person may do next."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import BooleanField, Case, Count, ExpressionWrapper, F, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from merchants.identifiers import normalize_email, normalize_phone

from .models import (
    CLOCK_STATES, FOUR_EYES_RIGHTS, OPEN_STATES, DataSubjectRequest, RequestEvent, State, parse_reference,
)


def _today(now: datetime) -> tuple[datetime, datetime]:
    zone = ZoneInfo(settings.TIME_ZONE)
    local = timezone.localtime(now, zone).date()
    start = datetime.combine(local, time.min, tzinfo=zone)
    return start, start + timedelta(days=1)


def late_q(now: datetime) -> Q:
    """Requests past their due time: a running clock past it, or a stopped clock that stopped past it."""
    return Q(state__in=CLOCK_STATES | {State.AWAITING_REQUESTER}, due_at__isnull=False) & (
        Q(paused_at__isnull=True, due_at__lt=now) | Q(paused_at__isnull=False, due_at__lt=F("paused_at"))
    )


def due_today_q(now: datetime) -> Q:
    start, end = _today(now)
    return Q(state__in=CLOCK_STATES, paused_at__isnull=True, due_at__gte=start, due_at__lt=end)


def request_queue(*, now: datetime | None = None) -> QuerySet:
    """Every request, what is due first first (no due time last), with what the queue shows."""
    now = now or timezone.now()
    return (
        DataSubjectRequest.objects.select_related("assignee")
        .annotate(is_late=ExpressionWrapper(Case(When(late_q(now), then=Value(True)), default=Value(False)),
                                            output_field=BooleanField()))
        .order_by(F("due_at").asc(nulls_last=True), "created_at", "pk")
    )


def request_search_q(term: str) -> Q:
    """A reference, an e-mail or a phone (normalised the data map's way)."""
    term = (term or "").strip()
    condition = Q(pk__in=[])
    pk = parse_reference(term)
    if pk is not None:
        condition |= Q(pk=pk)
    email = normalize_email(term)
    if email:
        condition |= Q(email=email)
    phone = normalize_phone(term) if any(ch.isdigit() for ch in term) and "@" not in term else None
    if phone:
        condition |= Q(phone=phone)
    return condition


def queue_summary(*, now: datetime | None = None) -> dict:
    """The day's work: open, due today, late, awaiting the requester, completed this month and how fast."""
    now = now or timezone.now()
    zone = ZoneInfo(settings.TIME_ZONE)
    local = timezone.localtime(now, zone)
    month_start = datetime(local.year, local.month, 1, tzinfo=zone)
    # Every figure counts open requests or those completed this month: the WHERE lets the
    # (state, due_at) index skip the closed history instead of scanning the whole table.
    counts = DataSubjectRequest.objects.filter(
        Q(state__in=OPEN_STATES) | Q(state=State.COMPLETED, closed_at__gte=month_start)
    ).aggregate(
        open=Count("pk", filter=Q(state__in=OPEN_STATES)),
        due_today=Count("pk", filter=due_today_q(now)),
        late=Count("pk", filter=late_q(now)),
        awaiting=Count("pk", filter=Q(state=State.AWAITING_REQUESTER)),
        completed_month=Count("pk", filter=Q(state=State.COMPLETED, closed_at__gte=month_start)),
    )
    durations = [
        (closed - start).total_seconds() / 3600
        for start, closed in DataSubjectRequest.objects.filter(
            state=State.COMPLETED, closed_at__gte=month_start
        ).values_list(Coalesce("verified_at", "created_at"), "closed_at").iterator(chunk_size=2000)
    ]
    counts["median_hours"] = round(median(durations), 1) if durations else None
    counts["by_right"] = _breakdown("right", now)
    counts["by_channel"] = _breakdown("channel", now)
    return counts


def _breakdown(field: str, now: datetime) -> list[dict]:
    labels = dict(DataSubjectRequest._meta.get_field(field).choices)
    rows = (
        DataSubjectRequest.objects.filter(state__in=OPEN_STATES).values(field)
        .annotate(open=Count("pk"), late=Count("pk", filter=late_q(now)))
        .order_by(field)
    )
    return [{"key": row[field], "label": labels.get(row[field], row[field]), "open": row["open"], "late": row["late"]}
            for row in rows]


def request_timeline(request: DataSubjectRequest) -> QuerySet:
    return RequestEvent.objects.filter(request=request).select_related("actor").order_by("seq")


def request_duplicates(request: DataSubjectRequest) -> QuerySet:
    """Other requests of the same person (same e-mail or phone) and right, for the officer to compare."""
    return (
        DataSubjectRequest.objects.filter(same_person_q(request), right=request.right).exclude(pk=request.pk)
        .order_by("-created_at")
    )


def same_person_q(request: DataSubjectRequest) -> Q:
    """Requests from the same person as `request`: its e-mail or its phone (both stored normalised)."""
    condition = Q(pk__in=[])
    if request.email:
        condition |= Q(email=request.email)
    if request.phone:
        condition |= Q(phone=request.phone)
    return condition


def officers(*, superusers: bool = True) -> QuerySet:
    """Active users who may work requests (the assign form; with superusers=False, who is messaged)."""
    may_work = Q(user_permissions__codename="work_request") | Q(groups__permissions__codename="work_request")
    if superusers:
        may_work |= Q(is_superuser=True)
    return get_user_model().objects.filter(may_work, is_active=True).distinct().order_by("username")


# The officers' transitions, as the admin offers them: (action, label key).
ACTIONS = ("assign", "ask", "extend", "refuse", "propose", "approve", "duplicate")


def available_actions(request: DataSubjectRequest, user) -> list[str]:
    """Exactly the steps `user` may take on `request` now (the services check the same again)."""
    if not (user.is_active and user.has_perm("requests_portal.work_request")):
        return []
    state = request.state
    working = state in (State.VERIFIED, State.IN_REVIEW, State.AWAITING_REQUESTER)
    actions = []
    if working or state in (State.APPROVED, State.PROCESSING):
        actions.append("assign")
    if state in (State.VERIFIED, State.IN_REVIEW):
        actions.append("ask")
    if (working or state in (State.APPROVED, State.PROCESSING)) and request.extended_at is None and request.due_at:
        actions.append("extend")
    if working or state == State.APPROVED:
        actions.append("refuse")
    if state == State.IN_REVIEW:
        if request.right in FOUR_EYES_RIGHTS:
            if request.prepared_by_id is None:
                actions.append("propose")
            elif request.prepared_by_id != user.pk and user.has_perm("requests_portal.approve_sensitive_request"):
                actions.append("approve")
        else:
            actions.append("approve")
    if working:
        actions.append("duplicate")
    return actions
