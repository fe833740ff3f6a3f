"""How the officers' admin writes times, clocks and steps: Asia/Jakarta, in the active language."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..deadlines import time_left
from ..formatting import format_duration
from ..models import CLOCK_STATES, State

# What each event verb means, as the timeline says it.
VERBS = {
    "submitted": gettext_lazy("diajukan"),
    "code_resent": gettext_lazy("kode dikirim ulang"),
    "address_verified": gettext_lazy("alamat terverifikasi"),
    "verified": gettext_lazy("identitas terverifikasi"),
    "entered": gettext_lazy("dicatat oleh petugas"),
    "assigned": gettext_lazy("ditugaskan"),
    "asked_reason": gettext_lazy("menanyakan alasan"),
    "asked_information": gettext_lazy("meminta informasi"),
    "answered": gettext_lazy("pemohon menjawab"),
    "extended": gettext_lazy("tenggat diperpanjang"),
    "refused": gettext_lazy("ditolak"),
    "proposed": gettext_lazy("diusulkan untuk disetujui"),
    "approved": gettext_lazy("disetujui"),
    "withdrawn": gettext_lazy("dibatalkan pemohon"),
    "duplicate": gettext_lazy("ditandai duplikat"),
    "processing": gettext_lazy("pelaksanaan dimulai"),
    "completed": gettext_lazy("selesai"),
    "expired": gettext_lazy("kedaluwarsa"),
    "edited": gettext_lazy("diubah oleh petugas"),
    "attachment_read": gettext_lazy("lampiran dibuka"),
    "correction_proposed": gettext_lazy("perbaikan diusulkan"),
    "correction_accepted": gettext_lazy("butir perbaikan diterima"),
    "correction_rejected": gettext_lazy("butir perbaikan ditolak"),
    # The execution's steps (requests_portal.services.execution), one event each.
    "execution_dry_run": gettext_lazy("uji coba penghapusan"),
    "execution_closure": gettext_lazy("akun merchant ditutup"),
    "execution_notices": gettext_lazy("pemberitahuan penghapusan direncanakan"),
    "execution_summary": gettext_lazy("ringkasan untuk pemohon"),
    "execution_erasure": gettext_lazy("data dihapus"),
    "execution_link": gettext_lazy("tautan unduhan dikirim"),
    "execution_package": gettext_lazy("paket data dibuat"),
    "execution_skipped": gettext_lazy("langkah dilewati"),
    "execution_failed": gettext_lazy("langkah pelaksanaan gagal"),
    "package_built": gettext_lazy("paket data dibuat"),
    "package_downloaded": gettext_lazy("paket data diunduh"),
}

ACTOR_KINDS = {"requester": gettext_lazy("pemohon"), "system": gettext_lazy("sistem")}


def local(moment):
    return timezone.localtime(moment, ZoneInfo(settings.TIME_ZONE)) if moment else None


def short_time(moment, *, zone: bool = True) -> str:
    """'5 Jul 2026 14:00 WIB' (without 'WIB' under a heading that says it), always Asia/Jakarta;
    a narrow column breaks it only between the date and the time."""
    if moment is None:
        return "-"
    moment = local(moment)
    date = formats.date_format(moment, "j M Y").replace(" ", "\u00a0")
    # WIB: the zone's own name, the same in both languages.
    return f"{date} {moment:%H:%M}\u00a0WIB" if zone else f"{date} {moment:%H:%M}"


def verb_label(verb: str) -> str:
    return str(VERBS.get(verb, verb))


def state_label(state: str) -> str:
    return str(State(state).label) if state in State.values else state


def actor_label(event) -> str:
    if event.actor_id:
        return event.actor.get_full_name() or event.actor.get_username()
    return str(ACTOR_KINDS.get(event.actor_kind, event.actor_kind))


def user_label(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else "-"


def clock(request, *, now=None, is_late: bool | None = None):
    """The time-left cell: '2 hari 5 jam', red with 'terlambat' when late, '(berhenti)' while the
    clock is stopped (awaiting the requester).

    `is_late` comes from the queue's annotation when there is one (the list must agree with its
    late filter); otherwise it is worked out from the same fields.
    """
    now = now or timezone.now()
    running = request.state in CLOCK_STATES or request.state == State.AWAITING_REQUESTER
    if request.due_at is None or not running:
        return "-"
    left = time_left(due_at=request.due_at, paused_at=request.paused_at, now=now)
    if is_late is None:
        is_late = left.total_seconds() < 0
    paused = _("(berhenti)") if request.paused_at else ""
    if is_late:
        return format_html(
            '<span class="dsr-late">{} <strong>{}</strong></span> <span class="dsr-muted">{}</span>',
            format_duration(left), _("terlambat"), paused,
        )
    return format_html('{} <span class="dsr-muted">{}</span>', format_duration(left), paused)


def labelled(label: str, value) -> str:
    """A list cell with its heading inside, shown only where the headings are hidden (a phone)."""
    return format_html('<span class="dsr-cell-label">{}:</span> {}', label, value)
