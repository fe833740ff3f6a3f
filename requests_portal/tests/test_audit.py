"""The audit trail as an auditor tries it: tamper with the rows directly, as someone with
database access would, and see the walk name the first break."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from requests_portal import services
from requests_portal.audit import audit_anchor, audit_verify
from requests_portal.models import DataSubjectRequest, RequestEvent, State

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(make_request, officer):
    """Three requests with a few steps each, half of them anchored."""
    first = make_request(step="in_review", by=officer, email="satu@example.test")
    services.request_ask(request_id=first.pk, actor=officer, question="Outlet mana?")
    services.request_answer(request_id=first.pk, text="Outlet Manahan, nomor saya 0812 1111 2222.")
    second = make_request(step="in_review", by=officer, email="dua@example.test")
    audit_anchor()
    services.request_approve(request_id=second.pk, actor=officer)
    third = make_request(step="verified", email="tiga@example.test")
    return first, second, third


def _sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_an_untouched_trail_verifies(trail):
    report = audit_verify()
    assert report.intact, report.first_break
    assert report.events == RequestEvent.objects.count() and report.requests == 3
    assert report.anchors == 1 and report.unanchored > 0
    audit_anchor()
    assert audit_verify().unanchored == 0


def test_an_edited_note_is_named(trail):
    first = trail[0]
    event = first.events.get(verb="answered")
    _sql("UPDATE requests_portal_requestevent SET note = %s WHERE id = %s", ["Outlet lain.", event.pk])
    report = audit_verify()
    assert not report.intact
    assert f"{first.reference} event #{event.seq}" in str(report.first_break)
    assert "note" in report.first_break.problem


def test_an_edited_state_is_named(trail):
    second = trail[1]
    event = second.events.get(verb="approved")
    _sql("UPDATE requests_portal_requestevent SET to_state = 'refused' WHERE id = %s", [event.pk])
    report = audit_verify()
    assert f"{second.reference} event #{event.seq}" in str(report.first_break)
    assert "hash" in report.first_break.problem


def test_a_removed_event_in_the_middle_is_named(trail):
    first = trail[0]
    event = first.events.get(seq=3)
    _sql("DELETE FROM requests_portal_requestevent WHERE id = %s", [event.pk])
    report = audit_verify()
    assert f"{first.reference} event #4" in str(report.first_break)
    assert "#3 is missing" in report.first_break.problem


def test_reordered_events_are_named(trail):
    first = trail[0]
    a, b = first.events.get(seq=2), first.events.get(seq=3)
    _sql("UPDATE requests_portal_requestevent SET seq = seq + 1000 WHERE id IN (%s, %s)", [a.pk, b.pk])
    _sql("UPDATE requests_portal_requestevent SET seq = 3 WHERE id = %s", [a.pk])
    _sql("UPDATE requests_portal_requestevent SET seq = 2 WHERE id = %s", [b.pk])
    report = audit_verify()
    assert not report.intact and first.reference in str(report.first_break)


def test_removing_the_last_events_is_caught_by_the_head_before_any_anchor(trail):
    third = trail[2]  # not anchored yet
    last = third.events.order_by("-seq").first()
    _sql("DELETE FROM requests_portal_requestevent WHERE id = %s", [last.pk])
    report = audit_verify()
    assert third.reference in str(report.first_break) and "head" in report.first_break.problem


def test_a_whole_request_removed_after_anchoring_is_named_by_its_anchor(trail):
    second = trail[1]
    audit_anchor()
    _sql("DELETE FROM requests_portal_requestevent WHERE request_id = %s", [second.pk])
    DataSubjectRequest.objects.filter(pk=second.pk).delete()
    report = audit_verify()
    assert not report.intact
    assert report.first_break.where.startswith("anchor #")
    assert "removed" in report.first_break.problem


def test_a_whole_requests_events_removed_with_its_head_rewritten_is_caught_by_the_anchor(trail):
    second = trail[1]
    audit_anchor()
    _sql("DELETE FROM requests_portal_requestevent WHERE request_id = %s", [second.pk])
    _sql("UPDATE requests_portal_datasubjectrequest SET event_count = 0, head_hash = '' WHERE id = %s", [second.pk])
    report = audit_verify()
    assert report.first_break.where.startswith("anchor #")


def test_an_edited_anchor_is_named(trail):
    _sql("UPDATE requests_portal_auditanchor SET event_count = event_count - 1")
    report = audit_verify()
    assert report.first_break.where == "anchor #1"


def test_erasing_notes_and_messages_keeps_the_chain_whole(trail):
    audit_anchor()
    # What the engine does to a requester's events: the texts go, their keyed hashes stay.
    RequestEvent.objects.update(note="", told="")
    report = audit_verify()
    assert report.intact, report.first_break


def test_verify_audit_command_exit_status(trail, capsys):
    call_command("verify_audit")
    assert "intact" in capsys.readouterr().out
    first = trail[0]
    _sql("UPDATE requests_portal_requestevent SET verb = 'approved' WHERE request_id = %s AND seq = 2", [first.pk])
    with pytest.raises(SystemExit) as exit_:
        call_command("verify_audit")
    assert exit_.value.code == 1
    assert f"{first.reference} event #2" in capsys.readouterr().err


def test_anchoring_twice_adds_nothing(trail):
    audit_anchor()
    assert audit_anchor() is None
    assert RequestEvent.objects.filter(anchor__isnull=True).count() == 0


def test_the_walk_reads_in_batches(trail, monkeypatch):
    from requests_portal import audit

    monkeypatch.setattr(audit, "WALK_BATCH", 2)
    assert audit_verify().intact
    assert DataSubjectRequest.objects.filter(state=State.APPROVED).count() == 1
