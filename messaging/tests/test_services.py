"""The outbox: one row per message, sent after commit by a task, never twice at once, never lost."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from messaging.models import OutboundMessage
from messaging.services import message_queue, message_send, messages_resume_stalled

pytestmark = pytest.mark.django_db


def test_a_message_is_written_in_the_callers_transaction_and_sent_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = message_queue(kind="test", to_email="Siti@Contoh.co.id", subject="Halo", body="Isi")
    assert message.state == "queued" and mail.outbox == [] and len(callbacks) == 1
    callbacks[0]()  # the commit
    message.refresh_from_db()
    assert message.state == "sent" and message.sent_at and message.attempts == 1
    assert mail.outbox[0].to == ["Siti@Contoh.co.id"] and mail.outbox[0].subject == "Halo"


def test_a_message_without_a_valid_address_is_refused_and_nothing_is_written(db):
    with pytest.raises(ValidationError):
        message_queue(kind="test", to_email="bukan-alamat", subject="x", body="y")
    with pytest.raises(ValidationError):
        message_queue(kind="test", to_phone="0812 3456 7890", subject="x", body="y", channel="sms")  # not yet a channel
    assert not OutboundMessage.objects.exists()


def test_a_dead_senders_message_and_a_lost_task_are_queued_again_and_sent_once(django_capture_on_commit_callbacks):
    now = timezone.now()
    dead = OutboundMessage.objects.create(
        kind="test", to_email="a@contoh.co.id", subject="a", state="sending", attempts=1,
        lease_until=now - timedelta(seconds=1),
    )
    lost = OutboundMessage.objects.create(kind="test", to_email="b@contoh.co.id", subject="b")
    OutboundMessage.objects.filter(pk=lost.pk).update(created_at=now - timedelta(hours=1))
    fresh = OutboundMessage.objects.create(kind="test", to_email="c@contoh.co.id", subject="c")  # its task is on its way
    live = OutboundMessage.objects.create(
        kind="test", to_email="d@contoh.co.id", subject="d", state="sending", lease_until=now + timedelta(minutes=4),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert sorted(messages_resume_stalled(now=now)) == sorted([dead.pk, lost.pk])
    states = dict(OutboundMessage.objects.values_list("pk", "state"))
    assert (states[dead.pk], states[lost.pk], states[fresh.pk], states[live.pk]) == ("sent", "sent", "queued", "sending")
    assert message_send(message_id=live.pk) is None  # a live sender holds it: not twice at once
    assert sorted(m.to[0] for m in mail.outbox) == ["a@contoh.co.id", "b@contoh.co.id"]
