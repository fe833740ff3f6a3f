"""Beat's sweeps over requests: expiry of the unverified, deadline reminders, the daily digest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from messaging.models import OutboundMessage
from requests_portal import services
from requests_portal.audit import audit_verify
from requests_portal.models import DataSubjectRequest, RequestAttachment, RequestMessage, State, VerificationCode
from requests_portal.services.intake import Upload

from .conftest import submit

pytestmark = pytest.mark.django_db


def _age(request, **delta):
    DataSubjectRequest.objects.filter(pk=request.pk).update(created_at=timezone.now() - timedelta(**delta))


def _every_text_column_holds(value: str) -> list[str]:
    """Every (table, column) of the project's tables where `value` appears: the auditor's search."""
    found = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            if model._meta.app_label not in ("requests_portal", "messaging", "retention"):
                continue
            table = model._meta.db_table
            for field in model._meta.concrete_fields:
                if field.get_internal_type() in ("CharField", "TextField", "EmailField"):
                    cursor.execute(f'SELECT 1 FROM "{table}" WHERE "{field.column}" ILIKE %s LIMIT 1', [f"%{value}%"])
                    if cursor.fetchone():
                        found.append(f"{table}.{field.column}")
    return found


def test_an_unverified_request_expires_after_7_days_and_its_contact_data_goes():
    request = submit(
        email="rahasia@example.test", phone="0812 9999 0000", requester_name="Rahasia Wati",
        is_representative=True, subject_name="Ibu Rahasia", authorisation=Upload("kuasa.pdf", b"%PDF-1.4 Rahasia"),
        details="Saya pelanggan Rahasia", right="deletion", reason="Rahasia pribadi",
    )
    _age(request, days=7, minutes=1)
    assert services.requests_expire_unverified() == 1
    request.refresh_from_db()
    assert request.state == State.EXPIRED and request.closed_at
    for value in ("rahasia@example.test", "+6281299990000", "Rahasia"):
        assert _every_text_column_holds(value) == [], value
    assert not VerificationCode.objects.filter(request=request).exists()
    assert not RequestAttachment.objects.filter(request=request).exists()
    # What is kept: that a deletion request was made and expired, and the proof its codes were sent.
    assert request.right == "deletion" and request.email.startswith("h$")
    sent = OutboundMessage.objects.filter(pk__in=RequestMessage.objects.filter(request=request).values("message_id"))
    assert sent.count() == 2 and all(m.body == "" for m in sent)
    # Erased as the data map declares each field (the same as the engine's expiry would).
    from retention.registry import MASK

    assert request.requester_name == MASK and request.details == "" and all(m.subject == MASK for m in sent)
    assert audit_verify().intact


def test_six_days_is_not_seven():
    request = submit()
    _age(request, days=6, hours=23)
    assert services.requests_expire_unverified() == 0
    request.refresh_from_db()
    assert request.state == State.SUBMITTED and request.email == "siti@example.test"


def test_a_verified_request_never_expires(make_request):
    request = make_request()
    _age(request, days=30)
    assert services.requests_expire_unverified() == 0
    assert services.request_expire(request_id=request.pk) is None


def test_expiry_twice_is_harmless():
    request = submit()
    _age(request, days=8)
    services.requests_expire_unverified()
    assert services.requests_expire_unverified() == 0
    assert DataSubjectRequest.objects.get(pk=request.pk).events.filter(verb="expired").count() == 1


def _due_in(request, delta):
    DataSubjectRequest.objects.filter(pk=request.pk).update(due_at=timezone.now() + delta)


def _reminders():
    return OutboundMessage.objects.filter(kind="officer_reminder")


def test_reminders_24_and_6_hours_before_each_once(make_request, officer):
    request = make_request(step="in_review", by=officer)
    _due_in(request, timedelta(hours=30))
    assert services.requests_remind() == 0
    _due_in(request, timedelta(hours=23))
    assert services.requests_remind() == 1
    assert services.requests_remind() == 0
    message = _reminders().get()
    assert message.to_email == officer.email and request.reference in message.subject
    # Keep the 24-hour mark, reach the 6-hour one.
    soon = timezone.now() + timedelta(hours=5)
    DataSubjectRequest.objects.filter(pk=request.pk).update(due_at=soon, reminded_24h_for=soon)
    assert services.requests_remind() == 1
    assert services.requests_remind() == 0


def test_a_moved_due_time_earns_a_new_reminder(make_request, officer):
    request = make_request(step="in_review", by=officer)
    _due_in(request, timedelta(hours=20))
    services.requests_remind()
    _due_in(request, timedelta(hours=21))  # e.g. after a pause
    assert services.requests_remind() == 1


def test_no_reminder_while_the_clock_is_stopped_or_the_request_closed(make_request, officer):
    waiting = make_request(step="in_review", by=officer)
    services.request_ask(request_id=waiting.pk, actor=officer, question="?")
    _due_in(waiting, timedelta(hours=5))
    refused = make_request(step="in_review", by=officer, email="lain@example.test")
    services.request_refuse(request_id=refused.pk, actor=officer, reason="unfounded", text="Berulang.")
    _due_in(refused, timedelta(hours=5))
    assert services.requests_remind() == 0


def test_unassigned_requests_remind_every_officer(make_request, officer, dpo, auditor):
    request = make_request()
    _due_in(request, timedelta(hours=3))
    services.requests_remind()
    # The 24-hour and the 6-hour reminders, each to both officers; never to the auditor.
    assert set(_reminders().values_list("to_email", flat=True)) == {officer.email, dpo.email}


def test_the_daily_digest_counts_the_days_work(make_request, officer, dpo):
    late = make_request(step="in_review", by=officer)
    DataSubjectRequest.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(hours=1))
    make_request(email="lain@example.test")
    assert services.requests_digest() == 2
    digest = OutboundMessage.objects.filter(kind="officer_digest").first()
    assert "1 terlambat" in digest.subject
    assert "Terbuka: 2" in digest.body


def test_beat_tasks_are_registered_and_scheduled():
    from django_celery_beat.models import PeriodicTask

    from junoprivacy.celery import app

    names = {
        "requests_portal.requests_expire_unverified", "requests_portal.requests_remind",
        "requests_portal.requests_digest", "requests_portal.audit_anchor",
    }
    assert names <= set(app.tasks)
    assert names <= set(PeriodicTask.objects.filter(enabled=True).values_list("task", flat=True))
