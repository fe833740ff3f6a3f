"""The preference centre: a person proves an address with a one-time code, then switches the
purposes that rest on her consent, and objects to those on legitimate interest (or lifts her
objection: recorded as "given", after which the purpose runs again).

Codes are kept in the cache (Redis), not in a table: they live a quarter of an hour, the cache
forgets them by itself, and nothing personal is stored to be erased later. Under a key that is a
keyed hash of the address (never the address), the cache holds only a keyed hash of the code
(salted HMAC under SECRET_KEY, bound to the address), when it was sent and how often; its wrong
tries are counted by an atomic increment beside it. As the request codes (services/intake.py):
six random digits, compared in constant time, single use (deleted when it matches), expiring,
five wrong tries, re-sent after a cool-down (a re-send replaces the code and its tries; at most
MAX_SENDS in a code's lifetime, and the per-address rate limits of the view on top).

Enumeration: sending asks nothing about the address: every valid address is sent a code the
same way, whether JUNOPOS knows it or not (the preference centre serves anyone).

Saving writes through consent.services.consent_record, only for what changed, in one
transaction: a purpose on contract or legal obligation is refused (whatever a forged form says),
and nothing is written when any choice is refused.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from consent.exceptions import ConsentError
from consent.models import Action, Channel, ConsentEvent, LegalBasis, Purpose
from consent.selectors import Decision, decide, purposes_by_key, subject_states
from consent.services import SubjectRef, consent_record
from merchants.identifiers import normalize_email, normalize_phone
from messaging.models import OutboundMessage
from messaging.services import message_queue

from ..exceptions import CodeRefused, RequestError
from .intake import MAX_FAILED_ATTEMPTS, MAX_SENDS, RESEND_COOLDOWN

PREFERENCE_CODE_LIFETIME = timedelta(minutes=15)
# After the code, how long the choices stay open in the visitor's session.
PREFERENCE_SESSION_LIFETIME = timedelta(minutes=30)
CODE_KEY_PREFIX = "portal.preferences.code:"
SWITCHABLE = (LegalBasis.CONSENT, LegalBasis.LEGITIMATE_INTEREST)


class PreferenceError(RequestError):
    """A refused choice in the preference centre; nothing was recorded."""


@dataclass(frozen=True)
class ProvenAddress:
    """An address whose owner asked for (or proved with) a code: `via` is email, sms or whatsapp."""

    via: str
    address: str

    @property
    def is_email(self) -> bool:
        return self.via == OutboundMessage.Channel.EMAIL


def preference_address(*, email: str = "", phone: str = "") -> ProvenAddress:
    """The normalised address a form gave (e-mail first), or PreferenceError."""
    if email and email.strip():
        found = normalize_email(email)
        if not found:
            raise PreferenceError(_("Alamat e-mail tidak valid."))
        return ProvenAddress(OutboundMessage.Channel.EMAIL, found)
    if phone and phone.strip():
        found = normalize_phone(phone)
        if not found:
            raise PreferenceError(_("Nomor telepon tidak valid. Contoh: 0812 3456 7890."))
        return ProvenAddress(settings.PHONE_MESSAGE_CHANNEL, found)
    raise PreferenceError(_("Isi alamat e-mail atau nomor ponsel Anda."))


def _cache_key(address: ProvenAddress) -> str:
    digest = salted_hmac("requests_portal.preferences.address", f"{address.via}:{address.address}", algorithm="sha256")
    return CODE_KEY_PREFIX + digest.hexdigest()


def _code_hash(address: ProvenAddress, code: str) -> str:
    return salted_hmac(
        "requests_portal.preferences.code", f"{address.via}:{address.address}:{code}", algorithm="sha256"
    ).hexdigest()


def _ttl() -> int:
    return int(PREFERENCE_CODE_LIFETIME.total_seconds()) + 60


def preference_code_send(*, address: ProvenAddress, language: str, now: datetime | None = None) -> None:
    """Send a code to `address` (a first one, or a new one after the cool-down)."""
    now = now or timezone.now()
    key = _cache_key(address)
    held = cache.get(key)
    sends = 1
    if held:
        waited = now.timestamp() - held["sent"]
        if waited < RESEND_COOLDOWN.total_seconds():
            seconds = int(RESEND_COOLDOWN.total_seconds() - waited) + 1
            raise CodeRefused(_("Tunggu %(seconds)s detik sebelum meminta kode baru.") % {"seconds": seconds})
        if held["sends"] >= MAX_SENDS and now.timestamp() < held["expires"]:
            raise CodeRefused(_("Kode sudah dikirim ulang terlalu sering. Coba lagi dalam 15 menit."))
        sends = held["sends"] + 1 if now.timestamp() < held["expires"] else 1
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        _send(address, code=code, language=language)
        cache.set(key, {
            "hash": _code_hash(address, code), "sent": now.timestamp(),
            "expires": (now + PREFERENCE_CODE_LIFETIME).timestamp(), "sends": sends,
        }, _ttl())
        cache.set(key + ":tries", 0, _ttl())


def _send(address: ProvenAddress, *, code: str, language: str) -> None:
    minutes = int(PREFERENCE_CODE_LIFETIME.total_seconds() // 60)
    with translation.override(language):
        context = {"code": code, "minutes": minutes}
        if address.is_email:
            message_queue(
                kind="preference_code", subject=render_to_string("emails/preferences_code_subject.txt", context).strip(),
                body=render_to_string("emails/preferences_code.txt", context), to_email=address.address,
                language=language,
            )
        else:
            message_queue(
                kind="preference_code", subject="", body=render_to_string("emails/preferences_code_sms.txt", context).strip(),
                to_phone=address.address, language=language, channel=address.via,
            )


def preference_code_verify(*, address: ProvenAddress, code: str, now: datetime | None = None) -> None:
    """Prove `address` with its code; CodeRefused when it is wrong, used, expired or out of tries."""
    now = now or timezone.now()
    key = _cache_key(address)
    held = cache.get(key)
    if not held:
        raise CodeRefused(_("Tidak ada kode yang berlaku untuk alamat ini. Minta kode baru."))
    if now.timestamp() >= held["expires"]:
        raise CodeRefused(_("Kode sudah kedaluwarsa (berlaku 15 menit). Minta kode baru."))
    tries_key = key + ":tries"
    if (cache.get(tries_key) or 0) >= MAX_FAILED_ATTEMPTS:
        raise CodeRefused(_("Terlalu banyak percobaan yang salah. Minta kode baru."))
    typed = "".join(ch for ch in code if ch.isdigit())
    if not hmac.compare_digest(held["hash"], _code_hash(address, typed)):
        try:
            tries = cache.incr(tries_key)
        except ValueError:  # the counter expired with the code
            cache.set(tries_key, 1, _ttl())
            tries = 1
        left = MAX_FAILED_ATTEMPTS - tries
        if left > 0:
            raise CodeRefused(_("Kode salah. Sisa percobaan: %(left)s.") % {"left": left})
        raise CodeRefused(_("Kode salah. Percobaan habis: minta kode baru."))
    # Single use: whoever deletes it first used it (a second, racing use finds nothing).
    if not cache.delete(key):
        raise CodeRefused(_("Kode ini sudah digunakan."))
    cache.delete(tries_key)


# -- her choices -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurposeChoice:
    """One purpose as the preference centre shows it to one subject."""

    purpose: Purpose
    decision: Decision  # what a consent check answers now (a restriction included)
    allowed: bool  # her choice, a restriction aside: consented, or not objected
    switchable: bool  # she can change it here

    @property
    def objected(self) -> bool:
        return self.purpose.basis == LegalBasis.LEGITIMATE_INTEREST and not self.allowed


def preference_choices(subject: SubjectRef) -> list[PurposeChoice]:
    """Each purpose, in the policy's order, with the subject's state: one query for all ten."""
    purposes = list(purposes_by_key().values())
    by_purpose = subject_states(identifiers=subject.identifiers, merchant_id=subject.merchant_id, purposes=purposes)
    choices = []
    for purpose in purposes:
        states = by_purpose[purpose.pk]
        decision = decide(purpose, states)
        allowed = decide(purpose, states, restrictions=False).allowed
        switchable = purpose.basis in SWITCHABLE
        choices.append(PurposeChoice(purpose=purpose, decision=decision, allowed=allowed, switchable=switchable))
    return choices


def preferences_save(
    *, subject: SubjectRef, wanted: dict[str, bool], texts: dict[str, str], ip_address: str | None = None,
    user_agent: str = "",
) -> list[ConsentEvent]:
    """Record what changed: `wanted` maps a purpose's key to allowed (consent given, or no
    objection: a lifted objection is recorded as "given"). `texts` is what the page showed for each purpose (the evidence). Returns the
    events written; PreferenceError (nothing written) for a purpose she cannot switch here."""
    by_key = purposes_by_key()
    current = {choice.purpose.key: choice for choice in preference_choices(subject)}
    changes: list[tuple[Purpose, str]] = []
    for key, allowed in wanted.items():
        purpose = by_key.get(key)
        if purpose is None:
            raise PreferenceError(_("Tujuan pemrosesan tidak dikenal."))
        choice = current[key]
        if allowed == choice.allowed:
            continue
        if purpose.basis not in SWITCHABLE or not choice.switchable:
            raise PreferenceError(
                _("“%(purpose)s” tidak dapat diubah di sini.") % {"purpose": purpose.name(translation.get_language() or "id")}
            )
        changes.append((purpose, Action.GIVEN if allowed else Action.WITHDRAWN))
    events = []
    try:
        with transaction.atomic():
            for purpose, action in changes:
                events.append(consent_record(
                    subject=subject, purpose=purpose, action=action, channel=Channel.PORTAL,
                    ip_address=ip_address, user_agent=user_agent, text_shown=texts.get(purpose.key, ""),
                    reference="preferences",
                ))
    except ConsentError as error:
        raise PreferenceError(error.message) from error
    return events
