"""How a message leaves: one channel per way of sending, behind one interface.

E-mail goes through Django's configured e-mail backend (SMTP in production, files under
var/mail/ by default, memory in the tests). SMS and WhatsApp join here as channels of their
own (a gateway is configuration: PHONE_GATEWAY_URL), so that nothing else changes.
"""

from __future__ import annotations

import json
import smtplib
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMessage


class DeliveryError(Exception):
    """Sending failed in a way that may pass (a server down, a timeout): try again later."""


class Undeliverable(Exception):
    """Sending can never succeed (the server refused the address): do not try again."""


class Channel(Protocol):
    def send(self, message) -> None:
        """Send `message` (an OutboundMessage) now; raise DeliveryError or Undeliverable."""


class EmailChannel(Channel):
    def send(self, message) -> None:
        email = EmailMessage(
            subject=message.subject, body=message.body, from_email=settings.DEFAULT_FROM_EMAIL, to=[message.to_email],
            headers=message.headers or None,
        )
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise Undeliverable(str(exc)) from exc
        except (smtplib.SMTPException, socket.error, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc


CHANNELS: dict[str, Channel] = {"email": EmailChannel()}


class PhoneChannel(Channel):
    """SMS or WhatsApp: a gateway when one is configured (PHONE_GATEWAY_URL), else a file per message.

    The gateway takes {"channel", "to", "body"} as JSON with a bearer token; a 4xx answer means
    the number can never receive (Undeliverable), anything else that fails may pass (DeliveryError).
    """

    def __init__(self, name: str):
        self.name = name

    def send(self, message) -> None:
        if settings.PHONE_GATEWAY_URL:
            self._post(message)
        else:
            self._write(message)

    def _write(self, message) -> None:
        folder = Path(settings.PHONE_OUTBOX_DIR)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{message.pk:08d}-{self.name}.txt"
            path.write_text(f"To: {message.to_phone}\nChannel: {self.name}\n\n{message.body}\n", encoding="utf-8")
        except OSError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc

    def _post(self, message) -> None:
        payload = json.dumps({"channel": self.name, "to": message.to_phone, "body": message.body}).encode()
        request = urllib.request.Request(
            settings.PHONE_GATEWAY_URL, data=payload, method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {settings.PHONE_GATEWAY_TOKEN}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500 and exc.code not in (408, 429):
                raise Undeliverable(f"gateway refused: HTTP {exc.code}") from exc
            raise DeliveryError(f"gateway: HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc


CHANNELS["sms"] = PhoneChannel("sms")
CHANNELS["whatsapp"] = PhoneChannel("whatsapp")
