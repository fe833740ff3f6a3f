"""Normalisation of the identifiers a data subject is found by.

A phone is one number however it was typed at the till (0812..., 62812..., +62 812-...):
it is compared in E.164. An e-mail is compared without regard to case.
"""

import phonenumbers
from django.conf import settings


def normalize_phone(raw: str | None, *, region: str | None = None) -> str | None:
    """Return the E.164 form of a phone number, or None if it is not a possible number."""
    if not raw or not raw.strip():
        return None
    region = region or settings.PHONE_DEFAULT_REGION
    text = raw.strip()
    # "62812..." typed without the plus is common in Indonesia: phonenumbers would read it
    # as a national number of the default region, so give it back its plus.
    digits = "".join(ch for ch in text if ch.isdigit())
    if region == "ID" and not text.startswith(("+", "0")) and digits.startswith("62"):
        text = "+" + digits
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str | None) -> str | None:
    if not raw or "@" not in raw:
        return None
    return raw.strip().lower()
