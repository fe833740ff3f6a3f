"""Keyed hashes of identifiers (HMAC-SHA256 under PSEUDONYM_KEY, never SECRET_KEY).

A pseudonym lets the portal answer "was this merchant / this person erased, when, and
under which rule?" without keeping who it was. Identifiers are normalised first, so the
same e-mail in any case, or the same phone however written, gives the same pseudonym.
Pseudonyms carry a prefix so that the engine can tell a hashed field from a live one and
never hashes a hash (which keeps a re-run of an erasure harmless).
"""

import hashlib
import re
import hmac

from django.conf import settings
from django.db.models import Q

from merchants.identifiers import normalize_email, normalize_phone

PREFIX = "h$"
LENGTH = 64  # fits any column the data map allows a keyed hash in
PATTERN = r"^h\$[0-9a-f]{%d}$" % (LENGTH - len(PREFIX))


def pseudonym(value: str, *, kind: str = "text") -> str:
    if kind == "email":
        value = normalize_email(value) or value
    elif kind == "phone":
        value = normalize_phone(value) or value
    normalised = " ".join(str(value).split()).casefold()
    digest = hmac.new(settings.PSEUDONYM_KEY.encode(), f"{kind}:{normalised}".encode(), hashlib.sha256)
    return PREFIX + digest.hexdigest()[: LENGTH - len(PREFIX)]


def is_pseudonym(value: str | None) -> bool:
    return bool(value) and re.match(PATTERN, value) is not None


def pseudonym_q(column: str) -> Q:
    """is_pseudonym() as a query: the rows whose `column` already holds a pseudonym."""
    return Q(**{f"{column}__regex": PATTERN})
