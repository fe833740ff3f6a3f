"""The admin index's day of work and the audit chain's state, for templates/admin/index.html
and the queue."""

from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils import timezone

from ..admin.chain import chain_status
from ..selectors import queue_summary

register = template.Library()

VIEW = "requests_portal.view_datasubjectrequest"


def _queue(**filters) -> str:
    return reverse("admin:requests_portal_datasubjectrequest_changelist") + ("?" + urlencode(filters) if filters else "")


@register.inclusion_tag("admin/requests_portal/day_work.html", takes_context=True)
def requests_day_work(context):
    """Open, due today, late, awaiting, completed this month and how fast, by right and channel."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm(VIEW):
        return {"show": False}
    summary = queue_summary(now=timezone.now())
    figures = [
        {"key": "open", "label": "open", "value": summary["open"], "url": _queue(state="open")},
        {"key": "due_today", "value": summary["due_today"], "url": _queue(due_today="yes")},
        {"key": "late", "value": summary["late"], "url": _queue(late="yes"), "alert": summary["late"] > 0},
        {"key": "awaiting", "value": summary["awaiting"], "url": _queue(state="awaiting_requester")},
        {"key": "completed_month", "value": summary["completed_month"],
         "url": _queue(state="completed", closed="this_month")},
    ]
    for row in summary["by_right"]:
        row["url"] = _queue(state="open", right__exact=row["key"])
        row["late_url"] = _queue(late="yes", right__exact=row["key"])
    for row in summary["by_channel"]:
        row["url"] = _queue(state="open", channel__exact=row["key"])
        row["late_url"] = _queue(late="yes", channel__exact=row["key"])
    return {
        "show": True,
        "figures": {f["key"]: f for f in figures},
        "median_hours": summary["median_hours"],
        "by_right": summary["by_right"],
        "by_channel": summary["by_channel"],
        "export_url": reverse("admin:requests_portal_datasubjectrequest_export"),
        "chain": chain_status(),
        "can_verify_chain": user.has_perm("requests_portal.view_requestevent"),
        "verify_url": reverse("admin:requests_portal_datasubjectrequest_verify_chain"),
        "next": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("admin/requests_portal/chain_status.html", takes_context=True)
def requests_chain_status(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "chain": chain_status(),
        "can_verify_chain": bool(user and user.has_perm("requests_portal.view_requestevent")),
        "verify_url": reverse("admin:requests_portal_datasubjectrequest_verify_chain"),
        "next": request.get_full_path() if request else "",
        "csrf_token": context.get("csrf_token"),
    }
