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
        message_queue(kind="test", to_phone="12", subject="x", body="y", channel="sms")
    with pytest.raises(ValidationError):
        message_queue(kind="test", to_phone="0812 3456 7890", subject="x", body="y", channel="pigeon")
    assert not OutboundMessage.objects.exists()


def test_sms_and_whatsapp_are_written_as_files_without_a_gateway(settings, tmp_path, django_capture_on_commit_callbacks):
    settings.PHONE_OUTBOX_DIR = tmp_path / "sms"
    with django_capture_on_commit_callbacks(execute=True):
        message = message_queue(kind="test", to_phone="0812 3456 7890", subject="", body="Kode 123456", channel="whatsapp")
    message.refresh_from_db()
    assert message.state == "sent" and message.to_phone == "+6281234567890"
    written = (tmp_path / "sms" / f"{message.pk:08d}-whatsapp.txt").read_text()
    assert "+6281234567890" in written and "Kode 123456" in written


def test_a_gateway_that_refuses_the_number_is_final_and_one_that_is_down_is_retried(settings, db):
    import http.server
    import threading

    from messaging.channels import DeliveryError, PhoneChannel, Undeliverable

    answers = iter([400, 503])

    class Gateway(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(next(answers))
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.PHONE_GATEWAY_URL = f"http://127.0.0.1:{server.server_port}/send"
    message = OutboundMessage(pk=1, channel="sms", kind="t", to_phone="+6281234567890", body="x")
    try:
        with pytest.raises(Undeliverable):
            PhoneChannel("sms").send(message)
        with pytest.raises(DeliveryError):
            PhoneChannel("sms").send(message)
    finally:
        server.shutdown()


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
