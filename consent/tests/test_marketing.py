"""Marketing e-mails: refused without consent, sent with the unsubscribe link and the RFC 8058
headers (on the queued row and on the e-mail that leaves), and the token they carry: it names the
outbox message, never the address."""

from __future__ import annotations

import base64
import re
import threading
import time
import zlib

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


def give(merchant_id=None, email=SITI):
    consent_record(
        subject=subject_ref(email=email, merchant_id=merchant_id), purpose="marketing", action=Action.GIVEN,
        channel=Channel.TILL,
    )


def token_of(message: OutboundMessage) -> str:
    url = message.headers["List-Unsubscribe"][1:-1]
    return url.rstrip("/").rsplit("/", 1)[1]


def decoded_parts(token: str) -> list[bytes]:
    """Every part of a signed token that carries data, base64-decoded (and inflated, were it
    compressed). The last part is the signature: an HMAC of random-looking bytes that holds
    nothing, and would hold an "@" (0x40) in about one token in eight by chance."""
    found = []
    for part in token.lstrip(".").split(":")[:-1]:
        try:
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except ValueError:
            continue
        found.append(raw)
        try:
            found.append(zlib.decompress(raw))
        except zlib.error:
            pass
    return found


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
    stored = OutboundMessage.objects.get(pk=message.pk)
    assert (stored.body, stored.headers) == (message.body, message.headers)  # written before the commit
    sent = mail.outbox[-1]
    assert sent.extra_headers["List-Unsubscribe"] == f"<{url}>"
    assert url in sent.body
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in sent.message().as_string()
    found = unsubscribe_read(token_of(message))
    assert (found.message_id, found.subject.email, found.subject.merchant_id, found.purposes) == (
        message.pk, "siti@example.test", shop.pk, ("marketing",),
    )


def test_neither_the_token_nor_the_url_contains_the_address_even_decoded(shop):
    give(merchant_id=shop.pk)
    message = marketing_message_queue(to_email=SITI, subject="Diskon", body="Diskon.", merchant_id=shop.pk)
    url = message.headers["List-Unsubscribe"]
    token = token_of(message)
    for needle in ("siti", "example", "@"):
        assert needle not in url.lower()
        for part in decoded_parts(token):
            assert needle.encode() not in part.lower(), part
    # What the token does say: the message and the purposes.
    assert signing.loads(token, salt="consent.unsubscribe.message") == {"m": message.pk, "k": ["marketing"]}
    assert any(b'"m":%d' % message.pk in part for part in decoded_parts(token))


def test_a_withdrawn_consent_stops_the_next_marketing_email():
    give()
    message = marketing_message_queue(to_email=SITI, subject="Diskon", body="Diskon.")
    found = unsubscribe_read(token_of(message))
    events = marketing_unsubscribe(unsubscribe=found, ip_address="203.0.113.9", text_shown="one-click")
    assert [(e.action, e.channel, e.ip_address, e.email) for e in events] == [
        (Action.WITHDRAWN, Channel.PORTAL, "203.0.113.9", "siti@example.test"),
    ]
    assert marketing_unsubscribe(unsubscribe=unsubscribe_read(token_of(message))) == []  # idempotent
    with pytest.raises(ConsentError):
        marketing_message_queue(to_email=SITI, subject="Diskon", body="Lagi.")


def test_tokens_that_are_tampered_foreign_or_name_no_marketing_purpose_are_refused():
    give()
    message = marketing_message_queue(to_email=SITI, subject="Diskon", body="Diskon.")
    token = token_of(message)
    assert unsubscribe_read(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    # Another message's id in a payload signed with the old signature: refused.
    head, signature = token.rsplit(":", 1)
    forged = base64.urlsafe_b64encode(b'{"m":%d,"k":["marketing"]}' % (message.pk + 1)).rstrip(b"=").decode()
    assert unsubscribe_read(f"{forged}:{head.split(':', 1)[1]}:{signature}") is None
    # Signed by this site but for another use (a status link's salt): refused.
    assert unsubscribe_read(signing.dumps({"m": message.pk, "k": ["marketing"]}, salt="requests_portal.status")) is None
    # The old form of token (it named the address) is no longer read.
    assert unsubscribe_read(signing.dumps({"e": SITI, "k": ["marketing"]}, salt="consent.unsubscribe")) is None
    # Genuine, but naming a purpose that is not marketing: nothing to withdraw there.
    assert unsubscribe_read(unsubscribe_token(message_id=message.pk, purposes=["transactions"])) is None
    assert purposes_by_key()["marketing"].marketing
    assert not ConsentEvent.objects.filter(action=Action.WITHDRAWN).exists()
    assert consent_check(identifiers=["siti@example.test"], merchant_id=None, purpose=purposes_by_key()["marketing"]).allowed


def test_a_link_whose_message_was_erased_finds_no_subject_and_records_nothing(shop):
    from retention.services import subject_erase

    give(merchant_id=shop.pk)
    message = marketing_message_queue(to_email=SITI, subject="Diskon", body="Diskon.", merchant_id=shop.pk)
    token = token_of(message)
    events = ConsentEvent.objects.count()
    run = subject_erase(email=SITI)
    assert run.state == "completed", run.stop_reason
    message.refresh_from_db()
    assert "@" not in message.to_email and message.headers is None  # a keyed hash; the link erased with the body
    found = unsubscribe_read(token)
    assert found is not None and found.gone and found.merchant_id == shop.pk
    assert marketing_unsubscribe(unsubscribe=found) == []
    assert ConsentEvent.objects.count() == events
    # A message removed altogether: the same.
    OutboundMessage.objects.filter(pk=message.pk).delete()
    assert unsubscribe_read(token).gone and marketing_unsubscribe(unsubscribe=unsubscribe_read(token)) == []


@pytest.mark.django_db(transaction=True)
def test_two_posts_at_the_same_moment_record_one_withdrawal(seeded, monkeypatch):
    from django.db import connection

    import consent.services.marketing as marketing

    give(email="ayu@example.test")
    message = marketing_message_queue(to_email="ayu@example.test", subject="Diskon", body="Diskon.")
    found = unsubscribe_read(token_of(message))
    checked = marketing.consent_check

    def slow_check(**kwargs):
        # Widen the window between reading the state and writing the event: without the lock
        # both POSTs would read "given" here and both would record.
        decision = checked(**kwargs)
        time.sleep(0.3)
        return decision

    monkeypatch.setattr(marketing, "consent_check", slow_check)
    barrier, recorded, failures = threading.Barrier(2), [], []

    def post():
        try:
            barrier.wait(timeout=10)
            recorded.append(len(marketing_unsubscribe(unsubscribe=found, text_shown="one-click")))
        except Exception as exc:  # noqa: BLE001  (reported below)
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures, failures
    assert sorted(recorded) == [0, 1]
    assert ConsentEvent.objects.filter(action=Action.WITHDRAWN, email="ayu@example.test").count() == 1
    assert re.fullmatch(r"<https?://.+/berhenti/[^/]+/>", message.headers["List-Unsubscribe"])
