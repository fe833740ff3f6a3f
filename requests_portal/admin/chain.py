"""The audit chain's state as the admin shows it (index and queue).

`audit_verify` walks every event of every request and every anchor: seconds at a hundred
thousand requests, more later. It therefore never runs while a page renders: a page would
then take as long as the walk, and its query count would depend on the size of the trail. It
runs when someone asks for it ("Verify now", a POST) and its result is kept in the cache with
the time of the check; the pages read only that (one cache read, no query) and say how old
it is. A result older than STALE_AFTER is shown as due for a new check. `manage.py
verify_audit` remains the check for scripts and monitoring (exit status 1 on a break).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

from ..audit import audit_verify

CACHE_KEY = "requests_portal:audit_chain:v1"
RUNNING_KEY = "requests_portal:audit_chain:running"
# How long a result is kept (it is shown with its time: an old one is still worth reading).
KEEP_FOR = 7 * 24 * 3600
# After this a result is marked as due for a new check.
STALE_AFTER = timedelta(minutes=10)
# One walk at a time: a second click while one runs is told so (the lock expires by itself).
RUNNING_LOCK_SECONDS = 15 * 60


def chain_status() -> dict | None:
    """The last check's result: intact, events, anchors, waiting, first_break, checked_at, stale."""
    status = cache.get(CACHE_KEY)
    if not status:
        return None
    checked_at = datetime.fromisoformat(status["checked_at"])
    return {**status, "checked_at": checked_at, "stale": timezone.now() - checked_at > STALE_AFTER}


def chain_verify() -> dict | None:
    """Walk the chain now and keep the result; None if a walk is already running."""
    if not cache.add(RUNNING_KEY, 1, timeout=RUNNING_LOCK_SECONDS):
        return None
    try:
        report = audit_verify()
        status = {
            "intact": report.intact,
            "events": report.events,
            "anchors": report.anchors,
            "waiting": report.unanchored,
            "first_break": str(report.first_break) if report.first_break else "",
            "checked_at": timezone.now().isoformat(),
        }
        cache.set(CACHE_KEY, status, timeout=KEEP_FOR)
    finally:
        cache.delete(RUNNING_KEY)
    return chain_status()
