"""Sealed identifiers: what an unfinished subject erasure needs to go on, encrypted at rest.

A subject erasure erases, among the rest, the rows that named her (her requests, whose
addresses become keyed hashes): a worker killed half-way would leave nothing from which to find
what is left, and her erasure could not be resumed by the plan. The run therefore keeps her
identifiers sealed while it is open, and forgets them in the same UPDATE that records its
completion (`RunClaim.finish`). A run that failed or was stopped keeps its seal so that it can
be retried; that is no more than the rows it did not reach still hold in clear.

Fernet (AES-128-CBC with HMAC-SHA256, `cryptography`): a tampered or foreign token is refused,
never half-read. Keys: settings.ERASURE_SEAL_KEYS, the first seals and every one opens (to
rotate, put the new key first and keep the old until no open run was sealed with it); without
them, keys derived from SECRET_KEY and SECRET_KEY_FALLBACKS. Every key string is derived the
same way, so any long random string serves.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["SealBroken", "seal", "unseal"]


class SealBroken(Exception):
    """The sealed value cannot be opened with the configured keys (tampered, or its key retired)."""


def _fernet() -> MultiFernet:
    secrets = list(settings.ERASURE_SEAL_KEYS) or [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    keys = [
        Fernet(base64.urlsafe_b64encode(hmac.new(secret.encode(), b"junoprivacy.erasure-seal", hashlib.sha256).digest()))
        for secret in secrets
    ]
    return MultiFernet(keys)


def seal(values: dict) -> str:
    return _fernet().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def unseal(token: str) -> dict:
    if not token:
        raise SealBroken("nothing sealed")
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except (InvalidToken, ValueError) as exc:
        raise SealBroken(type(exc).__name__) from None
