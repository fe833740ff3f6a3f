"""The ledger's immutability, tried as an attacker holding the application's own database
connection would, and consent_record's refusals (each with its code, nothing written)."""

from datetime import datetime, timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from consent.datamap import ledger_pseudonymise
from consent.exceptions import ConsentError
from consent.models import ConsentEvent, ConsentState
from consent.services import SubjectRef, consent_record, consent_state_rebuild, subject_ref
from retention.engine import Scope
from retention.pseudonyms import is_pseudonym, pseudonym

from .factories import record

pytestmark = pytest.mark.django_db

TABLE = "consent_consentevent"


@pytest.fixture
def event(shop):
    return record(
        email="Ayu.Lestari@Gmail.com", phone="0812 1111 2222", merchant=shop, ip_address="203.0.113.9",
        user_agent="JUNOPOS-Till/5.2", text_shown="Saya mau menerima promo.", reference="R-1",
    )


def _row(pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {TABLE} WHERE id = %s", [pk])
        return cursor.fetchone()


def _refused(sql, params=(), *, erasure=False, truncate_mark_off=False):
    """Run `sql` in its own savepoint; True if PostgreSQL refused it (the savepoint rolls back)."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                if erasure:
                    cursor.execute("SET LOCAL juno.ledger_erasure = 'on'")
                if truncate_mark_off:
                    cursor.execute("SET LOCAL juno.ledger_truncate = 'off'")
                    # The test's own inserts leave deferred foreign-key checks, which TRUNCATE would trip on first.
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(sql, list(params))
    except DatabaseError as error:
        assert "append-only" in str(error)
        return True
    return False


@pytest.mark.parametrize(
    "column, value",
    [
        ("email", "penyerang@contoh.co.id"), ("email", ""), ("phone", "+6281299990000"), ("action", "withdrawn"),
        ("occurred_at", "2020-01-01T00:00:00+07:00"), ("purpose_id", None), ("channel", "admin"),
        ("reference", "palsu"), ("text_shown", "teks lain"), ("ip_address", None), ("user_agent", ""),
        ("recorded_at", "2020-01-01T00:00:00+07:00"), ("merchant_id", None), ("policy_version_id", None),
    ],
)
def test_no_column_can_be_updated_outside_an_erasure(event, column, value):
    if column == "purpose_id":
        value = event.purpose_id + 1
    before = _row(event.pk)
    assert _refused(f"UPDATE {TABLE} SET {column} = %s WHERE id = %s", [value, event.pk])
    assert _row(event.pk) == before


def test_delete_and_truncate_are_refused(event):
    before = _row(event.pk)
    assert _refused(f"DELETE FROM {TABLE} WHERE id = %s", [event.pk])
    assert _refused(f"DELETE FROM {TABLE}")
    # The test database is marked so that Django's flush may empty it; undo the mark, as on a real one.
    assert _refused(f"TRUNCATE {TABLE} CASCADE", truncate_mark_off=True)
    assert _row(event.pk) == before


@pytest.mark.parametrize(
    "change",
    [
        "purpose_id = purpose_id + 1", "action = 'withdrawn'", "occurred_at = occurred_at - interval '1 day'",
        "email = 'orang.lain@contoh.co.id'", "phone = '+6281200000000'", "email = 'h$abc'",
        "email = 'h$' || repeat('g', 62)", "user_agent = 'lain'", "ip_address = '198.51.100.1'",
        "reference = ''", "text_shown = ''",
    ],
)
def test_an_erasure_may_change_nothing_but_identifiers_into_hashes(event, change):
    before = _row(event.pk)
    assert _refused(f"UPDATE {TABLE} SET {change} WHERE id = %s", [event.pk], erasure=True)
    assert _row(event.pk) == before


def test_the_erasure_hooks_pseudonymisation_is_allowed(event):
    hashed = pseudonym(event.email, kind="email")
    assert not _refused(
        f"UPDATE {TABLE} SET email = %s, phone = '', ip_address = NULL, user_agent = '' WHERE id = %s",
        [hashed, event.pk], erasure=True,
    )
    stored = ConsentEvent.objects.get(pk=event.pk)
    assert (stored.email, stored.phone, stored.ip_address, stored.user_agent) == (hashed, "", None, "")
    assert (stored.action, stored.purpose_id, stored.occurred_at, stored.reference) == (
        event.action, event.purpose_id, event.occurred_at, event.reference,
    )


def test_the_hook_itself_pseudonymises_and_keeps_the_proof(event, shop):
    counts = ledger_pseudonymise(Scope.subject(email="ayu.lestari@gmail.com"), dry_run=False)
    assert counts == {"consent_consentevent": {"anonymised": 1}, "consent_consentstate": {"anonymised": 2}}
    stored = ConsentEvent.objects.get(pk=event.pk)
    assert is_pseudonym(stored.email) and is_pseudonym(stored.phone)
    assert stored.email == pseudonym("ayu.lestari@gmail.com", kind="email")
    assert set(ConsentState.objects.values_list("identifier", flat=True)) == {stored.email, stored.phone}
    assert consent_state_rebuild().clean


def test_the_orm_cannot_change_or_delete_the_ledger(event):
    for attempt in (
        lambda: ConsentEvent.objects.filter(pk=event.pk).update(action="withdrawn"),
        lambda: ConsentEvent.objects.filter(pk=event.pk).update(email="lain@contoh.co.id"),
        lambda: ConsentEvent.objects.filter(pk=event.pk).delete(),
        lambda: ConsentEvent.objects.get(pk=event.pk).delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            attempt()
    assert ConsentEvent.objects.get(pk=event.pk).email == "ayu.lestari@gmail.com"
    saved = ConsentEvent.objects.get(pk=event.pk)
    saved.action = "withdrawn"
    with pytest.raises(DatabaseError), transaction.atomic():
        saved.save()


def test_a_recorded_event_and_its_state(event, shop):
    assert event.email == "ayu.lestari@gmail.com" and event.phone == "+6281211112222"
    assert event.policy_version.version == "2023.1"
    states = ConsentState.objects.filter(merchant=shop).order_by("identifier")
    assert [(s.identifier, s.consented, s.consent_event_id) for s in states] == [
        ("+6281211112222", True, event.pk), ("ayu.lestari@gmail.com", True, event.pk),
    ]


def _refusal(code, **given):
    before = (ConsentEvent.objects.count(), ConsentState.objects.count())
    with pytest.raises(ConsentError) as raised:
        kwargs = {"purpose": "marketing", "action": "given", "channel": "till", **given}
        if "subject" not in kwargs:
            kwargs["subject"] = subject_ref(email="wati@contoh.co.id")
        consent_record(**kwargs)
    assert raised.value.code == code
    assert (ConsentEvent.objects.count(), ConsentState.objects.count()) == before


def test_an_objection_to_a_legitimate_interest_can_be_lifted():
    from consent.selectors import Reason, consent_check, purpose_get

    subject = subject_ref(email="wati@contoh.co.id")
    purpose = purpose_get("service-improvement")

    def reason():
        return consent_check(identifiers=subject.identifiers, merchant_id=None, purpose=purpose).reason

    objection = consent_record(subject=subject, purpose=purpose, action="withdrawn", channel="portal")
    assert reason() == Reason.OBJECTED
    lifted = consent_record(subject=subject, purpose=purpose, action="given", channel="portal")
    assert reason() == Reason.NOT_OBJECTED
    state = ConsentState.objects.get(identifier="wati@contoh.co.id", purpose=purpose)
    assert (state.consented, state.consent_event_id) == (True, lifted.pk)
    assert list(ConsentEvent.objects.order_by("pk").values_list("pk", "action")) == [
        (objection.pk, "withdrawn"), (lifted.pk, "given"),
    ]


def test_refusals_each_with_its_code_and_nothing_written(shop):
    _refusal("unknown_purpose", purpose="telepati")
    _refusal("basis_not_consent", purpose="transactions")
    _refusal("basis_not_consent", purpose="kyc")
    _refusal("basis_not_withdrawable", purpose="kyc", action="withdrawn")
    _refusal("basis_not_withdrawable", purpose="transactions", action="withdrawn")
    _refusal("invalid_action", action="maybe")
    _refusal("invalid_channel", channel="pigeon")
    _refusal("future_time", occurred_at=timezone.now() + timedelta(hours=1))
    _refusal("naive_time", occurred_at=datetime(2025, 1, 1, 10, 0))
    _refusal("unknown_policy_version", policy_version="1999.9")
    _refusal("unknown_merchant", subject=subject_ref(email="wati@contoh.co.id", merchant_id=999999))
    _refusal("no_subject", subject=SubjectRef())
    for code, given in (
        ("invalid_email", {"email": "bukan-email"}), ("invalid_phone", {"phone": "12"}), ("no_subject", {}),
    ):
        with pytest.raises(ConsentError) as raised:
            subject_ref(**given)
        assert raised.value.code == code
    assert not ConsentEvent.objects.exists()


def test_a_little_clock_skew_is_accepted_and_a_late_event_does_not_override(shop):
    now = timezone.now()
    newer = record(email="wati@contoh.co.id", action="given", occurred_at=now + timedelta(minutes=2))
    late = record(email="wati@contoh.co.id", action="withdrawn", occurred_at=now - timedelta(days=2))
    state = ConsentState.objects.get(identifier="wati@contoh.co.id")
    assert (state.consented, state.consent_event_id) == (True, newer.pk)
    assert late.pk > newer.pk
