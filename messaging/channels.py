"""How a message leaves: one channel per way of sending, behind one interface.

E-mail goes through Django's configured e-mail backend (SMTP in production, files under
var/mail/ by default, memory in the tests). SMS and WhatsApp join here as channels of their
own (a gateway is configuration), so that nothing else in the project changes.
"""

from __future__ import annotations

import smtplib
import socket
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
        )
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise Undeliverable(str(exc)) from exc
        except (smtplib.SMTPException, socket.error, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc


CHANNELS: dict[str, Channel] = {"email": EmailChannel()}
