"""The legal clock: the deadline table, pauses, one extension, calendar months in Asia/Jakarta."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from requests_portal import services
from requests_portal.deadlines import add_period, deadline_rule, due_from
from requests_portal.models import DataSubjectRequest, DeadlineRule, Right, State

JAKARTA = ZoneInfo("Asia/Jakarta")
pytestmark = pytest.mark.django_db


def at(*args) -> datetime:
    return datetime(*args, tzinfo=JAKARTA)


def test_the_table_holds_every_right_for_both_laws():
    for jurisdiction in ("ID", "EU"):
        for right in Right.values:
            assert deadline_rule(right=right, jurisdiction=jurisdiction) is not None, (right, jurisdiction)
    assert DeadlineRule.objects.get(right="access", jurisdiction="ID").period == 72


def test_uu_pdp_counts_72_hours_not_business_days():
    rule = deadline_rule(right="correction", jurisdiction="ID")
    friday_evening = at(2026, 11, 27, 18, 30)
    assert due_from(friday_evening, rule) == at(2026, 11, 30, 18, 30)


@pytest.mark.parametrize(
    "start, due",
    [
        (at(2026, 1, 31, 9, 0), at(2026, 2, 28, 9, 0)),  # no 31 February: the month's last day
        (at(2028, 1, 31, 9, 0), at(2028, 2, 29, 9, 0)),  # a leap year
        (at(2026, 3, 15, 23, 59), at(2026, 4, 15, 23, 59)),
        (at(2026, 12, 31, 23, 30), at(2027, 1, 31, 23, 30)),
    ],
)
def test_gdpr_counts_calendar_months_on_the_jakarta_calendar(start, due):
    rule = deadline_rule(right="access", jurisdiction="EU")
    assert due_from(start, rule) == due
    # The same instant given in UTC lands on the same Jakarta date (not the UTC one).
    assert due_from(start.astimezone(ZoneInfo("UTC")), rule) == due


def test_a_month_from_the_jakarta_evening_of_the_31st_is_not_the_utc_date():
    # 31 January 2026, 05:00 Jakarta is still 30 January in UTC: counted in Jakarta, the month ends 28 February.
    start = at(2026, 1, 31, 5, 0)
    assert add_period(start, 1, "months") == at(2026, 2, 28, 5, 0)


def test_the_gdpr_extension_adds_two_calendar_months(make_request, officer):
    request = make_request(step="in_review", by=officer, jurisdiction="EU")
    DataSubjectRequest.objects.filter(pk=request.pk).update(due_at=at(2026, 12, 31, 10, 0))
    request = services.request_extend(request_id=request.pk, actor=officer, reason="Banyak outlet.")
    assert request.due_at == at(2027, 2, 28, 10, 0)


def test_pauses_push_the_due_time_by_exactly_their_length(make_request, officer):
    request = make_request(step="in_review", by=officer)
    start_due = request.due_at
    pauses = [timedelta(hours=3, minutes=7), timedelta(days=2, seconds=11)]
    for length in pauses:
        services.request_ask(request_id=request.pk, actor=officer, question="?")
        DataSubjectRequest.objects.filter(pk=request.pk).update(paused_at=timezone.now() - length)
        services.request_answer(request_id=request.pk, text="Jawaban")
    request.refresh_from_db()
    pushed = request.due_at - start_due
    assert sum(pauses, timedelta()) <= pushed < sum(pauses, timedelta()) + timedelta(seconds=5)


def test_an_extension_during_a_pause_then_the_answer(make_request, officer):
    request = make_request(step="in_review", by=officer)
    due = request.due_at
    services.request_ask(request_id=request.pk, actor=officer, question="?")
    services.request_extend(request_id=request.pk, actor=officer, reason="Menunggu dokumen.")
    DataSubjectRequest.objects.filter(pk=request.pk).update(paused_at=timezone.now() - timedelta(hours=10))
    request = services.request_answer(request_id=request.pk, text="Ini dokumennya")
    extended_and_paused = request.due_at - due
    assert timedelta(hours=82) <= extended_and_paused < timedelta(hours=82, seconds=5)
    assert request.state == State.IN_REVIEW


def test_the_due_time_is_stored_exactly_and_shown_in_jakarta(make_request):
    from requests_portal.formatting import format_due

    request = make_request()
    assert request.due_at - request.verified_at == timedelta(hours=72)
    shown = format_due(datetime(2026, 11, 30, 3, 5, tzinfo=ZoneInfo("UTC")))
    assert shown == "30 November 2026 pukul 10:05 WIB"


def test_a_changed_table_applies_to_requests_verified_after(make_request):
    DeadlineRule.objects.filter(right="access", jurisdiction="ID").update(period=48)
    request = make_request(email="baru@example.test")
    assert request.due_at - request.verified_at == timedelta(hours=48)


def test_the_table_keeps_its_history():
    rule = DeadlineRule.objects.get(right="access", jurisdiction="ID")
    rule.period = 96
    rule.save()
    assert rule.history.count() >= 1 and rule.history.first().period == 96
