"""The one way the project sends a message: queue it in the outbox, send it from a task.

`message_queue` writes the row inside the caller's transaction and queues `message_send` once
that transaction commits; a failure to send is the task's business (retries with back-off),
never the caller's. `message_send` claims the row before sending (a conditional UPDATE with a
lease), so two copies of the task never send it twice at once; a worker that dies while
sending leaves a lease that runs out, and `messages_resume_stalled` queues it again (a message
may then go out twice, never zero times).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from junoprivacy.celery import enqueue_on_commit
from merchants.identifiers import normalize_email, normalize_phone

from .channels import CHANNELS, DeliveryError, Undeliverable
from .models import OutboundMessage

logger = logging.getLogger(__name__)

SEND_TASK = "messaging.message_send"
# Tries of one message, whichever task copy makes them (the count is on the row).
MAX_ATTEMPTS = 8
# How long a sending worker holds a message before another may try it.
SEND_LEASE = timedelta(minutes=5)
# A queued message untouched for this long lost its task (a broker restarted): queue it again.
QUEUED_PATIENCE = timedelta(minutes=15)
# Messages queued again per sweep (a minute): the rest go at the next one.
RESUME_BATCH = 1000


def message_queue(
    *, kind: str, subject: str, body: str, to_email: str = "", to_phone: str = "", language: str = "id",
    merchant_id: int | None = None, channel: str = OutboundMessage.Channel.EMAIL, headers: dict | None = None,
) -> OutboundMessage:
    """Write a message to the outbox; it is sent after the caller's transaction commits."""
    if channel not in CHANNELS:
        raise ValidationError(_("Saluran %(channel)s belum tersedia.") % {"channel": channel})
    email = normalize_email(to_email) if to_email else ""
    phone = normalize_phone(to_phone) if to_phone else ""
    if channel == OutboundMessage.Channel.EMAIL and not email:
        raise ValidationError(_("Pesan e-mail memerlukan alamat e-mail yang valid."))
    if channel != OutboundMessage.Channel.EMAIL and not phone:
        raise ValidationError(_("Pesan SMS atau WhatsApp memerlukan nomor telepon yang valid."))
    message = OutboundMessage(
        channel=channel, kind=kind, to_email=to_email.strip() if email else "", to_phone=phone or "",
        merchant_id=merchant_id, language=language, subject=subject.strip()[:300], body=body,
        headers={str(name): str(value) for name, value in (headers or {}).items()},
    )
    # The address constraint is the database's to enforce (a query fewer per message).
    message.full_clean(validate_constraints=False)
    message.save()
    enqueue_on_commit(SEND_TASK, message.pk)
    return message


def message_send(*, message_id: int) -> OutboundMessage | None:
    """Send one queued message. Raises DeliveryError when it should be tried again later.

    Returns None when there is nothing to do (already sent, gone, or another worker sending it).
    The outcome is written only if this worker still holds the message (its attempt number):
    a sender slower than its lease never overwrites what a later one recorded.
    """
    now = timezone.now()
    claimed = (
        OutboundMessage.objects.filter(pk=message_id)
        .filter(Q(state=OutboundMessage.State.QUEUED) | Q(state=OutboundMessage.State.SENDING, lease_until__lt=now))
        .update(state=OutboundMessage.State.SENDING, lease_until=now + SEND_LEASE, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    message = OutboundMessage.objects.get(pk=message_id)
    try:
        CHANNELS[message.channel].send(message)
    except Undeliverable as exc:
        return _settle(message, state=OutboundMessage.State.REFUSED, error=str(exc))
    except DeliveryError as exc:
        logger.warning("message %s not sent (attempt %s): %s", message.pk, message.attempts, exc)
        final = message.attempts >= MAX_ATTEMPTS
        _settle(message, state=OutboundMessage.State.FAILED if final else OutboundMessage.State.QUEUED, error=str(exc))
        if not final:
            raise
        return message
    return _settle(message, state=OutboundMessage.State.SENT, error="", sent_at=timezone.now())


def _settle(message: OutboundMessage, *, state: str, error: str, sent_at=None) -> OutboundMessage:
    OutboundMessage.objects.filter(
        pk=message.pk, state=OutboundMessage.State.SENDING, attempts=message.attempts
    ).update(
        state=state, last_error=error[:2000], sent_at=sent_at,
        lease_until=timezone.now() if state == OutboundMessage.State.QUEUED else None,
    )
    message.refresh_from_db()
    return message


def messages_resume_stalled(*, now=None) -> list[int]:
    """Messages whose task was lost: a sender that died mid-send, or a queue that lost the task."""
    now = now or timezone.now()
    stalled = OutboundMessage.objects.filter(
        Q(state=OutboundMessage.State.SENDING, lease_until__lt=now)
        | Q(state=OutboundMessage.State.QUEUED, lease_until__isnull=True, created_at__lt=now - QUEUED_PATIENCE)
        | Q(state=OutboundMessage.State.QUEUED, lease_until__lt=now - QUEUED_PATIENCE)
    )
    ids = list(stalled.values_list("pk", flat=True)[:RESUME_BATCH])
    for message_id in ids:
        enqueue_on_commit(SEND_TASK, message_id)
    return ids
