"""What the public pages show of a request, in plain words: its state, its timeline as the
requester may read it, its deadline, and what the requester can do now.

The requester sees what happened and what they were told (`RequestEvent.told`), never an
officer's note nor who the officer was: an officer is "Petugas JUNOPOS".
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import ngettext

from .deadlines import deadline_rule, time_left
from .formatting import format_due, format_duration
from .models import DataSubjectRequest, Jurisdiction, Right, State, Unit, VerificationCode
from .selectors import request_timeline
from .services.workflow import WITHDRAWABLE

STATE_EXPLANATIONS = {
    State.SUBMITTED: gettext_lazy(
        "Kami menunggu Anda membuktikan setiap alamat yang Anda berikan, dengan kode atau tautan yang kami kirim ke sana."
    ),
    State.VERIFIED: gettext_lazy("Identitas Anda terverifikasi. Permintaan Anda menunggu ditinjau petugas kami."),
    State.IN_REVIEW: gettext_lazy("Petugas kami sedang meninjau permintaan Anda."),
    State.AWAITING_REQUESTER: gettext_lazy(
        "Kami menunggu jawaban Anda atas pertanyaan di bawah. Tenggat kami berhenti berjalan sampai Anda menjawab."
    ),
    State.APPROVED: gettext_lazy("Permintaan Anda disetujui dan menunggu dilaksanakan."),
    State.PROCESSING: gettext_lazy("Kami sedang melaksanakan permintaan Anda."),
    State.COMPLETED: gettext_lazy("Permintaan Anda sudah selesai dilaksanakan."),
    State.REFUSED: gettext_lazy(
        "Kami tidak dapat memenuhi permintaan Anda; alasannya ada di riwayat di bawah. Jika tidak setuju, "
        "Anda dapat mengajukan banding."
    ),
    State.WITHDRAWN: gettext_lazy("Anda membatalkan permintaan ini. Tidak ada tindakan lebih lanjut."),
    State.EXPIRED: gettext_lazy(
        "Alamat Anda tidak dibuktikan dalam 7 hari, jadi permintaan ini berakhir dan data kontaknya dihapus. "
        "Anda dapat mengajukan permintaan baru."
    ),
    State.DUPLICATE: gettext_lazy(
        "Permintaan ini sama dengan permintaan Anda yang lain yang masih berjalan; kami menanganinya di sana."
    ),
}

# What each step of the workflow was, as the requester reads it.
VERBS = {
    "submitted": gettext_lazy("Permintaan diterima"),
    "entered": gettext_lazy("Permintaan dicatat oleh petugas"),
    "code_resent": gettext_lazy("Kode baru dikirim"),
    "address_verified": gettext_lazy("Alamat terbukti milik Anda"),
    "verified": gettext_lazy("Identitas terverifikasi"),
    "duplicate": gettext_lazy("Digabungkan dengan permintaan Anda yang sama"),
    "assigned": gettext_lazy("Petugas ditugaskan"),
    "asked_reason": gettext_lazy("Kami menanyakan alasan Anda"),
    "asked_information": gettext_lazy("Kami meminta informasi tambahan"),
    "answered": gettext_lazy("Anda menjawab"),
    "extended": gettext_lazy("Tenggat diperpanjang"),
    "proposed": gettext_lazy("Diajukan untuk persetujuan"),
    "refused": gettext_lazy("Permintaan ditolak"),
    "approved": gettext_lazy("Permintaan disetujui"),
    "processing": gettext_lazy("Pelaksanaan dimulai"),
    "completed": gettext_lazy("Selesai"),
    "withdrawn": gettext_lazy("Permintaan dibatalkan"),
    "expired": gettext_lazy("Permintaan berakhir (alamat tidak dibuktikan)"),
}

VIA_NAMES = {
    VerificationCode.Via.EMAIL: gettext_lazy("E-mail"),
    VerificationCode.Via.SMS: gettext_lazy("SMS"),
    VerificationCode.Via.WHATSAPP: gettext_lazy("WhatsApp"),
}

REQUESTER, SYSTEM = "requester", "system"


def period_text(period: int, unit: str) -> str:
    """'3 x 24 jam', '30 hari', '1 bulan': a legal period as the law writes it."""
    if unit == Unit.HOURS:
        if period % 24 == 0:
            return _("%(n)s x 24 jam") % {"n": period // 24}
        return ngettext("%(n)s jam", "%(n)s jam", period) % {"n": period}
    if unit == Unit.DAYS:
        return ngettext("%(n)s hari", "%(n)s hari", period) % {"n": period}
    return ngettext("%(n)s bulan", "%(n)s bulan", period) % {"n": period}


def form_promise(right: str) -> dict:
    """How long a request of this right may take, from the deadline table (UU PDP)."""
    rule = deadline_rule(right=right, jurisdiction=Jurisdiction.ID)
    if rule is None or not rule.period:
        return {"period": None, "extension": None}
    extension = period_text(rule.extension_period, rule.extension_unit) if rule.extension_period else None
    return {"period": period_text(rule.period, rule.unit), "extension": extension}


def mask_address(via: str, address: str) -> str:
    """Enough of an address to recognise it, not to learn it from a forwarded link."""
    if via == VerificationCode.Via.EMAIL and "@" in address:
        local, domain = address.split("@", 1)
        return f"{local[:1]}\u2022\u2022\u2022@{domain}"
    return "\u2022\u2022\u2022\u2022" + address[-3:]


def _who(event) -> str:
    if event.actor_kind == REQUESTER:
        return _("Anda")
    if event.actor_id is not None or event.actor_kind not in (REQUESTER, SYSTEM):
        return _("Petugas JUNOPOS")
    return _("Sistem")


def _what(event) -> str:
    if event.verb == "address_verified":
        return _("Alamat terbukti milik Anda (%(via)s)") % {"via": VIA_NAMES.get(event.note, event.note)}
    if event.verb == "code_resent":
        return _("Kode baru dikirim (%(via)s)") % {"via": VIA_NAMES.get(event.note, event.note)}
    return str(VERBS.get(event.verb, _("Perubahan pada permintaan")))


def timeline(request: DataSubjectRequest) -> list[dict]:
    zone = ZoneInfo(settings.TIME_ZONE)
    entries = []
    for event in request_timeline(request):
        what = _what(event)
        state = str(State(event.to_state).label) if event.to_state in State.values else ""
        entries.append({
            "at": timezone.localtime(event.created_at, zone),
            "when": format_due(event.created_at),
            "who": _who(event),
            "what": what,
            "told": event.told,
            # The state it led to, unless the step's name already says it.
            "state": state if state != what else "",
        })
    return entries


def open_question(request: DataSubjectRequest) -> str:
    """What the officer asked (the last question), while the request awaits the requester."""
    if request.state != State.AWAITING_REQUESTER:
        return ""
    event = request.events.filter(verb__startswith="asked_").order_by("-seq").only("told").first()
    return event.told if event else ""


def deadline(request: DataSubjectRequest) -> dict | None:
    if request.due_at is None or request.state not in (
        State.VERIFIED, State.IN_REVIEW, State.AWAITING_REQUESTER, State.APPROVED, State.PROCESSING,
    ):
        return None
    left = time_left(due_at=request.due_at, paused_at=request.paused_at, now=timezone.now())
    return {
        "due": format_due(request.due_at),
        "paused": request.paused_at is not None,
        "left": format_duration(left) if left is not None and left.total_seconds() > 0 else "",
        "extended": request.extended_at is not None,
    }


def pending_addresses(request: DataSubjectRequest) -> list[dict]:
    """The addresses still to prove, while the request waits for them."""
    if request.state != State.SUBMITTED:
        return []
    return [
        {"via": code.via, "name": VIA_NAMES.get(code.via, code.via), "masked": mask_address(code.via, code.address)}
        for code in request.codes.filter(used_at__isnull=True).order_by("via")
    ]


def status_context(request: DataSubjectRequest) -> dict:
    return {
        "dsr": request,
        "state_label": request.get_state_display(),
        "state_explanation": STATE_EXPLANATIONS.get(request.state, ""),
        "received": format_due(request.created_at),
        "timeline": timeline(request),
        "deadline": deadline(request),
        "pending": pending_addresses(request),
        "question": open_question(request),
        "can_withdraw": request.state in WITHDRAWABLE,
        "can_appeal": request.state == State.REFUSED and request.right != Right.APPEAL,
    }
