"""The officers' steps on a request, and the requester's own (answer, withdraw).

Every function here is one `transition`: permission, row lock, state guard, event, message.
Deletions and restrictions are approved by two people: an officer proposes
(`request_propose`), a member of the Data protection officer group who did not propose it
approves (`request_approve`).
"""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _

from consent.exceptions import ConsentError
from consent.models import Action, LegalBasis
from consent.models import Channel as ConsentChannel
from consent.services import consent_record, subject_ref

from ..deadlines import deadline_rule, extended_due
from ..exceptions import RequestError, TransitionRefused
from ..formatting import format_due
from ..models import (
    FOUR_EYES_RIGHTS, Channel, DataSubjectRequest, RefusalReason, RequestAttachment, RequestEvent, Right, State,
)
from .common import APPROVE_SENSITIVE, EXECUTE, REQUESTER, SYSTEM, WORK, require_actor, transition
from .intake import Upload, attachment_store

# States in which officers work a request.
WORKING = (State.VERIFIED, State.IN_REVIEW, State.AWAITING_REQUESTER)
# States from which a requester may withdraw.
WITHDRAWABLE = (State.SUBMITTED, State.VERIFIED, State.IN_REVIEW, State.AWAITING_REQUESTER, State.APPROVED)
# Questions an officer may ask: the reason (only of a correction or a deletion, as the policy
# allows), or more information (any right).
ASK_REASON_RIGHTS = frozenset({Right.CORRECTION, Right.DELETION})

# The rights that land in the consent ledger when completed: the purposes each may name (by the
# purpose's legal basis) and what is recorded for each. A withdrawal ends consent or objects to a
# legitimate interest; an objection is to a legitimate interest; a restriction holds whatever the
# basis, but what the law obliges (KYC, law enforcement) cannot be restricted.
LEDGER_RIGHTS = {
    Right.WITHDRAWAL: ((LegalBasis.CONSENT, LegalBasis.LEGITIMATE_INTEREST), Action.WITHDRAWN),
    Right.OBJECTION: ((LegalBasis.LEGITIMATE_INTEREST,), Action.WITHDRAWN),
    Right.RESTRICTION: ((LegalBasis.CONSENT, LegalBasis.LEGITIMATE_INTEREST, LegalBasis.CONTRACT), Action.RESTRICTED),
}


def purpose_bases_for(right: str) -> tuple[str, ...]:
    """The legal bases of the purposes a request of `right` may name (none: it names no purpose)."""
    return LEDGER_RIGHTS[right][0] if right in LEDGER_RIGHTS else ()


def request_assign(*, request_id: int, actor, assignee) -> DataSubjectRequest:
    """Give the request to an officer (the actor, or another); a verified request goes into review."""
    if assignee is None or not (assignee.is_active and assignee.has_perm(WORK)):
        raise RequestError(_("Petugas yang dipilih tidak berwenang menangani permintaan."))

    def change(request, now):
        request.assignee = assignee
        if request.state == State.VERIFIED:
            request.state = State.IN_REVIEW

    request, _event = transition(
        request_id, verb="assigned", what=_("menugaskan petugas"), actor=actor, permission=WORK,
        allowed_from=WORKING + (State.APPROVED, State.PROCESSING), change=change, note=assignee.get_username(),
    )
    return request


def request_ask(*, request_id: int, actor, question: str, about: str = "information") -> DataSubjectRequest:
    """Ask the requester (the reason of a correction or deletion, or more information); the clock stops."""
    if not question.strip():
        raise RequestError(_("Tulis pertanyaan untuk pemohon."))
    if about not in ("reason", "information"):
        raise RequestError(_("Jenis pertanyaan tidak dikenal."))

    def change(request, now):
        if about == "reason" and request.right not in ASK_REASON_RIGHTS:
            raise TransitionRefused(_("Alasan hanya dapat ditanyakan untuk perbaikan atau penghapusan data."))

    def told(request):
        if about == "reason":
            lead = _("Untuk memproses permintaan %(ref)s, kami perlu mengetahui alasannya:")
        else:
            lead = _("Untuk memproses permintaan %(ref)s, kami memerlukan informasi tambahan:")
        return (lead % {"ref": request.reference}) + "\n\n" + question.strip() + "\n\n" + _(
            "Jawab melalui halaman status permintaan Anda. Tenggat waktu kami berhenti berjalan sampai Anda menjawab."
        )

    request, _event = transition(
        request_id, verb="asked_reason" if about == "reason" else "asked_information", what=_("bertanya kepada pemohon"),
        actor=actor, permission=WORK, allowed_from=[State.VERIFIED, State.IN_REVIEW],
        to_state=State.AWAITING_REQUESTER, note=question.strip(), told=told, change=change,
    )
    return request


def request_answer(*, request_id: int, text: str, attachment: Upload | None = None) -> DataSubjectRequest:
    """The requester answers the officer's question (from the status page); the clock restarts."""
    if not text.strip() and attachment is None:
        raise RequestError(_("Tulis jawaban Anda atau lampirkan berkas."))
    holder: dict[str, object] = {}

    def change(request, now):
        if attachment is not None:
            holder["attachment"] = attachment_store(request, attachment, kind=RequestAttachment.Kind.ANSWER)

    def told(request):
        return _("Jawaban Anda untuk permintaan %(ref)s telah kami terima. Kami melanjutkan peninjauan.") % {
            "ref": request.reference
        }

    request, event = transition(
        request_id, verb="answered", what=_("menjawab"), actor_kind=REQUESTER,
        allowed_from=[State.AWAITING_REQUESTER], to_state=State.IN_REVIEW, note=text.strip(), told=told,
        change=change,
    )
    stored = holder.get("attachment")
    if stored is not None:
        RequestAttachment.objects.filter(pk=stored.pk).update(event=event)
    return request


def request_extend(*, request_id: int, actor, reason: str) -> DataSubjectRequest:
    """Extend the deadline once, by the period of the deadline table; the requester is told why."""
    if not reason.strip():
        raise RequestError(_("Tulis alasan perpanjangan; alasan ini disampaikan kepada pemohon."))

    def change(request, now):
        if request.extended_at is not None:
            raise TransitionRefused(_("Tenggat permintaan ini sudah pernah diperpanjang."))
        rule = deadline_rule(right=request.right, jurisdiction=request.jurisdiction)
        if request.due_at is None or rule is None or not rule.extension_period:
            raise TransitionRefused(_("Hak ini tidak memiliki masa perpanjangan."))
        request.due_at = extended_due(request.due_at, rule)
        request.extended_at = now
        request.extension_reason = reason.strip()

    def told(request):
        return _("Kami memperpanjang waktu penanganan permintaan %(ref)s sampai %(due)s, karena: %(reason)s") % {
            "ref": request.reference, "due": format_due(request.due_at), "reason": reason.strip(),
        }

    request, _event = transition(
        request_id, verb="extended", what=_("memperpanjang tenggat"), actor=actor, permission=WORK,
        allowed_from=WORKING + (State.APPROVED, State.PROCESSING), note=reason.strip(), told=told, change=change,
    )
    return request


def request_refuse(*, request_id: int, actor, reason: str, text: str) -> DataSubjectRequest:
    """Refuse with a reason code and an explanation the requester reads; they may appeal."""
    if reason not in RefusalReason.values:
        raise RequestError(_("Pilih alasan penolakan."))
    if not text.strip():
        raise RequestError(_("Tulis penjelasan penolakan untuk pemohon."))

    def change(request, now):
        request.refusal_reason = reason
        request.refusal_text = text.strip()

    def told(request):
        return _(
            "Permintaan %(ref)s tidak dapat kami penuhi. Alasan: %(reason)s.\n\n%(text)s\n\n"
            "Jika Anda tidak setuju, Anda dapat mengajukan banding melalui halaman status permintaan."
        ) % {"ref": request.reference, "reason": RefusalReason(reason).label, "text": text.strip()}

    request, _event = transition(
        request_id, verb="refused", what=_("menolak"), actor=actor, permission=WORK,
        allowed_from=WORKING + (State.APPROVED,), to_state=State.REFUSED, note=f"{reason}: {text.strip()}",
        told=told, change=change,
    )
    return request


def request_propose(*, request_id: int, actor, note: str = "") -> DataSubjectRequest:
    """Prepare a deletion or restriction for the second person's approval."""

    def change(request, now):
        if request.right not in FOUR_EYES_RIGHTS:
            raise TransitionRefused(_("Permintaan ini tidak memerlukan persetujuan orang kedua: setujui langsung."))
        if request.prepared_by_id is not None:
            raise TransitionRefused(_("Permintaan ini sudah diusulkan untuk disetujui."))
        request.prepared_by = actor

    request, _event = transition(
        request_id, verb="proposed", what=_("mengusulkan persetujuan"), actor=actor, permission=WORK,
        allowed_from=[State.IN_REVIEW], note=note.strip(), change=change,
    )
    return request


def request_approve(*, request_id: int, actor, note: str = "") -> DataSubjectRequest:
    """Approve: the request waits, visibly, for execution. Four eyes for deletions and restrictions."""
    require_actor(actor, WORK, what=_("menyetujui permintaan"))

    def change(request, now):
        if request.right in FOUR_EYES_RIGHTS:
            if request.prepared_by_id is None:
                raise TransitionRefused(_("Penghapusan dan pembatasan harus diusulkan dulu oleh seorang petugas."))
            if request.prepared_by_id == actor.pk:
                raise TransitionRefused(_("Persetujuan harus diberikan oleh orang lain, bukan yang mengusulkan."))
            require_actor(actor, APPROVE_SENSITIVE, what=_("menyetujui penghapusan atau pembatasan"))

    def told(request):
        return _("Permintaan %(ref)s telah disetujui dan akan kami laksanakan. Kami akan mengabari Anda jika sudah selesai.") % {
            "ref": request.reference
        }

    request, _event = transition(
        request_id, verb="approved", what=_("menyetujui"), actor=actor, permission=WORK,
        allowed_from=[State.IN_REVIEW], to_state=State.APPROVED, note=note.strip(), told=told, change=change,
    )
    return request


def request_withdraw(*, request_id: int, note: str = "") -> DataSubjectRequest:
    """The requester withdraws the request (from the status page, or through the API: `note` says which client)."""

    def told(request):
        return _("Permintaan %(ref)s telah Anda batalkan. Tidak ada tindakan lebih lanjut.") % {"ref": request.reference}

    request, _event = transition(
        request_id, verb="withdrawn", what=_("membatalkan"), actor_kind=REQUESTER, allowed_from=WITHDRAWABLE,
        to_state=State.WITHDRAWN, told=told, note=note,
    )
    return request


def request_mark_duplicate(*, request_id: int, actor, original_id: int) -> DataSubjectRequest:
    """An officer links a request to the open one of the same person and right that it repeats."""
    original = DataSubjectRequest.objects.filter(pk=original_id).first()
    if original is None or original.pk == request_id or not original.is_open:
        raise RequestError(_("Pilih permintaan asli yang masih terbuka."))

    def change(request, now):
        if original.right != request.right:
            raise TransitionRefused(_("Permintaan asli harus untuk hak yang sama."))
        request.duplicate_of = original

    def told(request):
        return _("Permintaan %(ref)s sama dengan permintaan Anda %(original)s yang masih diproses; kami menanganinya di sana.") % {
            "ref": request.reference, "original": original.reference,
        }

    request, _event = transition(
        request_id, verb="duplicate", what=_("menandai duplikat"), actor=actor, permission=WORK,
        allowed_from=WORKING, to_state=State.DUPLICATE, note=original.reference, told=told, change=change,
    )
    return request


def request_start(*, request_id: int, actor=None) -> DataSubjectRequest:
    """Execution begins (the task of the execution issue, or an officer with the right permission)."""
    request, _event = transition(
        request_id, verb="processing", what=_("memulai pelaksanaan"), actor=actor, actor_kind=SYSTEM,
        permission=EXECUTE, allowed_from=[State.APPROVED], to_state=State.PROCESSING,
    )
    return request


def request_complete(
    *, request_id: int, actor=None, result: str | Callable[[DataSubjectRequest], str],
) -> DataSubjectRequest:
    """Execution is done: the requester is told the result.

    `result` is a text, or a function of the request that writes it: called once in the
    requester's language for her message, once in the actor's for the event's note."""

    def told(request):
        text = result(request) if callable(result) else result
        return _("Permintaan %(ref)s telah selesai dilaksanakan.") % {"ref": request.reference} + "\n\n" + text

    def change(request, now):
        if request.right in LEDGER_RIGHTS:
            _record_in_ledger(request, actor=actor, now=now)

    request, _event = transition(
        request_id, verb="completed", what=_("menyelesaikan"), actor=actor, actor_kind=SYSTEM, permission=EXECUTE,
        allowed_from=[State.PROCESSING], to_state=State.COMPLETED, told=told, change=change,
        note=result(DataSubjectRequest.objects.get(pk=request_id)) if callable(result) else result,
    )
    return request


def _record_in_ledger(request: DataSubjectRequest, *, actor, now) -> None:
    """A completed withdrawal, objection or restriction: one ledger event per purpose it names, in
    the completion's transaction (a refusal leaves the request processing and nothing recorded).

    The channel is where the person made the choice: the portal's form, JUNOPOS's API, or an
    officer who entered an e-mailed or WhatsApp'd request (the officer who entered it is the
    event's `entered_by`, checked for the right to record consent)."""
    bases, action = LEDGER_RIGHTS[request.right]
    purposes = list(request.purposes.order_by("number"))
    if not purposes:
        raise TransitionRefused(
            _("Permintaan %(ref)s tidak menyebut tujuan pemrosesan mana pun: tidak ada yang dapat dicatat.")
            % {"ref": request.reference}
        )
    for purpose in purposes:
        if purpose.basis not in bases:
            raise TransitionRefused(
                _("Tujuan “%(purpose)s” (dasar hukum: %(basis)s) tidak dapat dicatat untuk permintaan %(ref)s "
                  "(%(right)s).") % {
                    "purpose": purpose.name_id, "basis": LegalBasis(purpose.basis).label, "ref": request.reference,
                    "right": request.get_right_display(),
                }
            )
    channel, entered_by, client = ConsentChannel.PORTAL, None, None
    if request.api_client_id is not None:
        channel, client = ConsentChannel.API, request.api_client
    elif request.channel in (Channel.EMAIL, Channel.WHATSAPP):
        entry = RequestEvent.objects.filter(request=request, verb="entered").only("actor").first()
        channel, entered_by = ConsentChannel.ADMIN, (entry.actor if entry is not None else actor)
    try:
        subject = subject_ref(
            email=request.email or None, phone=request.phone or None, merchant_id=request.merchant_id,
        )
        for purpose in purposes:
            consent_record(
                subject=subject, purpose=purpose, action=action, channel=channel, occurred_at=now,
                actor=entered_by, client=client, reference=request.reference,
            )
    except ConsentError as error:
        raise TransitionRefused(error.message) from None


def request_attachment_read(*, request_id: int, attachment_id: int, actor) -> RequestAttachment:
    """A person opens a requester's file: the read is a step on personal data, so it is recorded."""
    from ..models import CLOSED_STATES, OPEN_STATES

    holder: dict[str, RequestAttachment] = {}

    def change(request, now):
        holder["file"] = RequestAttachment.objects.get(pk=attachment_id, request=request)

    transition(
        request_id, verb="attachment_read", what=_("membuka lampiran"), actor=actor,
        permission="requests_portal.view_datasubjectrequest", allowed_from=OPEN_STATES | CLOSED_STATES,
        note=str(attachment_id), change=change,
    )
    return holder["file"]
