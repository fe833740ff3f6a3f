"""A request comes in (the public form, or an officer entering one that came by e-mail or
WhatsApp) and its requester proves each address it gives.

Enumeration: nothing here asks whether an address is known to JUNOPOS. Every submission takes
the same path and the same queries whatever the address, and the page after it is the same.
Codes: six random digits and a random link secret per address, only their keyed hashes are
stored (HMAC under SECRET_KEY, bound to the request and the address kind), compared in constant
time, single use, 24 hours, five wrong tries, re-sent after a cool-down (a re-send replaces the
code and its tries).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from merchants.identifiers import normalize_email, normalize_phone

from ..audit import chain_event
from ..deadlines import deadline_rule, due_from
from ..exceptions import CodeRefused
from ..models import (
    OPEN_STATES, Channel, DataSubjectRequest, Jurisdiction, RequestAttachment, Right, State, SubjectRole,
    VerificationCode, parse_reference,
)
from ..notifications import notify_requester, phone_channel, send_code
from .common import ENTER, REQUESTER, lock, require_actor, require_state

CODE_LIFETIME = timedelta(hours=24)
MAX_FAILED_ATTEMPTS = 5
RESEND_COOLDOWN = timedelta(seconds=60)
MAX_SENDS = 5
# An attachment: a PDF or an image, at most this many bytes.
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
ATTACHMENT_TYPES = {
    b"%PDF-": ("application/pdf", ".pdf"),
    b"\x89PNG\r\n\x1a\n": ("image/png", ".png"),
    b"\xff\xd8\xff": ("image/jpeg", ".jpg"),
}


@dataclass(frozen=True)
class Upload:
    """A file a requester sent, read into memory by the form (never more than the limit)."""

    filename: str
    content: bytes


def attachment_check(upload: Upload) -> str:
    """The file's real type (from its first bytes, not its name), or ValidationError."""
    if len(upload.content) > MAX_ATTACHMENT_BYTES:
        raise ValidationError(_("Berkas terlalu besar: paling besar 5 MB."))
    if not upload.content:
        raise ValidationError(_("Berkas kosong."))
    for magic, (content_type, _ext) in ATTACHMENT_TYPES.items():
        if upload.content.startswith(magic):
            return content_type
    raise ValidationError(_("Berkas harus PDF, PNG atau JPEG."))


def attachment_store(request: DataSubjectRequest, upload: Upload, *, kind: str, event=None) -> RequestAttachment:
    content_type = attachment_check(upload)
    name = "".join(ch for ch in upload.filename if ch.isprintable())[-200:] or "lampiran"
    return RequestAttachment.objects.create(
        request=request, event=event, kind=kind, filename=name, content_type=content_type, size=len(upload.content),
        sha256=hashlib.sha256(upload.content).hexdigest(), content=upload.content,
    )


def _code_hash(request: DataSubjectRequest, via: str, secret: str, *, purpose: str) -> str:
    message = f"{purpose}:{request.public_id}:{via}:{secret}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _issue_code(request: DataSubjectRequest, *, via: str, address: str, now, row: VerificationCode | None = None) -> VerificationCode:
    """A new code and link for one address (a first one, or `row` replaced by a re-send)."""
    code = f"{secrets.randbelow(10**6):06d}"
    link_secret = secrets.token_urlsafe(18)
    if row is None:
        row = VerificationCode(request=request, via=via, address=address, created_at=now)
    else:
        row.send_count += 1
        row.failed_attempts = 0
    row.code_hash = _code_hash(request, via, code, purpose="code")
    row.link_hash = _code_hash(request, via, link_secret, purpose="link")
    row.sent_at, row.expires_at = now, now + CODE_LIFETIME
    row.save()
    send_code(request, via=via, address=address, code=code, link_secret=link_secret)
    return row


def _save_head(request: DataSubjectRequest) -> None:
    """Store the chain's head alone: an UPDATE without a history copy (the head is not a change
    anyone made; the events are the record of it)."""
    DataSubjectRequest.objects.filter(pk=request.pk).update(event_count=request.event_count, head_hash=request.head_hash)


def _addresses(request: DataSubjectRequest) -> list[tuple[str, str]]:
    found = []
    if request.email:
        found.append(("email", request.email))
    if request.phone:
        found.append((phone_channel(), request.phone))
    return found


def request_validate(
    *, right: str, subject_role: str, requester_name: str, email: str = "", phone: str = "",
    shop_name: str = "", is_representative: bool = False, subject_name: str = "", wrong_data: str = "",
    correct_data: str = "", appeal_reference: str = "", authorisation: Upload | None = None,
    language: str = "id", jurisdiction: str = Jurisdiction.ID, details: str = "", reason: str = "",
    channel: str = Channel.WEB, merchant_id: int | None = None, original_message: str = "",
    identity_method: str = "",
) -> DataSubjectRequest:
    """An unsaved request from what was given, or ValidationError naming each wrong field."""
    errors: dict[str, list[str]] = {}
    clean_email = normalize_email(email) if email and email.strip() else None
    clean_phone = normalize_phone(phone) if phone and phone.strip() else None
    if email and email.strip() and not clean_email:
        errors.setdefault("email", []).append(_("Alamat e-mail tidak valid."))
    if phone and phone.strip() and not clean_phone:
        errors.setdefault("phone", []).append(_("Nomor telepon tidak valid. Contoh: 0812 3456 7890."))
    if not (email and email.strip()) and not (phone and phone.strip()):
        errors.setdefault("email", []).append(_("Isi alamat e-mail, nomor telepon, atau keduanya."))
    if subject_role == SubjectRole.CUSTOMER and not shop_name.strip():
        errors.setdefault("shop_name", []).append(_("Sebutkan toko tempat Anda menjadi pelanggan."))
    if is_representative:
        if not subject_name.strip():
            errors.setdefault("subject_name", []).append(_("Sebutkan nama orang yang Anda wakili."))
        if authorisation is None and channel == Channel.WEB:
            errors.setdefault("authorisation", []).append(_("Unggah surat kuasa yang ditandatangani."))
    if authorisation is not None:
        try:
            attachment_check(authorisation)
        except ValidationError as exc:
            errors.setdefault("authorisation", []).extend(exc.messages)
    if right == Right.CORRECTION:
        if not wrong_data.strip():
            errors.setdefault("wrong_data", []).append(_("Sebutkan data mana yang salah."))
        if not correct_data.strip():
            errors.setdefault("correct_data", []).append(_("Sebutkan data yang benar."))
    appeal_of = None
    if right == Right.APPEAL:
        pk = parse_reference(appeal_reference)
        if pk is None:
            errors.setdefault("appeal_reference", []).append(_("Tulis nomor permintaan yang ditolak, mis. DSR-2026-000123."))
        else:
            appeal_of = DataSubjectRequest.objects.filter(pk=pk, state=State.REFUSED).only("pk").first()
    request = DataSubjectRequest(
        right=right, subject_role=subject_role, requester_name=requester_name.strip(), email=clean_email or "",
        phone=clean_phone or "", shop_name=shop_name.strip(), is_representative=is_representative,
        subject_name=subject_name.strip(), details=details.strip(), wrong_data=wrong_data.strip(),
        correct_data=correct_data.strip(), reason=reason.strip(), appeal_of=appeal_of, language=language,
        jurisdiction=jurisdiction, channel=channel, merchant_id=merchant_id, original_message=original_message,
        identity_method=identity_method,
    )
    try:
        # Uniqueness and the contact constraint are the database's to enforce (one query fewer each).
        request.full_clean(exclude=["submission_key"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(m for m in messages if m not in errors.get(field, []))
    if errors:
        raise ValidationError(errors)
    return request


def request_submit(
    *, submission_key: str, authorisation: Upload | None = None, api_client=None, external_id: str = "",
    callback_url: str = "", purposes=(), **given,
) -> tuple[DataSubjectRequest, bool]:
    """Take a request from the public form (or the API: its client, id, callback URL); returns (request, created).

    The same `submission_key` (a double submit, a browser retry, two racing posts) gives back
    the request it made the first time, with nothing sent again. Codes go to every address given.
    """
    request = request_validate(authorisation=authorisation, **given)
    request.submission_key = submission_key
    request.api_client, request.external_id, request.callback_url = api_client, external_id, callback_url
    try:
        with transaction.atomic():
            request.save(force_insert=True)
            if purposes:
                request.purposes.set(purposes)
            chain_event(request, verb="submitted", actor_kind=REQUESTER, to_state=State.SUBMITTED)
            _save_head(request)
            if authorisation is not None:
                attachment_store(request, authorisation, kind=RequestAttachment.Kind.AUTHORISATION)
            now = timezone.now()
            for via, address in _addresses(request):
                _issue_code(request, via=via, address=address, now=now)
    except IntegrityError:
        existing = DataSubjectRequest.objects.filter(submission_key=submission_key).first()
        if existing is None:
            raise
        return existing, False
    return request, True


def request_enter(*, actor, authorisation: Upload | None = None, note: str = "", **given) -> DataSubjectRequest:
    """An officer records a request that came by e-mail or WhatsApp: identity checked by the officer, clock started."""
    require_actor(actor, ENTER, what=_("mencatat permintaan"))
    if given.get("channel") not in (Channel.EMAIL, Channel.WHATSAPP):
        raise ValidationError({"channel": [_("Pilih saluran asal permintaan: e-mail atau WhatsApp.")]})
    if not (given.get("original_message") or "").strip():
        raise ValidationError({"original_message": [_("Tempel pesan asli dari pemohon.")]})
    if not (given.get("identity_method") or "").strip():
        raise ValidationError({"identity_method": [_("Jelaskan bagaimana identitas pemohon diperiksa.")]})
    request = request_validate(authorisation=authorisation, **given)
    with transaction.atomic():
        now = timezone.now()
        request.state = State.VERIFIED
        request.verified_at = now
        request.due_at = due_from(now, deadline_rule(right=request.right, jurisdiction=request.jurisdiction))
        request._history_user = actor
        request.save(force_insert=True)
        with translation.override(request.language):
            told = _received_told(request)
        chain_event(request, verb="entered", actor=actor, to_state=State.VERIFIED, note=note, told=told)
        _save_head(request)
        if authorisation is not None:
            attachment_store(request, authorisation, kind=RequestAttachment.Kind.AUTHORISATION)
        notify_requester(request, told=told)
    return request


def request_code_resend(*, request_id: int, via: str) -> VerificationCode:
    """Send a new code to one address of an unverified request, after the cool-down."""
    with transaction.atomic():
        request = lock(request_id)
        require_state(request, [State.SUBMITTED], what=_("mengirim ulang kode"))
        row = VerificationCode.objects.filter(request=request, via=via).first()
        if row is None or row.used_at is not None:
            raise CodeRefused(_("Alamat ini tidak menunggu kode."))
        now = timezone.now()
        if now - row.sent_at < RESEND_COOLDOWN:
            seconds = int((RESEND_COOLDOWN - (now - row.sent_at)).total_seconds()) + 1
            raise CodeRefused(_("Tunggu %(seconds)s detik sebelum meminta kode baru.") % {"seconds": seconds})
        if row.send_count >= MAX_SENDS:
            raise CodeRefused(_("Kode sudah dikirim ulang terlalu sering. Ajukan permintaan baru."))
        chain_event(request, verb="code_resent", actor_kind=REQUESTER, note=via)
        _save_head(request)
        return _issue_code(request, via=via, address=row.address, now=now, row=row)


def request_verify(*, request_id: int, via: str, code: str = "", link_secret: str = "") -> DataSubjectRequest:
    """Prove one address by its code (typed) or its link secret (clicked).

    A wrong code counts against the address's five tries, and that count is committed even
    though the step is refused. When every address is proven the request is verified: its
    clock starts, and a request of the same right from the same person that is still open
    makes this one a duplicate of it.
    """
    refusal = None
    with transaction.atomic():
        request = lock(request_id)
        row = VerificationCode.objects.select_for_update().filter(request=request, via=via).first()
        now = timezone.now()
        if request.state != State.SUBMITTED or row is None:
            raise CodeRefused(_("Permintaan ini tidak menunggu verifikasi."))
        if row.used_at is not None:
            raise CodeRefused(_("Kode ini sudah digunakan."))
        if row.failed_attempts >= MAX_FAILED_ATTEMPTS:
            raise CodeRefused(_("Terlalu banyak percobaan yang salah. Minta kode baru."))
        if now >= row.expires_at:
            raise CodeRefused(_("Kode sudah kedaluwarsa (berlaku 24 jam). Minta kode baru."))
        if link_secret:
            matches = hmac.compare_digest(row.link_hash, _code_hash(request, via, link_secret, purpose="link"))
        else:
            typed = "".join(ch for ch in code if ch.isdigit())
            matches = hmac.compare_digest(row.code_hash, _code_hash(request, via, typed, purpose="code"))
        if not matches:
            row.failed_attempts += 1
            row.save(update_fields=["failed_attempts"])
            left = MAX_FAILED_ATTEMPTS - row.failed_attempts
            refusal = (
                _("Kode salah. Sisa percobaan: %(left)s.") % {"left": left} if left
                else _("Kode salah. Percobaan habis: minta kode baru.")
            )
        else:
            row.used_at = now
            row.save(update_fields=["used_at"])
            chain_event(request, verb="address_verified", actor_kind=REQUESTER, note=via)
            if not VerificationCode.objects.filter(request=request, used_at__isnull=True).exists():
                _verified(request, now=now)
            request.save()
    if refusal:
        raise CodeRefused(refusal)
    return request


def _verified(request: DataSubjectRequest, *, now) -> None:
    with translation.override(request.language):
        _verified_in_language(request, now=now)


def _verified_in_language(request: DataSubjectRequest, *, now) -> None:
    request.state = State.VERIFIED
    request.verified_at = now
    request.due_at = due_from(now, deadline_rule(right=request.right, jurisdiction=request.jurisdiction))
    original = _open_twin(request)
    if original is not None:
        request.state = State.DUPLICATE
        request.duplicate_of = original
        request.closed_at = now
        request.due_at = None
        told = _(
            "Anda sudah memiliki permintaan yang sama yang masih diproses (%(ref)s). Permintaan ini "
            "digabungkan ke permintaan tersebut; ikuti perkembangannya melalui tautan di pesan kami sebelumnya."
        ) % {"ref": original.reference}
        chain_event(
            request, verb="duplicate", actor_kind="system", from_state=State.SUBMITTED, to_state=State.DUPLICATE,
            note=original.reference, told=told,
        )
    else:
        told = _received_told(request)
        chain_event(request, verb="verified", actor_kind=REQUESTER, from_state=State.SUBMITTED, to_state=State.VERIFIED, told=told)
    notify_requester(request, told=told)
    if request.api_client_id:
        from .api import status_callback_queue

        status_callback_queue(request)


def _open_twin(request: DataSubjectRequest) -> DataSubjectRequest | None:
    """The open, verified request of the same right from the same person (same e-mail or phone)."""
    from ..selectors import same_person_q

    return (
        DataSubjectRequest.objects.filter(same_person_q(request), right=request.right, state__in=OPEN_STATES - {State.SUBMITTED})
        .exclude(pk=request.pk).order_by("created_at").first()
    )


def _received_told(request: DataSubjectRequest) -> str:
    from ..formatting import format_due

    if request.due_at is None:
        return _("Identitas Anda terverifikasi. Kami akan meninjau permintaan %(ref)s dan mengabari Anda.") % {
            "ref": request.reference
        }
    return _(
        "Identitas Anda terverifikasi. Kami akan menanggapi permintaan %(ref)s paling lambat %(due)s."
    ) % {"ref": request.reference, "due": format_due(request.due_at)}
