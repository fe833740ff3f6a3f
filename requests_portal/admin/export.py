"""The audit export: every request received in a period, one CSV line each, without contact data.

Streamed: rows are read in chunks by a server-side cursor and written as they come, so a year
of requests costs the same memory as a day. Column names are fixed codes (not translated) so
that an auditor's spreadsheet keeps working across languages and releases; times are ISO 8601
in Asia/Jakarta.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from ..models import DataSubjectRequest

COLUMNS = (
    "reference", "right", "state", "channel", "jurisdiction", "created_at", "verified_at", "due_at", "closed_at",
    "extended_at", "refusal_reason", "assignee", "event_count",
)
CHUNK = 2000
# A cell a spreadsheet would read as a formula (CSV injection) is written as text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value):
        return value


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(settings.TIME_ZONE)
    return datetime.combine(start, time.min, tzinfo=zone), datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)


def export_queryset(start: date, end: date):
    since, until = period_bounds(start, end)
    return (
        DataSubjectRequest.objects.filter(created_at__gte=since, created_at__lt=until)
        .order_by("created_at", "pk")
        .values_list(
            "pk", "right", "state", "channel", "jurisdiction", "created_at", "verified_at", "due_at", "closed_at",
            "extended_at", "refusal_reason", "assignee__username", "event_count",
        )
    )


def _when(moment) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE)).isoformat(timespec="seconds")


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def export_lines(start: date, end: date):
    """The CSV, line by line (header first)."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(COLUMNS)  # BOM: spreadsheets then read UTF-8 as UTF-8
    for (pk, right, state, channel, jurisdiction, created, verified, due, closed, extended, refusal, assignee,
         events) in export_queryset(start, end).iterator(chunk_size=CHUNK):
        # The model's own reference (the same text as everywhere else in the portal).
        reference = DataSubjectRequest(pk=pk, created_at=created).reference
        yield writer.writerow([
            reference, right, state, channel, jurisdiction, _when(created), _when(verified), _when(due), _when(closed),
            _when(extended), refusal, _cell(assignee), events,
        ])
