"""Marketing e-mails: refused without consent, sent with the unsubscribe link and the RFC 8058
headers (on the queued row and on the e-mail that leaves), and the token they carry."""

from __future__ import annotations

import pytest
from django.core import mail, signing

from consent.exceptions import ConsentError
from consent.models import Action, Channel, ConsentEvent
from consent.selectors import Reason, consent_check, purposes_by_key
from consent.services import (
    consent_record, marketing_message_queue, marketing_unsubscribe, subject_ref, unsubscribe_read, unsubscribe_token,
)
from messaging.models import OutboundMessage

pytestmark = pytest.mark.django_db

SITI = "Siti@Example.test"


def give(merchant_id=None):
    consent_record(
        subject=subject_ref(email=SITI, merchant_id=merchant_id), purpose="marketing", action=Action.GIVEN,
        channel=Channel.TILL,
    )


def test_a_marketing_email_without_consent_is_refused_and_nothing_is_queued():
    with pytest.raises(ConsentError) as refused:
        marketing_message_queue(to_email=SITI, subject="Diskon", body="Diskon 20%.")
    assert refused.value.code == Reason.NO_CONSENT
    assert not OutboundMessage.objects.exists()


def test_a_marketing_email_carries_the_link_and_headers_to_the_mail_server(shop, settings, django_capture_on_commit_callbacks):
    settings.PORTAL_URL = "https://privasi.junopos.test"
    give(merchant_id=shop.pk)
    with django_capture_on_commit_callbacks(execute=True):
        message = marketing_message_queue(
            to_email=SITI, subject="Diskon", body="Diskon 20% minggu ini.", merchant_id=shop.pk, language="en",
        )
    url = message.headers["List-Unsubscribe"][1:-1]
    assert url.startswith("https://privasi.junopos.test/en/berhenti/") and url.endswith("/")
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in message.body and message.merchant_id == shop.pk
    sent = mail.outbox[-1]
    assert sent.extra_headers["List-Unsubscribe"] == f"<{url}>"
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in sent.message().as_string()
    token = url.rstrip("/").rsplit("/", 1)[1]
    found = unsubscribe_read(token)
    assert (found.subject.email, found.subject.merchant_id, found.purposes) == ("siti@example.test", shop.pk, ("marketing",))


def test_a_withdrawn_consent_stops_the_next_marketing_email():
    give()
    token = unsubscribe_token(subject=subject_ref(email=SITI), purposes=["marketing"])
    events = marketing_unsubscribe(unsubscribe=unsubscribe_read(token), ip_address="203.0.113.9", text_shown="one-click")
    assert [(e.action, e.channel, e.ip_address) for e in events] == [(Action.WITHDRAWN, Channel.PORTAL, "203.0.113.9")]
    assert marketing_unsubscribe(unsubscribe=unsubscribe_read(token)) == []  # idempotent
    with pytest.raises(ConsentError):
        marketing_message_queue(to_email=SITI, subject="Diskon", body="Lagi.")


def test_tokens_that_are_tampered_foreign_or_name_no_marketing_purpose_are_refused():
    token = unsubscribe_token(subject=subject_ref(email=SITI), purposes=["marketing"])
    assert unsubscribe_read(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    # Signed by this site but for another use (a status link's salt): refused.
    assert unsubscribe_read(signing.dumps({"e": SITI, "k": ["marketing"]}, salt="requests_portal.status")) is None
    # Genuine, but naming a purpose that is not marketing: nothing to withdraw there.
    assert unsubscribe_read(unsubscribe_token(subject=subject_ref(email=SITI), purposes=["transactions"])) is None
    assert purposes_by_key()["marketing"].marketing
    assert not ConsentEvent.objects.exists()
    assert consent_check(identifiers=["siti@example.test"], merchant_id=None, purpose=purposes_by_key()["marketing"]).reason == Reason.NO_CONSENT
