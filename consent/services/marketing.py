"""Marketing e-mails and their one-click unsubscribe (RFC 8058).

Every marketing e-mail leaves through `marketing_message_queue`, which refuses one the
recipient's consent does not allow (the policy: marketing follows the person's preferences) and
puts a signed unsubscribe link in its body and in the headers `List-Unsubscribe` and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click`.

The link names no address. Its token (django.core.signing, salted, no expiry: an old e-mail must
still unsubscribe) names only the id of the outbox row the link is in and the marketing purposes
it serves: the address and the merchant are read from that row (`to_email`, `merchant_id`) when
the link is used. So neither the URL, nor the access logs and proxies it passes, nor the outbox's
copy of it carries the address. The row is written first, then its body and headers with the
link built from its id, in one transaction: the send waits for the commit, so no e-mail leaves
without its link. After an erasure the row's address is a keyed hash: the link then finds no live
subject, changes nothing, and the page answers as for a link already used.

`marketing_unsubscribe` is what a POST to that link does, without login: under the lock of the
message's row (two POSTs at the same moment, a mail client's and a scanner's, take turns), a
`withdrawn` event for each named purpose whose consent is not already withdrawn (so a second
POST records nothing), on the portal channel, with the evidence of the POST. A token whose
signature fails changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from messaging.models import OutboundMessage
from messaging.services import message_queue
from retention.pseudonyms import is_pseudonym

from ..exceptions import ConsentError
from ..models import Action, Channel, ConsentEvent, Purpose
from ..selectors import Reason, consent_check, purposes_by_key
from .ledger import SubjectRef, consent_record, subject_ref

UNSUBSCRIBE_SALT = "consent.unsubscribe.message"
# The URL's name in the portal (requests_portal/urls.py), reversed in the message's language.
UNSUBSCRIBE_URL_NAME = "portal:unsubscribe"
ONE_CLICK = "List-Unsubscribe=One-Click"


@dataclass(frozen=True)
class Unsubscribe:
    """What a genuine unsubscribe token leads to: its message, the purposes it names, and the
    subject that message went to (None once she was erased, or the message is gone)."""

    message_id: int
    purposes: tuple[str, ...]
    subject: SubjectRef | None
    merchant_id: int | None = None  # whose marketing it was (kept by an erasure)

    @property
    def gone(self) -> bool:
        return self.subject is None


def marketing_purposes() -> list[Purpose]:
    return [purpose for purpose in purposes_by_key().values() if purpose.marketing]


def unsubscribe_token(*, message_id: int, purposes: list[str]) -> str:
    """The signed token of a message's unsubscribe link: the message's id and the purposes."""
    return signing.dumps({"m": int(message_id), "k": sorted(purposes)}, salt=UNSUBSCRIBE_SALT)


def _message_subject(message: OutboundMessage | None) -> SubjectRef | None:
    """The live subject a marketing message went to; None when erased (a keyed hash) or gone."""
    if message is None or not message.to_email or is_pseudonym(message.to_email):
        return None
    try:
        return subject_ref(email=message.to_email, merchant_id=message.merchant_id)
    except ConsentError:
        return None


def unsubscribe_read(token: str) -> Unsubscribe | None:
    """What the token leads to, if its signature holds and it names marketing purposes; else None.

    A genuine token whose message was erased (or removed) is still read: its `subject` is None."""
    try:
        data = signing.loads(token or "", salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("k"), list) or type(data.get("m")) is not int:
        return None
    known = {purpose.key for purpose in marketing_purposes()}
    keys = tuple(key for key in data["k"] if key in known)
    if not keys:
        return None
    message = OutboundMessage.objects.filter(pk=data["m"]).only("pk", "to_email", "merchant_id").first()
    return Unsubscribe(
        message_id=data["m"], purposes=keys, subject=_message_subject(message),
        merchant_id=message.merchant_id if message is not None else None,
    )


def unsubscribe_url(*, token: str, language: str) -> str:
    with translation.override(language):
        path = reverse(UNSUBSCRIBE_URL_NAME, args=[token])
    return settings.PORTAL_URL.rstrip("/") + path


def marketing_message_queue(
    *, to_email: str, subject: str, body: str, language: str = "id", merchant_id: int | None = None,
    purposes: list[str] | None = None, kind: str = "marketing",
) -> OutboundMessage:
    """Queue one marketing e-mail, with its unsubscribe link and headers.

    `purposes`: the marketing purposes it serves (all of them by default). Refused (ConsentError,
    nothing queued) when the recipient's consent does not allow every one of them.
    """
    recipient = subject_ref(email=to_email, merchant_id=merchant_id)
    by_key = purposes_by_key()
    keys = sorted(purposes) if purposes else sorted(p.key for p in marketing_purposes())
    for key in keys:
        purpose = by_key.get(key)
        if purpose is None or not purpose.marketing:
            raise ConsentError(_("“%(key)s” bukan tujuan pemasaran.") % {"key": key}, code="not_marketing", field="purposes")
        decision = consent_check(identifiers=recipient.identifiers, merchant_id=merchant_id, purpose=purpose)
        if not decision.allowed:
            raise ConsentError(
                _("Penerima tidak mengizinkan pesan untuk tujuan “%(purpose)s”.") % {"purpose": purpose.name(language)},
                code=decision.reason, field="to_email",
            )
    with transaction.atomic():
        # The row first, for its id; its body and headers with the link before the commit (the
        # send waits for it), so no e-mail leaves without its link.
        message = message_queue(
            kind=kind, subject=subject, body=body, to_email=recipient.email, language=language,
            merchant_id=merchant_id,
        )
        url = unsubscribe_url(token=unsubscribe_token(message_id=message.pk, purposes=keys), language=language)
        with translation.override(language):
            footer = _("Tidak ingin menerima pesan seperti ini lagi? Berhenti berlangganan: %(url)s") % {"url": url}
        message.body = f"{body.rstrip()}\n\n-- \n{footer}\n"
        message.headers = {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": ONE_CLICK}
        message.save(update_fields=["body", "headers"])
    return message


def marketing_unsubscribe(
    *, unsubscribe: Unsubscribe, ip_address: str | None = None, user_agent: str = "", text_shown: str = "",
) -> list[ConsentEvent]:
    """Withdraw the marketing consent a genuine token names; returns the events recorded (none
    when every purpose is already withdrawn: a second POST, a mail scanner's retry; none when
    the message's subject was erased since).

    The message's row is locked before the state is read: two POSTs of the same link at the same
    moment take turns, and the second finds the consent withdrawn. The subject is read again
    under that lock (an erasure may have run since `unsubscribe_read`)."""
    by_key = purposes_by_key()
    recorded = []
    with transaction.atomic():
        message = (
            OutboundMessage.objects.select_for_update().filter(pk=unsubscribe.message_id)
            .only("pk", "to_email", "merchant_id").first()
        )
        subject = _message_subject(message)
        if subject is None:
            return []
        for key in unsubscribe.purposes:
            purpose = by_key[key]
            decision = consent_check(identifiers=subject.identifiers, merchant_id=subject.merchant_id, purpose=purpose)
            if decision.reason == Reason.CONSENT_WITHDRAWN:
                continue
            recorded.append(consent_record(
                subject=subject, purpose=purpose, action=Action.WITHDRAWN, channel=Channel.PORTAL,
                ip_address=ip_address, user_agent=user_agent, text_shown=text_shown, reference="unsubscribe",
            ))
    return recorded
