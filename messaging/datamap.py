"""What in the outbox is personal: the address a message went to, and what it said.

An erasure (of the person it went to, or the purge of the merchant it was about) keeps the
proof that the message was sent, when and how (a purge warning's delivery is part of the proof
of the purge), with the address replaced by its keyed hash and the text removed.
"""

from retention.registry import Category as C
from retention.registry import FieldErasure as E
from retention.registry import FindBy, Personal, RowErasure, datamap

from .models import OutboundMessage

datamap.register(
    OutboundMessage,
    description="Pesan keluar (e-mail, SMS, WhatsApp) beserta hasil pengirimannya.",
    erasure=RowErasure.ANONYMISE,
    retained_under="message-proof",
    # No dated_by: the proof of a message goes with the erasure record it proves (the tombstone
    # rule's execution, a later issue), never before it, and never from under a PurgeWarning.
    personal={
        "to_email": Personal(C.CONTACT, find_by=FindBy.EMAIL, erase=E.HASH),
        "to_phone": Personal(C.CONTACT, find_by=FindBy.PHONE, erase=E.HASH),
        "subject": Personal(C.MARKETING, erase=E.MASK),
        "body": Personal(C.MARKETING, erase=E.NULL),
        # A refusal often quotes the address ("550 <siti@...>: no such user").
        "last_error": Personal(C.TECHNICAL, erase=E.NULL),
        # A marketing e-mail's List-Unsubscribe: its link no longer names the address (the token
        # names this row's id and the purposes; the address is read from to_email), but it is a
        # copy of the body's link, says which marketing she was sent, and the field is free-form
        # (a later header may name a person): erased with the body. A link kept in her mailbox
        # after that finds no live subject and changes nothing.
        "headers": Personal(C.MARKETING, erase=E.NULL),
    },
    not_personal=(
        "id", "channel", "kind", "merchant", "language", "state", "attempts", "lease_until", "created_at", "sent_at",
    ),
)
