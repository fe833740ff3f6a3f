"""The legal clock of a request, from the deadline table (right x jurisdiction).

Periods in hours and days are exact durations (3 x 24 hours is 72 hours, whatever the calendar);
calendar months are counted on the Asia/Jakarta calendar (GDPR's "one month": from 31 January
to the last day of February, time of day kept). Pauses (awaiting the requester) push the due
time by exactly their length; an extension adds its period to the due time once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.utils import timezone

from .models import DeadlineRule, Unit


def add_period(start: datetime, period: int, unit: str) -> datetime:
    if unit == Unit.HOURS:
        return start + timedelta(hours=period)
    if unit == Unit.DAYS:
        return start + timedelta(days=period)
    zone = ZoneInfo(settings.TIME_ZONE)
    local = timezone.localtime(start, zone)
    # relativedelta clamps to the month's last day (31 Jan + 1 month = 28/29 Feb); the wall-clock
    # time is kept in Jakarta (no daylight saving there, so the instant is exact).
    return (local + relativedelta(months=period)).astimezone(start.tzinfo or zone)


def deadline_rule(*, right: str, jurisdiction: str) -> DeadlineRule | None:
    rule = DeadlineRule.objects.filter(right=right, jurisdiction=jurisdiction).first()
    if rule is None and jurisdiction != "ID":
        rule = DeadlineRule.objects.filter(right=right, jurisdiction="ID").first()
    return rule


def due_from(start: datetime, rule: DeadlineRule | None) -> datetime | None:
    """The due time of a clock started at `start`; None where the law sets no deadline and no house target."""
    if rule is None or not rule.period:
        return None
    return add_period(start, rule.period, rule.unit)


def extended_due(due_at: datetime, rule: DeadlineRule | None) -> datetime:
    if rule is None or not rule.extension_period:
        raise ValueError("this right has no extension period")
    return add_period(due_at, rule.extension_period, rule.extension_unit)


def time_left(*, due_at: datetime | None, paused_at: datetime | None, now: datetime) -> timedelta | None:
    """Time left before the due time; frozen at the pause while the clock is stopped."""
    if due_at is None:
        return None
    return due_at - (paused_at or now)
