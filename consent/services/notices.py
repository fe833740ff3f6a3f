"""Erasure notices: telling each recipient that received a subject's data that she was erased.

The disclosure register says who received what (allowed disclosures only: a refused one sent
nothing). `erasure_notices_plan` runs BEFORE the erasure, while her address is still in hand:
it makes one `ErasureNotice` per recipient (hashes only, unique per recipient and reference,
so a second call adds nothing) and writes the e-mail to the recipient's erasure contact into
the outbox in the same transaction. On commit the outbox sends it (its own task, retries and
back-off) and one `consent.erasure_notice_send` task per notice follows it: it records the
notice as sent (or failed) once the outbox has settled the message, and then empties the
message's text, the only place her address was written (see ErasureNotice's docstring).
An officer records the recipient's confirmation with `erasure_notice_acknowledge`.
"""

from __future__ import annotations

from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from junoprivacy.celery import enqueue_on_commit
from merchants.identifiers import normalize_email, normalize_phone
from messaging.models import OutboundMessage
from messaging.services import message_queue
from retention.pseudonyms import pseudonym
from retention.registry import Category
from retention.services.common import require_permission

from ..exceptions import ConsentError
from ..models import Disclosure, ErasureNotice, Recipient

SEND_TASK = "consent.erasure_notice_send"
MESSAGE_KIND = "erasure_notice"
# Outbox states after which the message will not change any more.
SETTLED = {
    OutboundMessage.State.SENT: ErasureNotice.State.SENT,
    OutboundMessage.State.REFUSED: ErasureNotice.State.FAILED,
    OutboundMessage.State.FAILED: ErasureNotice.State.FAILED,
}
# What erasure_notice_send answers while the outbox is still trying (its task asks again later).
WAITING = "waiting"


def erasure_notices_plan(
    *, email: str | None = None, phone: str | None = None, reference: str, actor=None,
) -> list[ErasureNotice]:
    """Plan (and queue) the erasure notices of one subject: one per recipient of her allowed
    disclosures, found by her e-mail or phone, as written or as the keyed hash an earlier
    erasure left. Returns every notice of this reference, those of an earlier call included.

    Call it BEFORE the subject's erasure, with her address: the e-mail must name her for the
    recipient to find her, and after the erasure nothing here holds her address any more (the
    notices are found by hashes, but the e-mail could not be written). `actor` is recorded as
    who planned them; it needs no permission of its own (it is a step of an erasure that was
    already approved), and None is the system executing it.
    """
    email, phone = normalize_email(email), normalize_phone(phone)
    if not email and not phone:
        raise ConsentError(_("Masukkan e-mail atau nomor telepon yang valid."), code="no_subject", field="email")
    reference = " ".join((reference or "").split())[:64]
    if not reference:
        raise ConsentError(_("Pemberitahuan penghapusan memerlukan rujukan."), code="no_reference", field="reference")
    hashes = {k: pseudonym(v, kind=k) for k, v in (("email", email), ("phone", phone)) if v}
    found = Q(pk__in=[])
    if email:
        found |= Q(email__in=[email, hashes["email"]])
    if phone:
        found |= Q(phone__in=[phone, hashes["phone"]])

    received: dict[int, dict] = defaultdict(lambda: {"categories": set(), "n": 0, "last": None})
    for recipient_id, categories, at in (
        Disclosure.objects.filter(found, outcome=Disclosure.Outcome.ALLOWED)
        .values_list("recipient_id", "categories", "occurred_at").iterator()
    ):
        seen = received[recipient_id]
        seen["categories"].update(categories or ())
        seen["n"] += 1
        seen["last"] = at if seen["last"] is None or at > seen["last"] else seen["last"]

    with transaction.atomic():
        recipients = Recipient.objects.in_bulk(list(received))
        notices = []
        for recipient_id, seen in received.items():
            recipient = recipients[recipient_id]
            notice, created = ErasureNotice.objects.get_or_create(
                recipient=recipient, reference=reference,
                defaults={
                    "email_hash": hashes.get("email", ""), "phone_hash": hashes.get("phone", ""),
                    "categories": [c for c in Category.values if c in seen["categories"]],
                    "disclosures": seen["n"], "last_disclosed_at": seen["last"],
                    "language": "en" if recipient.abroad else "id", "created_by": actor,
                },
            )
            notice.recipient = recipient
            if created:
                _compose(notice, email=email, phone=phone)
            notices.append(notice)
    return sorted(notices, key=lambda n: (n.recipient.name, n.pk))


def _compose(notice: ErasureNotice, *, email: str | None, phone: str | None) -> None:
    """Write the notice's e-mail into the outbox (sent after commit) and queue its follower."""
    recipient = notice.recipient
    with translation.override(notice.language):
        context = {
            "notice": notice, "recipient": recipient, "email": email, "phone": phone,
            "categories": [str(Category(c).label) for c in notice.categories],
            "date": timezone.now(),
        }
        subject = render_to_string("emails/erasure_notice_subject.txt", context).strip()
        body = render_to_string("emails/erasure_notice.txt", context)
    try:
        with transaction.atomic():
            notice.message = message_queue(
                kind=MESSAGE_KIND, subject=subject, body=body, to_email=recipient.erasure_contact,
                language=notice.language,
            )
    except ValidationError as exc:
        # No usable contact: nothing to send; an officer reaches the recipient another way.
        notice.state, notice.error = ErasureNotice.State.FAILED, "; ".join(exc.messages)
    notice.save(update_fields=["message", "state", "error"])
    if notice.message is not None:
        enqueue_on_commit(SEND_TASK, notice.pk)


def erasure_notice_send(*, notice_id: int) -> str:
    """Record what became of a notice's e-mail once the outbox has settled it: sent, or failed.

    Returns the notice's state, "gone", or WAITING while the outbox is still trying (the task
    asks again later). Safe to run twice: a notice that left "queued" is not touched again.
    Once settled, the message's text (which named the subject) is emptied: the outbox keeps the
    proof of delivery (to whom, when), the notice keeps what it said.
    """
    with transaction.atomic():
        notice = ErasureNotice.objects.select_for_update().filter(pk=notice_id).first()
        if notice is None:
            return "gone"
        if notice.state != ErasureNotice.State.QUEUED:
            return notice.state
        message = OutboundMessage.objects.filter(pk=notice.message_id).only("state", "sent_at", "last_error").first()
        if message is None:
            notice.state, notice.error = ErasureNotice.State.FAILED, _("Pesan keluar tidak ditemukan.")
        elif message.state not in SETTLED:
            return WAITING
        else:
            notice.state = SETTLED[message.state]
            notice.sent_at = message.sent_at if notice.state == ErasureNotice.State.SENT else None
            notice.error = message.last_error if notice.state == ErasureNotice.State.FAILED else ""
            OutboundMessage.objects.filter(pk=message.pk, state__in=list(SETTLED)).update(body="", headers=None)
        notice.save(update_fields=["state", "sent_at", "error"])
    return notice.state


def erasure_notice_acknowledge(*, notice_id: int, actor, note: str = "") -> ErasureNotice:
    """An officer records that the recipient confirmed the erasure (by reply, letter or call).

    Needs consent.change_erasurenotice. A notice still in the outbox cannot be confirmed yet; a
    failed one can (the officer reached the recipient another way: the note says how).
    """
    require_permission(
        actor, "consent.change_erasurenotice", what=_("mencatat konfirmasi penghapusan dari penerima"),
        system_allowed=False,
    )
    with transaction.atomic():
        notice = ErasureNotice.objects.select_for_update().filter(pk=notice_id).first()
        if notice is None:
            raise ConsentError(_("Pemberitahuan penghapusan tidak ditemukan."), code="not_found")
        if notice.state == ErasureNotice.State.ACKNOWLEDGED:
            raise ConsentError(
                _("Pemberitahuan %(notice)s sudah dikonfirmasi.") % {"notice": notice}, code="acknowledged",
            )
        if notice.state == ErasureNotice.State.QUEUED:
            raise ConsentError(
                _("Pemberitahuan %(notice)s belum terkirim.") % {"notice": notice}, code="not_sent",
            )
        notice.state = ErasureNotice.State.ACKNOWLEDGED
        notice.acknowledged_at = timezone.now()
        notice.acknowledged_by = actor
        notice.acknowledgement_note = (note or "").strip()
        notice._history_user = actor
        notice.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "acknowledgement_note"])
    return notice
