"""The portal's own request records, erased by the same engine and the same daily plan.

Two years after a request closes (rule `request-records`, action anonymise) the request row
and its events are kept, every personal field erased the data map's way, the audit chain
still whole; its codes and attachments are deleted; the messages it sent keep only a keyed
hash of their address. A subject erasure does the same to a requester's requests at once; a
merchant's purge never touches a request, even one about that merchant's shop.

Requests are made through the request services, as a requester and an officer make them.
"""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from merchants.tests.factories import MerchantFactory
from messaging.models import OutboundMessage
from requests_portal.audit import audit_anchor, audit_verify
from requests_portal.models import (
    DataSubjectRequest, RequestAttachment, RequestEvent, RequestMessage, VerificationCode,
)
from retention import services
from retention.engine import ANONYMISED, DELETED, MASK, Erasure, Scope
from retention.models import ErasureRun, LegalHold, RetentionRule
from retention.pseudonyms import is_pseudonym, pseudonym
from retention.registry import datamap
from retention.selectors import subject_records
from retention.services.expiry import RECORDS_EXPIRE_TASK, records_scope
from retention.services.runs import RunClaim

from .conftest import closed, entered, member_of, submitted, warned_schedule

pytestmark = pytest.mark.django_db

RULE = "request-records"


@pytest.fixture
def officer(db):
    return member_of("Compliance officer", "petugas")


def state_of(request: DataSubjectRequest) -> dict:
    """Everything of one request the engine could change: its row, history copies, events,
    codes, attachments and messages."""
    messages = RequestMessage.objects.filter(request=request).values("message_id")
    return {
        "row": DataSubjectRequest.objects.filter(pk=request.pk).values().get(),
        "history": list(request.history.order_by("history_id").values()),
        "events": list(RequestEvent.objects.filter(request=request).order_by("seq").values()),
        "codes": list(VerificationCode.objects.filter(request=request).order_by("pk").values()),
        "attachments": list(RequestAttachment.objects.filter(request=request).order_by("pk").values_list("pk", "filename")),
        "messages": list(OutboundMessage.objects.filter(pk__in=messages).order_by("pk").values()),
    }


def assert_anonymised(before: dict, request: DataSubjectRequest) -> None:
    after = state_of(request)
    row, old = after["row"], before["row"]
    assert row["email"] == (pseudonym(old["email"], kind="email") if old["email"] else "")
    assert row["phone"] == (pseudonym(old["phone"], kind="phone") if old["phone"] else "")
    assert row["requester_name"] == MASK
    assert row["subject_name"] in (MASK, "")
    assert row["merchant_id"] is None
    for text in ("shop_name", "details", "wrong_data", "correct_data", "reason", "original_message",
                 "identity_method", "refusal_text", "extension_reason"):
        assert row[text] == "", text
    # what is not personal stays: state, times, the chain's head
    for kept in ("id", "public_id", "right", "state", "created_at", "closed_at", "event_count", "head_hash",
                 "refusal_reason"):
        assert row[kept] == old[kept], kept
    for copy in after["history"]:
        assert copy["email"] == "" or is_pseudonym(copy["email"])
        assert copy["phone"] == "" or is_pseudonym(copy["phone"])
        assert copy["requester_name"] in (MASK, "") and copy["wrong_data"] == "" and copy["merchant_id"] is None
    assert len(after["history"]) == len(before["history"])
    assert len(after["events"]) == len(before["events"])
    for event, old_event in zip(after["events"], before["events"]):
        assert event["note"] == "" and event["told"] == ""
        for kept in ("seq", "verb", "note_digest", "told_digest", "prev_hash", "hash", "created_at", "actor_id"):
            assert event[kept] == old_event[kept], kept
    assert after["codes"] == [] and after["attachments"] == []
    assert len(after["messages"]) == len(before["messages"]) > 0
    for message in after["messages"]:
        assert message["to_email"] == "" or is_pseudonym(message["to_email"])
        assert message["to_phone"] == "" or is_pseudonym(message["to_phone"])
        assert message["body"] == "" and message["subject"] in (MASK, "")


# -- two years after closing: the daily plan ----------------------------------------------------


def test_the_plan_anonymises_requests_on_the_day_after_their_two_years_only(
    officer, django_capture_on_commit_callbacks,
):
    now = timezone.now()
    period = timedelta(days=RetentionRule.objects.get(key=RULE).period)
    assert period == timedelta(days=730)
    requests = {
        "731_days": closed(submitted(name="Siti Rahayu", email="siti@contoh.id", phone="0812 3456 7890"),
                           ago=period + timedelta(days=1), now=now),
        "730_days_and_a_minute": closed(entered(officer, name="Budi Santoso", email="budi@contoh.id",
                                                phone="0813 1111 2222"), ago=period + timedelta(minutes=1), now=now),
        "a_minute_short": closed(submitted(name="Ani Lestari", email="ani@contoh.id"),
                                 ago=period - timedelta(minutes=1), now=now),
        "729_days": closed(submitted(name="Dewi Anggraini", email="dewi@contoh.id", phone="0857 2222 3333"),
                           ago=period - timedelta(days=1), now=now),
        "open": submitted(name="Eko Prasetyo", email="eko@contoh.id", withdraw=False),
    }
    audit_anchor()
    before = {key: state_of(request) for key, request in requests.items()}
    scope, _holds = records_scope(RetentionRule.objects.get(key=RULE), now=now)
    planned = Erasure(scope).count()

    with django_capture_on_commit_callbacks(execute=True):
        plan = services.purge_plan(now=now)

    assert plan["records_expired"] == 1
    for key in ("731_days", "730_days_and_a_minute"):
        assert_anonymised(before[key], requests[key])
    for key in ("a_minute_short", "729_days", "open"):
        assert state_of(requests[key]) == before[key], f"{key} is kept as it was"
    report = audit_verify()
    assert report.intact, report.first_break
    assert report.events == RequestEvent.objects.count()

    run = ErasureRun.objects.get(kind=ErasureRun.Kind.RETENTION_EXPIRY)
    assert (run.rule.key, run.merchant_ref, run.merchant_id, run.state) == (RULE, None, None, "completed")
    assert run.counts == planned and run.rows_done == run.rows_total
    assert planned["requests_portal_verificationcode"] == {DELETED: 2}  # her e-mail and phone (an entered one has none)
    assert planned["requests_portal_requestattachment"] == {DELETED: 1}
    assert planned["requests_portal_datasubjectrequest"] == {ANONYMISED: 2}
    assert planned["messaging_outboundmessage"][ANONYMISED] == len(before["731_days"]["messages"]) + len(
        before["730_days_and_a_minute"]["messages"]
    )
    # nothing left to do: the next plan queues nothing and no second run is opened
    with django_capture_on_commit_callbacks(execute=True):
        assert services.purge_plan(now=now)["records_expired"] == 0
    assert services.records_expire(rule_id=run.rule_id, now=now) is None
    assert ErasureRun.objects.filter(kind=ErasureRun.Kind.RETENTION_EXPIRY).count() == 1


def test_the_dry_run_equals_the_run_in_batches_of_two_and_a_second_run_does_nothing(officer):
    now = timezone.now()
    for i in range(3):
        closed(submitted(name=f"Pemohon Nomor {i}", email=f"p{i}@contoh.id", phone=f"0812 0000 00{i:02d}"),
               ago=timedelta(days=800))
    closed(entered(officer, name="Rina Wati", email="rina@contoh.id", phone="0813 4444 5555"), ago=timedelta(days=900))
    scope, _holds = records_scope(RetentionRule.objects.get(key=RULE), now=now)
    planned = Erasure(scope).count()
    assert Erasure(scope).has_work()
    done = Erasure(scope, batch_size=2).run()
    assert done.completed and done.counts == planned
    assert not Erasure(scope).has_work() and Erasure(scope).count() == {}
    assert Erasure(scope).run().counts == {}


def test_an_expiry_out_of_time_is_released_and_resumed_in_the_same_record():
    now = timezone.now()
    for i in range(3):
        closed(submitted(name=f"Pemohon Lama {i}", email=f"lama{i}@contoh.id"), ago=timedelta(days=800))
    rule = RetentionRule.objects.get(key=RULE)
    first = services.records_expire(rule_id=rule.pk, now=now, time_budget=0, batch_size=1)
    assert first.state == ErasureRun.State.RUNNING and first.claimed_by == "" and 0 < first.rows_done < first.rows_total
    done = services.records_expire(rule_id=rule.pk, now=now)
    assert done.pk == first.pk and done.state == ErasureRun.State.COMPLETED and done.rows_done == done.rows_total
    assert not VerificationCode.objects.exists() and not RequestAttachment.objects.exists()


def test_a_stalled_records_expiry_is_queued_again_by_the_sweep_under_its_rule(django_capture_on_commit_callbacks):
    closed(submitted(name="Siti Rahayu", email="siti@contoh.id"), ago=timedelta(days=800))
    rule = RetentionRule.objects.get(key=RULE)
    dead = ErasureRun.objects.create(
        kind=ErasureRun.Kind.RETENTION_EXPIRY, rule=rule, state="running", attempts=1, claimed_by="dead",
        lease_until=timezone.now() - timedelta(minutes=1),
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert services.work_resume_stalled()["runs"] == 1
    assert len(callbacks) == 1
    dead.refresh_from_db()
    assert dead.state == ErasureRun.State.COMPLETED and dead.attempts == 2
    assert ErasureRun.objects.count() == 1 and not VerificationCode.objects.exists()


def test_one_open_records_expiry_per_rule():
    rule = RetentionRule.objects.get(key=RULE)
    ErasureRun.objects.create(kind=ErasureRun.Kind.RETENTION_EXPIRY, rule=rule, state="pending")
    with pytest.raises(IntegrityError), transaction.atomic():
        ErasureRun.objects.create(kind=ErasureRun.Kind.RETENTION_EXPIRY, rule=rule, state="running")
    # a merchant's expiry under the same rule, and a closed one, are other records
    shop = MerchantFactory()
    ErasureRun.objects.create(kind=ErasureRun.Kind.RETENTION_EXPIRY, rule=rule, state="pending", merchant_ref=shop.pk)
    ErasureRun.objects.create(kind=ErasureRun.Kind.RETENTION_EXPIRY, rule=rule, state="completed")


def test_a_rule_that_says_delete_is_not_executed_on_records_of_no_merchant():
    request = closed(submitted(name="Siti Rahayu", email="siti@contoh.id"), ago=timedelta(days=800))
    rule = RetentionRule.objects.get(key=RULE)
    open_run = ErasureRun.objects.create(
        kind=ErasureRun.Kind.RETENTION_EXPIRY, rule=rule, state="running", attempts=1, lease_until=timezone.now(),
    )
    RetentionRule.objects.filter(pk=rule.pk).update(action=RetentionRule.Action.DELETE)
    before = state_of(request)
    assert services.records_expiry_due() == []
    assert services.records_expire(rule_id=rule.pk) is None
    assert state_of(request) == before  # its events are anchored: deleting them would break the chain
    open_run.refresh_from_db()
    assert open_run.state == ErasureRun.State.STOPPED and "tidak lagi menganonimkan" in open_run.stop_reason


# -- holds ---------------------------------------------------------------------------------------


def test_a_hold_on_the_requester_keeps_her_request_records_past_their_period(officer):
    dpo = member_of("Data protection officer", "dpo")
    siti = closed(submitted(name="Siti Rahayu", email="siti@contoh.id", phone="0812 3456 7890"), ago=timedelta(days=800))
    budi = closed(submitted(name="Budi Santoso", email="budi@contoh.id"), ago=timedelta(days=800))
    hold = services.hold_place(actor=officer, subject_phone="+62 812-3456-7890", reason="dispute", detail="BANI 12/2026")
    kept, erased = state_of(siti), state_of(budi)
    rule = RetentionRule.objects.get(key=RULE)

    run = services.records_expire(rule_id=rule.pk)
    assert run.state == ErasureRun.State.COMPLETED
    assert state_of(siti) == kept  # found by her phone: the row, its events, codes, letter, messages
    assert_anonymised(erased, budi)

    services.hold_lift(actor=dpo, hold_id=hold.pk, reason="Sengketa selesai")
    assert services.records_expiry_due() == [rule.pk]
    assert services.records_expire(rule_id=rule.pk).state == ErasureRun.State.COMPLETED
    assert_anonymised(kept, siti)


def test_a_hold_placed_while_the_expiry_runs_stops_it_at_the_next_batch(monkeypatch, officer):
    siti = closed(submitted(name="Siti Rahayu", email="siti@contoh.id"), ago=timedelta(days=800))
    closed(submitted(name="Budi Santoso", email="budi@contoh.id"), ago=timedelta(days=800))
    real = RunClaim.record

    def record_then_hold(self, counts, rows):
        real(self, counts, rows)
        if not LegalHold.objects.exists():
            LegalHold.objects.create(subject_email="SITI@contoh.id", reason="dispute", detail="x", placed_by=officer)

    monkeypatch.setattr(RunClaim, "record", record_then_hold)
    rule = RetentionRule.objects.get(key=RULE)
    run = services.records_expire(rule_id=rule.pk, batch_size=1)
    assert run.state == ErasureRun.State.STOPPED and "penahanan hukum #" in run.stop_reason
    assert 0 < run.rows_done < run.rows_total
    monkeypatch.setattr(RunClaim, "record", real)
    again = services.records_expire(rule_id=rule.pk)
    assert again.pk != run.pk and again.state == ErasureRun.State.COMPLETED
    siti.refresh_from_db()
    assert siti.email == "siti@contoh.id" and siti.requester_name == "Siti Rahayu"
    assert not VerificationCode.objects.exclude(request=siti).exists()


# -- a subject erasure, a merchant purge --------------------------------------------------------


def test_a_subject_erasure_anonymises_her_requests_open_or_closed_and_deletes_codes_and_letters(officer):
    closed_one = submitted(name="Siti Rahayu", email="Siti.Rahayu@Contoh.id", phone="0812 3456 7890")
    open_one = submitted(name="Siti Rahayu", email="siti.rahayu@contoh.id", withdraw=False)
    by_phone = entered(officer, name="Siti R.", email="lain@contoh.id", phone="+62 812-3456-7890")
    other = submitted(name="Budi Santoso", email="budi@contoh.id", phone="0813 1111 2222")
    audit_anchor()
    before = {r.pk: state_of(r) for r in (closed_one, open_one, by_phone, other)}
    found = subject_records(email="siti.rahayu@contoh.id", phone="081234567890")
    (no_merchant,) = found.merchants
    assert no_merchant.merchant_id is None
    assert {t.label: t.count for t in no_merchant.tables}["requests_portal.DataSubjectRequest"] == 3

    run = services.subject_erase(email="siti.rahayu@contoh.id", phone="081234567890")

    assert run.state == ErasureRun.State.COMPLETED and run.rows_done == run.rows_total
    for request in (closed_one, open_one, by_phone):
        assert_anonymised(before[request.pk], request)
    assert state_of(other) == before[other.pk]
    assert audit_verify().intact
    assert run.counts["requests_portal_datasubjectrequest"] == {ANONYMISED: 3}
    assert run.counts["requests_portal_requestattachment"] == {DELETED: 2}


def test_a_subject_erasure_within_one_merchant_leaves_her_requests_alone(siti):
    shop = siti["shops"][0]
    request = submitted(name="Siti Rahayu", email="siti.rahayu@gmail.com", merchant=shop, shop=shop.business_name)
    before = state_of(request)
    found = subject_records(email="siti.rahayu@gmail.com", merchant_id=shop.pk).merchants
    assert [m.merchant_id for m in found] == [shop.pk]
    run = services.subject_erase(email="siti.rahayu@gmail.com", merchant_id=shop.pk)
    assert run.state == ErasureRun.State.COMPLETED and run.counts
    assert state_of(request) == before


def test_a_merchant_purge_never_touches_a_request_about_its_shop(shop):
    request = submitted(name="Siti Rahayu", email="siti@contoh.id", merchant=shop, shop=shop.business_name)
    owner = submitted(name=shop.owner_name, email=shop.owner_email or "pemilik@contoh.id", merchant=shop,
                      shop=shop.business_name)
    before = {r.pk: state_of(r) for r in (request, owner)}
    schedule = warned_schedule(shop)
    planned = services.merchant_purge_dry_run(merchant_id=shop.pk).counts

    run = services.merchant_purge(schedule_id=schedule.pk)

    assert run.state == ErasureRun.State.COMPLETED
    assert not any(table.startswith("requests_portal") for table in list(planned) + list(run.counts))
    for r in (request, owner):
        assert state_of(r) == before[r.pk]


def test_request_tables_are_in_the_data_map_with_no_merchant_and_one_rule():
    entries = {e.label: e for e in datamap if e.model._meta.app_label == "requests_portal"}
    assert set(entries) == {
        "requests_portal.DataSubjectRequest", "requests_portal.RequestEvent", "requests_portal.VerificationCode",
        "requests_portal.RequestAttachment", "requests_portal.RequestMessage", "requests_portal.StatusCallback",
        "requests_portal.CorrectionItem", "requests_portal.AccessPackage", "requests_portal.AccessDownload",
    }
    assert all(e.merchant is None for e in entries.values())
    assert {e.retained_under for e in entries.values()} == {RULE, None}
    assert RECORDS_EXPIRE_TASK == "retention.records_expire"
    scope = Scope.expiry(merchant_id=None, rule_key=RULE, before=timezone.now(), action="anonymise")
    steps = [(s.entry.label, s.action) for s in Erasure(scope).plan()]
    # the messages the link table carries first (the link has nothing of its own to erase),
    # then children before their parents: the request last
    assert steps == [
        ("messaging.OutboundMessage", "anonymise"), ("requests_portal.VerificationCode", "delete"),
        ("requests_portal.RequestAttachment", "delete"), ("requests_portal.RequestEvent", "anonymise"),
        ("requests_portal.CorrectionItem", "anonymise"), ("requests_portal.AccessDownload", "delete"),
        ("requests_portal.DataSubjectRequest", "anonymise"),
    ]
