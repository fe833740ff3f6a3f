"""Marketing e-mails and their one-click unsubscribe (RFC 8058).

Every marketing e-mail leaves through `marketing_message_queue`, which refuses one the
recipient's consent does not allow (the policy: marketing follows the person's preferences) and
puts a signed unsubscribe link in its body and in the headers `List-Unsubscribe` and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click`. The link's token (django.core.signing,
salted, no expiry: an old e-mail must still unsubscribe) names the address, the merchant whose
marketing it is (if any) and the marketing purposes; it is signed, not encrypted, so the
outbox's copy of it is personal data (messaging/datamap.py).

`marketing_unsubscribe` is what a POST to that link does, without login: a `withdrawn` event for
each named purpose whose consent is not already withdrawn (so a second POST records nothing), on
the portal channel, with the evidence of the POST. A token whose signature fails changes nothing.
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

from ..exceptions import ConsentError
from ..models import Action, Channel, ConsentEvent, Purpose
from ..selectors import Reason, consent_check, purposes_by_key
from .ledger import SubjectRef, consent_record, subject_ref

UNSUBSCRIBE_SALT = "consent.unsubscribe"
# The URL's name in the portal (requests_portal/urls.py), reversed in the message's language.
UNSUBSCRIBE_URL_NAME = "portal:unsubscribe"
ONE_CLICK = "List-Unsubscribe=One-Click"


@dataclass(frozen=True)
class Unsubscribe:
    """What a genuine unsubscribe token names."""

    subject: SubjectRef
    purposes: tuple[str, ...]


def marketing_purposes() -> list[Purpose]:
    return [purpose for purpose in purposes_by_key().values() if purpose.marketing]


def unsubscribe_token(*, subject: SubjectRef, purposes: list[str]) -> str:
    payload = {"e": subject.email or "", "p": subject.phone or "", "m": subject.merchant_id, "k": sorted(purposes)}
    return signing.dumps(payload, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_read(token: str) -> Unsubscribe | None:
    """What the token names, if its signature holds and it names marketing purposes; else None."""
    try:
        data = signing.loads(token or "", salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("k"), list):
        return None
    known = {purpose.key for purpose in marketing_purposes()}
    keys = tuple(key for key in data["k"] if key in known)
    merchant_id = data.get("m")
    if not keys or not (data.get("e") or data.get("p")) or not (merchant_id is None or isinstance(merchant_id, int)):
        return None
    try:
        subject = subject_ref(email=data.get("e") or None, phone=data.get("p") or None, merchant_id=merchant_id)
    except ConsentError:
        return None
    return Unsubscribe(subject=subject, purposes=keys)


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
    url = unsubscribe_url(token=unsubscribe_token(subject=recipient, purposes=keys), language=language)
    with translation.override(language):
        footer = _("Tidak ingin menerima pesan seperti ini lagi? Berhenti berlangganan: %(url)s") % {"url": url}
    return message_queue(
        kind=kind, subject=subject, body=f"{body.rstrip()}\n\n-- \n{footer}\n", to_email=recipient.email,
        language=language, merchant_id=merchant_id,
        headers={"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": ONE_CLICK},
    )


def marketing_unsubscribe(
    *, unsubscribe: Unsubscribe, ip_address: str | None = None, user_agent: str = "", text_shown: str = "",
) -> list[ConsentEvent]:
    """Withdraw the marketing consent a genuine token names; returns the events recorded (none
    when every purpose is already withdrawn: a second POST, a mail scanner's retry)."""
    subject = unsubscribe.subject
    by_key = purposes_by_key()
    recorded = []
    with transaction.atomic():
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
