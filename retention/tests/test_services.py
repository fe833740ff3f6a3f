"""Churn, holds, the purge and its schedule, expiry: the services, on PostgreSQL."""

import smtplib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from merchants.models import LoyaltyCustomer, Merchant, Outlet, Sale
from messaging.channels import DeliveryError
from messaging.models import OutboundMessage
from merchants.tests.factories import MerchantFactory, PaymentFactory, SaleFactory, SaleLineFactory
from retention import selectors, services
from retention.engine import Erasure, Scope
from retention.exceptions import ErasureBlocked, RetentionError
from retention.models import ChurnEvent, ErasureRun, LegalHold, PurgeSchedule, PurgeWarning, RetentionRule
from retention.selectors import schedules_due

from .conftest import build_shop, deliver_warnings, member_of, merchant_checksum

pytestmark = pytest.mark.django_db
JAKARTA = ZoneInfo("Asia/Jakarta")


@pytest.fixture
def officer(db):
    """The data protection officer: may place and lift holds and retry purges."""
    return member_of("Data protection officer", "petugas")


def churn(shop, days_ago, *, warned=True, **kw):
    """Churned `days_ago`; with `warned`, its warnings were delivered at the churn (they count)."""
    schedule = services.merchant_churn(merchant_id=shop.pk, churned_at=timezone.now() - timedelta(days=days_ago), **kw)
    return deliver_warnings(schedule) if warned else schedule


# -- churn and reactivation ---------------------------------------------------------------------


def test_churn_schedules_the_purge_after_the_grace_period(shop):
    at = timezone.now() - timedelta(days=2)
    schedule = services.merchant_churn(merchant_id=shop.pk, churned_at=at)
    assert schedule.state == PurgeSchedule.State.SCHEDULED
    assert schedule.due_at == at + timedelta(days=30)
    assert schedule.rule.key == "merchant-churn"
    shop.refresh_from_db()
    assert shop.churned_at == at
    assert ChurnEvent.objects.filter(merchant=shop, kind="churned").count() == 1
    assert shop.history.first().churned_at == at  # the change is in the merchant's audit history
    # reported twice: nothing new
    again = services.merchant_churn(merchant_id=shop.pk, churned_at=at + timedelta(hours=1))
    assert again.pk == schedule.pk and again.due_at == schedule.due_at
    assert ChurnEvent.objects.filter(merchant=shop).count() == 1


def test_the_grace_period_comes_from_the_rule_an_officer_can_edit(shop):
    RetentionRule.objects.filter(key="merchant-churn").update(period=45)
    schedule = churn(shop, 0)
    assert (schedule.due_at - schedule.churned_at).days == 45


@pytest.mark.parametrize("days_ago, due", [(29, False), (30, True), (31, True)])
def test_due_on_the_thirtieth_day_not_before(shop, days_ago, due):
    now = timezone.now()
    schedule = services.merchant_churn(merchant_id=shop.pk, churned_at=now - timedelta(days=days_ago))
    deliver_warnings(schedule)
    assert schedules_due(now=now).filter(merchant=shop).exists() is due
    run = services.merchant_purge(schedule_id=schedule.pk)
    assert (run is not None) is due
    assert LoyaltyCustomer.objects.filter(merchant=shop).exists() is not due


def test_reactivation_cancels_the_purge(shop):
    schedule = churn(shop, 31)
    services.merchant_reactivate(merchant_id=shop.pk)
    schedule.refresh_from_db()
    assert schedule.state == PurgeSchedule.State.CANCELLED
    assert not schedules_due(now=timezone.now()).exists()
    assert services.merchant_purge(schedule_id=schedule.pk) is None
    assert LoyaltyCustomer.objects.filter(merchant=shop).count() == 3
    assert [e.kind for e in ChurnEvent.objects.filter(merchant=shop).order_by("recorded_at")] == [
        "churned", "reactivated",
    ]
    # and churning again schedules afresh
    assert churn(shop, 0).state == PurgeSchedule.State.SCHEDULED


def test_a_purged_merchant_cannot_be_reactivated(shop):
    schedule = churn(shop, 40)
    services.merchant_purge(schedule_id=schedule.pk)
    with pytest.raises(RetentionError, match="sudah dihapus"):
        services.merchant_reactivate(merchant_id=shop.pk)
    with pytest.raises(RetentionError):
        services.merchant_churn(merchant_id=shop.pk)


def test_unknown_merchant_is_a_clear_error(db):
    with pytest.raises(RetentionError, match="tidak ditemukan"):
        services.merchant_churn(merchant_id=987654)


# -- the purge ----------------------------------------------------------------------------------


def test_purge_leaves_a_complete_run_record(shop, bystander):
    other = merchant_checksum(bystander.pk)
    schedule = churn(shop, 31)
    planned = Erasure(Scope.merchant(shop.pk)).count()
    run = services.merchant_purge(schedule_id=schedule.pk, batch_size=2)

    assert run.state == ErasureRun.State.COMPLETED
    assert run.counts == planned
    assert run.rows_done == run.rows_total == sum(sum(a.values()) for a in planned.values())
    assert run.progress_percent == 100
    assert run.rule.key == "merchant-churn"
    assert run.started_at and run.finished_at and run.attempts == 1
    assert set(run.subject_hashes) == {"business_name", "tax_number", "owner_email", "owner_phone"}
    assert all(v.startswith("h$") for v in run.subject_hashes.values())
    assert shop.owner_email not in str(run.counts) + str(run.subject_hashes)
    schedule.refresh_from_db()
    assert schedule.state == PurgeSchedule.State.PURGED and schedule.purged_at
    assert merchant_checksum(bystander.pk) == other


def test_dry_run_records_the_counts_and_changes_nothing(shop):
    before = merchant_checksum(shop.pk)
    run = services.merchant_purge_dry_run(merchant_id=shop.pk)
    assert run.dry_run and run.counts == Erasure(Scope.merchant(shop.pk)).count()
    assert merchant_checksum(shop.pk) == before


def test_a_hold_stops_the_purge_and_says_why(shop, officer):
    schedule = churn(shop, 31)
    hold = services.hold_place(
        actor=officer, merchant_id=shop.pk, reason=LegalHold.Reason.LAW_ENFORCEMENT,
        detail="Surat Polda Metro Jaya No. B/123/XI/2026",
    )
    assert not schedules_due(now=timezone.now()).exists()
    before = merchant_checksum(shop.pk)
    assert services.merchant_purge(schedule_id=schedule.pk) is None  # not even started
    reason = selectors.purge_stop_reason(schedule_id=schedule.pk)
    # the kind of hold and its number; its detail (which may name people) stays in the hold
    assert "Permintaan penegak hukum" in reason and f"#{hold.pk}" in reason and "B/123" not in reason
    assert merchant_checksum(shop.pk) == before
    schedule.refresh_from_db()
    assert schedule.state == PurgeSchedule.State.SCHEDULED


def test_a_hold_placed_mid_purge_stops_it_at_the_next_batch_and_lifting_resumes(shop, officer):
    schedule = churn(shop, 31)
    placed = {}

    def progress(rows):
        if not placed:
            placed["hold"] = services.hold_place(
                actor=officer, merchant_id=shop.pk, reason=LegalHold.Reason.FRAUD, detail="Dugaan fraud QRIS"
            )

    run = services.merchant_purge(schedule_id=schedule.pk, batch_size=1, on_progress=progress)
    assert run.state == ErasureRun.State.STOPPED and f"#{placed['hold'].pk}" in run.stop_reason
    assert run.rows_done == 1 and sum(sum(a.values()) for a in run.counts.values()) == 1

    services.hold_lift(hold_id=placed["hold"].pk, actor=officer, reason="Penyelidikan selesai")
    resumed = services.merchant_purge(schedule_id=schedule.pk)
    assert resumed.state == ErasureRun.State.COMPLETED and resumed.pk != run.pk
    assert Erasure(Scope.merchant(shop.pk)).count() == {}


def test_reactivation_mid_purge_stops_it_at_the_next_batch(shop):
    schedule = churn(shop, 31)
    done = []

    def progress(rows):
        done.append(rows)
        if len(done) == 2:
            services.merchant_reactivate(merchant_id=shop.pk)

    run = services.merchant_purge(schedule_id=schedule.pk, batch_size=1, on_progress=progress)
    assert run.state == ErasureRun.State.STOPPED
    assert "aktif kembali" in run.stop_reason
    assert len(done) == 2
    schedule.refresh_from_db()
    assert schedule.state == PurgeSchedule.State.CANCELLED


def test_a_claimed_run_is_not_claimed_twice_and_a_dead_workers_run_is_resumed(shop):
    schedule = churn(shop, 31)
    run = ErasureRun.objects.create(
        kind="merchant_purge", merchant=shop, merchant_ref=shop.pk, rule=schedule.rule, state="running", attempts=1,
        claimed_by="other-worker", lease_until=timezone.now() + timedelta(minutes=5),
    )
    PurgeSchedule.objects.filter(pk=schedule.pk).update(state=PurgeSchedule.State.PURGING)
    assert services.merchant_purge(schedule_id=schedule.pk) is None
    assert LoyaltyCustomer.objects.filter(merchant=shop).count() == 3
    # once the other worker's lease runs out (it died), the run is taken over and finished
    ErasureRun.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert list(selectors.runs_stalled(now=timezone.now())) == [run]
    resumed = services.merchant_purge(schedule_id=schedule.pk)
    assert resumed.pk == run.pk and resumed.state == ErasureRun.State.COMPLETED and resumed.attempts == 2
    assert resumed.claimed_by == "" and resumed.lease_until is None


def test_a_worker_that_lost_its_claim_writes_nothing_more(shop):
    """Fencing: the engine's batch refuses to commit once another worker holds the run."""
    from retention.services.runs import ClaimLost, RunClaim

    schedule = churn(shop, 31)
    PurgeSchedule.objects.filter(pk=schedule.pk).update(state=PurgeSchedule.State.PURGING)
    run = ErasureRun.objects.create(kind="merchant_purge", merchant=shop, merchant_ref=shop.pk, rule=schedule.rule)
    mine = RunClaim.take(run.pk)
    before = merchant_checksum(shop.pk)
    # another worker takes it over (this one's lease ran out while it was blocked)
    ErasureRun.objects.filter(pk=run.pk).update(claimed_by="the-other-worker")
    with pytest.raises(ClaimLost):
        mine.record({"merchants_sale": {"anonymised": 2}}, 2)
    for end in (mine.finish, lambda: mine.stop("x"), lambda: mine.fail("x"), mine.release):
        with pytest.raises(ClaimLost):
            end()
    run.refresh_from_db()
    assert (run.state, run.rows_done, run.counts, run.claimed_by) == ("running", 0, {}, "the-other-worker")
    assert merchant_checksum(shop.pk) == before


def test_a_purge_out_of_time_is_saved_and_resumed_not_failed(shop):
    schedule = churn(shop, 31)
    planned = Erasure(Scope.merchant(shop.pk)).count()
    run = services.merchant_purge(schedule_id=schedule.pk, batch_size=1, time_budget=0)
    assert run.state == ErasureRun.State.RUNNING and run.claimed_by == "" and not run.error
    assert PurgeSchedule.objects.get(pk=schedule.pk).state == PurgeSchedule.State.PURGING
    assert list(selectors.runs_stalled(now=timezone.now() + timedelta(seconds=1))) == [run]
    rounds = 1
    while run.state == ErasureRun.State.RUNNING:
        run = services.merchant_purge(schedule_id=schedule.pk, batch_size=3, time_budget=0.05)
        rounds += 1
        assert rounds < 200
    assert run.state == ErasureRun.State.COMPLETED and run.counts == planned and run.attempts == rounds
    assert run.rows_done == run.rows_total == sum(sum(a.values()) for a in planned.values())


def test_celerys_soft_time_limit_is_a_pause_not_a_failure(shop, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    schedule = churn(shop, 31)
    calls = {"n": 0}
    real = Erasure._anonymise

    def slow(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise SoftTimeLimitExceeded()
        return real(*args, **kwargs)

    monkeypatch.setattr(Erasure, "_anonymise", staticmethod(slow))
    run = services.merchant_purge(schedule_id=schedule.pk, batch_size=1)
    assert run.state == ErasureRun.State.RUNNING and not run.error and run.rows_done > 0
    monkeypatch.undo()
    assert services.merchant_purge(schedule_id=schedule.pk).state == ErasureRun.State.COMPLETED


def test_a_failure_is_recorded_and_an_officer_can_retry(shop, officer, monkeypatch, django_capture_on_commit_callbacks):
    schedule = churn(shop, 31)
    monkeypatch.setattr(Erasure, "_anonymise", lambda *a, **k: (_ for _ in ()).throw(ValueError("disk penuh")))
    with pytest.raises(ValueError):
        services.merchant_purge(schedule_id=schedule.pk)
    failed = ErasureRun.objects.get(merchant_ref=shop.pk)
    assert failed.state == ErasureRun.State.FAILED and "disk penuh" in failed.error
    schedule.refresh_from_db()
    assert schedule.state == PurgeSchedule.State.FAILED
    assert not schedules_due(now=timezone.now()).exists()

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        retry = services.purge_retry(run_id=failed.pk, actor=officer)
    retry.refresh_from_db()
    assert retry.retry_of == failed and retry.requested_by == officer
    assert retry.state == ErasureRun.State.COMPLETED  # the queued task ran (in process here)
    with pytest.raises(RetentionError):
        services.purge_retry(run_id=retry.pk, actor=officer)


# -- holds -------------------------------------------------------------------------------------


def test_hold_validation_is_clear_and_changes_nothing(officer):
    with pytest.raises(RetentionError, match="merchant atau subjek"):
        services.hold_place(actor=officer, reason="fraud", detail="x")
    with pytest.raises(RetentionError, match="telepon"):
        services.hold_place(actor=officer, reason="fraud", detail="x", subject_phone="bukan nomor")
    with pytest.raises(RetentionError, match="keterangan"):
        services.hold_place(actor=officer, reason="fraud", detail="  ", subject_email="a@b.id")
    assert not LegalHold.objects.exists()


def test_hold_place_and_lift_are_recorded(officer):
    hold = services.hold_place(
        actor=officer, reason=LegalHold.Reason.DISPUTE, detail="Musyawarah 30 hari", subject_phone="0812-3456-7890"
    )
    assert hold.subject_phone == "+6281234567890" and hold.placed_by == officer and hold.is_active
    with pytest.raises(RetentionError):
        services.hold_lift(hold_id=hold.pk, actor=officer, reason="")
    lifted = services.hold_lift(hold_id=hold.pk, actor=officer, reason="Sepakat")
    assert not lifted.is_active and lifted.lifted_by == officer and lifted.lift_reason == "Sepakat"
    assert [h.history_type for h in hold.history.order_by("history_date")] == ["+", "~"]
    with pytest.raises(RetentionError, match="sudah dicabut"):
        services.hold_lift(hold_id=hold.pk, actor=officer, reason="lagi")


def test_an_ended_hold_no_longer_stops_anything(shop, officer):
    hold = services.hold_place(
        actor=officer, merchant_id=shop.pk, reason="fraud", detail="x",
        ends_at=timezone.now() + timedelta(days=1),
    )
    churn(shop, 31)
    assert not schedules_due(now=timezone.now()).exists()
    assert schedules_due(now=hold.ends_at + timedelta(seconds=1)).exists()


def test_a_subject_hold_refuses_a_subject_erasure(siti, officer):
    hold = services.hold_place(actor=officer, reason="fraud", detail="Laporan bank", subject_email="SITI.rahayu@gmail.com")
    with pytest.raises(ErasureBlocked, match=f"#{hold.pk}"):
        services.subject_erase(phone="081234567890", email="siti.rahayu@gmail.com")
    assert LoyaltyCustomer.objects.filter(name="Siti Rahayu").count() == 3


def test_a_merchant_hold_keeps_that_merchants_records_in_a_subject_erasure(siti, officer):
    held = siti["shops"][1]
    services.hold_place(actor=officer, merchant_id=held.pk, reason="dispute", detail="Sengketa di BANI")
    run = services.subject_erase(phone="081234567890", actor=officer)
    assert run.state == ErasureRun.State.COMPLETED
    assert str(held.pk) in run.stop_reason
    assert list(LoyaltyCustomer.objects.filter(name="Siti Rahayu").values_list("merchant", flat=True)) == [held.pk]
    assert run.subject_hashes["phone"].startswith("h$") and "6281234567890" not in str(run.subject_hashes)


def test_subject_erase_refuses_bad_input_clearly(db):
    with pytest.raises(RetentionError, match="valid"):
        services.subject_erase(email="bukan-email", phone="abc")


# -- warnings -----------------------------------------------------------------------------------


def test_warnings_go_out_14_and_3_days_before_in_the_merchants_language(db, django_capture_on_commit_callbacks):
    now = timezone.now()
    ida = MerchantFactory(preferred_language="id", owner_email="ida@warung.id")
    eng = MerchantFactory(preferred_language="en", owner_email="owner@shop.sg", country_of_origin="SG")
    for shop in (ida, eng):
        services.merchant_churn(merchant_id=shop.pk, churned_at=now - timedelta(days=16, hours=1))  # 13.96 days left

    with django_capture_on_commit_callbacks(execute=True):
        assert services.purge_warnings_send(now=now) == 2
    by_to = {m.to[0]: m for m in mail.outbox}
    assert "akan dihapus" in by_to["ida@warung.id"].subject
    assert "will be deleted" in by_to["owner@shop.sg"].subject
    assert "10" in by_to["ida@warung.id"].body and "customer@junopos.com" in by_to["ida@warung.id"].body

    with django_capture_on_commit_callbacks(execute=True):
        assert services.purge_warnings_send(now=now + timedelta(days=1)) == 0  # not twice
        # the 3-day warning: 3 days before the purge, which is 14 days after the first was sent
        assert services.purge_warnings_send(now=now + timedelta(days=10, hours=23)) == 0
        assert services.purge_warnings_send(now=now + timedelta(days=11, hours=1)) == 2
    assert len(mail.outbox) == 4
    # each warning its own record, with its message: which, when, to whom, delivered
    warnings = PurgeWarning.objects.filter(schedule__merchant=ida).order_by("created_at")
    assert [(w.days, w.message.state, w.message.to_email) for w in warnings] == [
        (14, "sent", "ida@warung.id"), (3, "sent", "ida@warung.id"),
    ]
    assert warnings[0].message.sent_at < warnings[1].message.sent_at


@pytest.mark.parametrize("days_left, expected", [(15, 0), (14, 1), (13, 1)])
def test_the_first_warning_boundary(db, days_left, expected, django_capture_on_commit_callbacks):
    now = timezone.now()
    shop = MerchantFactory()
    services.merchant_churn(merchant_id=shop.pk, churned_at=now - timedelta(days=30 - days_left))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.purge_warnings_send(now=now) == expected


def test_a_held_merchant_is_not_warned(shop, officer, django_capture_on_commit_callbacks):
    churn(shop, 20)
    services.hold_place(actor=officer, merchant_id=shop.pk, reason="fraud", detail="x")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.purge_warnings_send() == 0
    assert mail.outbox == []


# -- expiry of kept records ---------------------------------------------------------------------


def test_tax_records_are_kept_to_the_end_of_the_tenth_financial_year():
    rule = RetentionRule(period=10, unit="years", from_end_of_financial_year=True)
    cutoff = rule.cutoff(now=datetime(2026, 11, 25, 10, tzinfo=JAKARTA))
    assert cutoff == datetime(2016, 1, 1, tzinfo=JAKARTA)
    # on New Year's Day (Jakarta) another year expires
    assert rule.cutoff(now=datetime(2027, 1, 1, 0, 5, tzinfo=JAKARTA)) == datetime(2017, 1, 1, tzinfo=JAKARTA)


def test_expiry_deletes_purged_kept_records_on_the_day_after_their_period(shop, django_capture_on_commit_callbacks):
    schedule = churn(shop, 31)
    services.merchant_purge(schedule_id=schedule.pk)
    outlet = Outlet.objects.get(merchant=shop)
    now = datetime(2026, 11, 25, 10, tzinfo=JAKARTA)
    dates = {
        "last_day": datetime(2015, 12, 31, 23, 59, tzinfo=JAKARTA),  # period over: goes
        "first_day": datetime(2016, 1, 1, 0, 1, tzinfo=JAKARTA),  # still within: stays
        "next": datetime(2016, 1, 2, tzinfo=JAKARTA),
    }
    sales = {k: SaleFactory(merchant=shop, outlet=outlet, sold_at=v) for k, v in dates.items()}
    for sale in sales.values():
        SaleLineFactory(sale=sale)
        PaymentFactory(sale=sale)

    plan = None
    with django_capture_on_commit_callbacks(execute=True):
        plan = services.purge_plan(now=now)
    assert plan["expired"] == 1
    assert not Sale.objects.filter(pk=sales["last_day"].pk).exists()
    assert Sale.objects.filter(pk__in=[sales["first_day"].pk, sales["next"].pk]).count() == 2
    run = ErasureRun.objects.get(kind=ErasureRun.Kind.RETENTION_EXPIRY)
    assert run.rule.key == "tax-records" and run.state == "completed"
    assert run.counts == {
        "merchants_payment": {"deleted": 1}, "merchants_saleline": {"deleted": 1}, "merchants_sale": {"deleted": 1},
    }


def test_expiry_never_touches_active_merchants(shop):
    old = SaleFactory(merchant=shop, outlet=Outlet.objects.get(merchant=shop), sold_at=timezone.now() - timedelta(days=4500))
    services.purge_plan()
    assert Sale.objects.filter(pk=old.pk).exists()


# -- the daily plan -----------------------------------------------------------------------------


def test_the_plan_queues_due_and_stalled_purges_only(django_capture_on_commit_callbacks, officer):
    due, early, held, stalled, unwarned = (build_shop(customers=1, sales=1) for _ in range(5))
    churn(due, 31)
    churn(early, 10)
    churn(held, 31)
    churn(unwarned, 31, warned=False)
    services.hold_place(actor=officer, merchant_id=held.pk, reason="fraud", detail="x")
    s = churn(stalled, 40)
    PurgeSchedule.objects.filter(pk=s.pk).update(state="purging")
    ErasureRun.objects.create(
        kind="merchant_purge", merchant=stalled, merchant_ref=stalled.pk, rule=s.rule, state="running",
        claimed_by="dead", lease_until=timezone.now() - timedelta(minutes=1), attempts=1,
    )

    with django_capture_on_commit_callbacks(execute=True):
        plan = services.purge_plan()
    assert plan["due"] == 1 and plan["stalled"] == 1 and plan["warned"] == 1  # the unwarned one's first warning
    states = dict(PurgeSchedule.objects.values_list("merchant_id", "state"))
    assert states == {
        due.pk: "purged", early.pk: "scheduled", held.pk: "scheduled", stalled.pk: "purged", unwarned.pk: "scheduled",
    }


def test_the_plan_costs_the_same_queries_whatever_the_number_of_merchants():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def plan_queries(n):
        for _ in range(n):
            shop = MerchantFactory()
            services.merchant_churn(merchant_id=shop.pk, churned_at=timezone.now() - timedelta(days=5))
        with CaptureQueriesContext(connection) as ctx:
            services.purge_plan(now=timezone.now() - timedelta(days=30))  # nothing due, nothing to warn
        return len(ctx.captured_queries)

    # detection, warnings (rules, candidates), due, expiry, stalled runs and messages (12); the
    # records of no merchant: their rule, the holds on subjects, one EXISTS per step of the
    # engine's plan while none has work (7, one more per request table); the tombstones: the rules
    # and the due merchants (2): the same for 60 merchants as for 20, as for 100,000
    assert plan_queries(20) == plan_queries(40) <= 22


def test_a_transient_error_before_the_first_batch_releases_the_claim_for_the_retry(shop, monkeypatch):
    from django.db import OperationalError

    schedule = churn(shop, 31)
    real_plan = Erasure.plan
    monkeypatch.setattr(Erasure, "plan", lambda self: (_ for _ in ()).throw(OperationalError("server closed")))
    with pytest.raises(OperationalError):
        services.merchant_purge(schedule_id=schedule.pk)
    schedule.refresh_from_db()
    run = ErasureRun.objects.get(merchant_ref=shop.pk)
    assert schedule.state == PurgeSchedule.State.PURGING
    assert run.state == "running" and run.claimed_by == "" and run.lease_until <= timezone.now()
    monkeypatch.setattr(Erasure, "plan", real_plan)
    run = services.merchant_purge(schedule_id=schedule.pk)  # what the task's retry does
    assert run.state == ErasureRun.State.COMPLETED


# -- churn recorded outside the portal -------------------------------------------------------


def test_the_plan_notices_churn_set_in_junopos_and_still_warns_before_purging(db, django_capture_on_commit_callbacks):
    now = timezone.now()
    long_ago = build_shop(customers=1, sales=1)
    Merchant.objects.filter(pk=long_ago.pk).update(churned_at=now - timedelta(days=400))  # not through the portal
    active = build_shop(customers=1, sales=1)

    with django_capture_on_commit_callbacks(execute=True):
        plan = services.purge_plan(now=now)
    assert plan["detected_churn"] == 1 and plan["due"] == 0 and plan["warned"] == 1
    schedule = PurgeSchedule.objects.get(merchant=long_ago)
    assert schedule.churned_at == now - timedelta(days=400)
    assert ChurnEvent.objects.get(merchant=long_ago).source == "detected"
    assert [m.to for m in mail.outbox] == [[long_ago.owner_email]]
    assert not PurgeSchedule.objects.filter(merchant=active).exists()
    # nothing new the next day
    with django_capture_on_commit_callbacks(execute=True):
        assert services.purge_plan(now=now + timedelta(days=1))["detected_churn"] == 0


def test_the_plan_notices_a_reactivation_set_in_junopos(shop):
    schedule = churn(shop, 20)
    Merchant.objects.filter(pk=shop.pk).update(churned_at=None)
    plan = services.purge_plan()
    assert plan["detected_reactivation"] == 1
    schedule.refresh_from_db()
    assert schedule.state == PurgeSchedule.State.CANCELLED
    assert ChurnEvent.objects.filter(merchant=shop, kind="reactivated", source="detected").exists()


def test_a_purge_stopped_because_junopos_cleared_the_churn_is_cancelled(shop):
    schedule = churn(shop, 31)
    Merchant.objects.filter(pk=shop.pk).update(churned_at=None)
    PurgeSchedule.objects.filter(pk=schedule.pk).update(state="purging")
    run = services.merchant_purge(schedule_id=schedule.pk)
    assert run.state == ErasureRun.State.STOPPED and "aktif kembali" in run.stop_reason
    schedule.refresh_from_db()
    assert schedule.state == PurgeSchedule.State.CANCELLED


def test_erasing_the_owner_of_a_live_merchant_is_refused(db):
    shop = MerchantFactory(owner_email="pemilik@warung.id")
    LoyaltyCustomer.objects.create(merchant=MerchantFactory(), name="Pemilik", email="PEMILIK@warung.id", loyalty_card_number="X1")
    with pytest.raises(RetentionError, match="pemilik merchant aktif"):
        services.subject_erase(email="pemilik@warung.id")
    assert Merchant.objects.get(pk=shop.pk).owner_email == "pemilik@warung.id"
    assert LoyaltyCustomer.objects.filter(name="Pemilik").exists()
    # once the shop has churned, the owner's erasure goes through
    Merchant.objects.filter(pk=shop.pk).update(churned_at=timezone.now())
    run = services.subject_erase(email="pemilik@warung.id")
    assert run.state == ErasureRun.State.COMPLETED
    assert not LoyaltyCustomer.objects.filter(name="Pemilik").exists()


# -- warnings before every purge, however late the churn is reported ----------------------------


class MailServerDown(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.mark.parametrize("path", ["command", "admin", "detected"])
def test_a_churn_reported_60_days_late_is_not_purged_before_both_warnings_and_their_days(
    path, officer, django_capture_on_commit_callbacks
):
    shop = build_shop(customers=1, sales=2)
    # The plan's clock starts 15 days ago, so that the purge it finally queues is due in real time too.
    now = timezone.now() - timedelta(days=15)
    late = now - timedelta(days=60)
    if path == "detected":
        Merchant.objects.filter(pk=shop.pk).update(churned_at=late)
    else:
        services.merchant_churn(merchant_id=shop.pk, churned_at=late, source=path, actor=officer if path == "admin" else None)

    def plan(at):
        with django_capture_on_commit_callbacks(execute=True):
            return services.purge_plan(now=at)

    first = plan(now)
    assert first["due"] == 0 and first["warned"] == 1  # the 14-day warning, not a purge
    schedule = PurgeSchedule.objects.get(merchant=shop)
    fourteen = PurgeWarning.objects.get(schedule=schedule, days=14)
    assert fourteen.message.state == "sent"
    OutboundMessage.objects.filter(pk=fourteen.message_id).update(sent_at=now)  # delivered at the plan's clock

    early = plan(now + timedelta(days=10, hours=23))
    assert (early["due"], early["warned"]) == (0, 0)
    assert plan(now + timedelta(days=11, hours=1))["warned"] == 1  # 3 days before the purge as it stands
    three = PurgeWarning.objects.get(schedule=schedule, days=3)
    OutboundMessage.objects.filter(pk=three.message_id).update(sent_at=now + timedelta(days=11, hours=1))

    # 14 days after the first warning is not enough: the 3-day warning's 3 days run from its sending
    assert not schedules_due(now=now + timedelta(days=14, minutes=1)).exists()
    assert plan(now + timedelta(days=14, minutes=30))["due"] == 0
    assert LoyaltyCustomer.objects.filter(merchant=shop).exists()
    assert plan(now + timedelta(days=14, hours=2))["due"] == 1
    assert PurgeSchedule.objects.get(pk=schedule.pk).state == "purged"
    assert [m.to for m in mail.outbox] == [[shop.owner_email], [shop.owner_email]]


def test_a_mail_server_down_never_stops_the_plan_and_a_warning_counts_only_once_sent(
    settings, django_capture_on_commit_callbacks
):
    from messaging.services import message_send

    due_shop = build_shop(customers=1, sales=1)
    churn(due_shop, 40)  # warned long ago: due now
    late = build_shop(customers=1, sales=1)
    services.merchant_churn(merchant_id=late.pk, churned_at=timezone.now() - timedelta(days=20))

    settings.EMAIL_BACKEND = f"{__name__}.MailServerDown"
    with django_capture_on_commit_callbacks(execute=True):
        plan = services.purge_plan()
    assert plan["due"] == 1 and plan["warned"] == 1
    assert PurgeSchedule.objects.get(merchant=due_shop).state == "purged"  # the plan went on
    warning = PurgeWarning.objects.get(schedule__merchant=late)
    message = warning.message
    # not sent: queued again for the task's retry (with back-off), the error kept
    assert message.state == "queued" and message.attempts == 1 and "Connection unexpectedly closed" in message.last_error
    assert mail.outbox == []
    # while it waits, the warning does not count and no second warning is given
    with django_capture_on_commit_callbacks(execute=True):
        assert services.purge_plan()["warned"] == 0
    assert not PurgeSchedule.objects.filter(
        selectors.warned_q(now=timezone.now() + timedelta(days=60), rules=selectors.churn_rules()), merchant=late
    ).exists()

    # every retry fails: the eighth attempt gives up, and the next plan gives the warning again
    for attempt in range(2, 8):
        with pytest.raises(DeliveryError):
            message_send(message_id=message.pk)
    assert message_send(message_id=message.pk).state == "failed"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        assert services.purge_plan()["warned"] == 1
    given = PurgeWarning.objects.filter(schedule__merchant=late).order_by("pk")
    assert [(w.days, w.message.state, w.message.attempts) for w in given] == [(14, "failed", 8), (14, "sent", 1)]
    assert [m.to for m in mail.outbox] == [[late.owner_email]]
    assert PurgeSchedule.objects.filter(
        selectors.warned_q(now=timezone.now() + timedelta(days=15), rules=[RetentionRule.objects.get(key="merchant-churn")]),
        merchant=late,
    ).exists() is False  # the 3-day warning is still to come


def test_a_message_is_sent_once_even_when_its_task_runs_twice(db):
    from messaging.services import message_queue, message_send

    message = message_queue(kind="test", to_email="Siti@Contoh.co.id", subject="Halo", body="isi")
    assert message_send(message_id=message.pk).state == "sent"  # on_commit never ran in this test
    assert message_send(message_id=message.pk) is None
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["Siti@Contoh.co.id"]


# -- run records: one life, true totals ---------------------------------------------------------


def test_a_failed_expiry_is_marked_failed_and_the_next_plan_does_not_start_another(shop, monkeypatch):
    schedule = churn(shop, 31)
    services.merchant_purge(schedule_id=schedule.pk)
    outlet = Outlet.objects.get(merchant=shop)
    old = SaleFactory(merchant=shop, outlet=outlet, sold_at=datetime(2014, 5, 1, tzinfo=JAKARTA))
    PaymentFactory(sale=old)
    now = datetime(2026, 11, 25, 10, tzinfo=JAKARTA)
    real = Erasure._delete

    def broken(*args, **kwargs):
        raise ValueError("disk penuh")

    monkeypatch.setattr(Erasure, "_delete", staticmethod(broken))
    with pytest.raises(ValueError):
        services.retention_expire(merchant_id=shop.pk, now=now)
    failed = ErasureRun.objects.get(kind=ErasureRun.Kind.RETENTION_EXPIRY)
    assert failed.state == ErasureRun.State.FAILED and "disk penuh" in failed.error and failed.claimed_by == ""
    monkeypatch.setattr(Erasure, "_delete", staticmethod(real))
    assert not selectors.runs_stalled(now=now + timedelta(days=1)).exists()
    runs = services.retention_expire(merchant_id=shop.pk, now=now)
    assert [r.state for r in runs] == ["completed"]
    assert ErasureRun.objects.filter(kind=ErasureRun.Kind.RETENTION_EXPIRY).count() == 2
    assert not Sale.objects.filter(pk=old.pk).exists()


def test_a_stalled_expiry_is_resumed_in_the_same_record_not_beside_it(shop):
    schedule = churn(shop, 31)
    services.merchant_purge(schedule_id=schedule.pk)
    outlet = Outlet.objects.get(merchant=shop)
    SaleFactory(merchant=shop, outlet=outlet, sold_at=datetime(2014, 5, 1, tzinfo=JAKARTA))
    rule = RetentionRule.objects.get(key="tax-records")
    dead = ErasureRun.objects.create(
        kind="retention_expiry", merchant=shop, merchant_ref=shop.pk, rule=rule, state="running", attempts=1,
        claimed_by="dead", lease_until=timezone.now() - timedelta(minutes=1),
    )
    [run] = services.retention_expire(merchant_id=shop.pk)
    assert run.pk == dead.pk and run.state == "completed" and run.attempts == 2


def test_subject_runs_report_true_totals(siti):
    run = services.subject_erase(phone="081234567890", email="siti.rahayu@gmail.com")
    assert run.state == "completed"
    assert run.rows_total == run.rows_done == sum(sum(a.values()) for a in run.counts.values()) > 0
    assert run.progress_percent == 100 and run.attempts == 1 and run.claimed_by == ""
    dry = services.subject_erase(phone="081234567890", dry_run=True)
    assert dry.rows_total == 0 and dry.state == "completed"


def test_a_subject_erasure_whose_process_died_is_failed_by_the_sweep_with_what_to_do(db):
    run = ErasureRun.objects.create(
        kind="subject_erasure", state="running", attempts=1, claimed_by="gone", subject_hashes={"email": "h$x"},
        lease_until=timezone.now() - timedelta(minutes=1),
    )
    assert services.work_resume_stalled()["runs"] == 0
    run.refresh_from_db()
    assert run.state == "failed" and "jalankan penghapusan subjek lagi" in run.error and run.claimed_by == ""


# -- found in review: each a way the plan or a run could stop for good ---------------------------


def test_an_owner_address_erased_or_invalid_never_stops_the_plan(db, django_capture_on_commit_callbacks):
    erased = build_shop(customers=1, sales=1)
    invalid = build_shop(customers=1, sales=1)
    due = build_shop(customers=1, sales=1)
    Merchant.objects.filter(pk=erased.pk).update(owner_email="h$" + "a" * 62)  # the owner's own erasure
    Merchant.objects.filter(pk=invalid.pk).update(owner_email="siti rahayu@gmail")  # as JUNOPOS wrote it
    for shop in (erased, invalid):
        services.merchant_churn(merchant_id=shop.pk, churned_at=timezone.now() - timedelta(days=20))
    churn(due, 40)
    with django_capture_on_commit_callbacks(execute=True):
        plan = services.purge_plan()
    assert plan["warned"] == 2 and plan["due"] == 1
    assert PurgeSchedule.objects.get(merchant=due).state == "purged"
    # recorded without a message: nobody to reach, counted from now, shown to officers
    assert list(PurgeWarning.objects.filter(schedule__merchant__in=[erased, invalid]).values_list("message", flat=True)) == [None, None]


def test_an_address_refused_for_good_counts_as_given_and_the_merchant_is_purged_after_the_notice(
    db, settings, django_capture_on_commit_callbacks
):
    shop = build_shop(customers=1, sales=1)
    services.merchant_churn(merchant_id=shop.pk, churned_at=timezone.now() - timedelta(days=20))
    settings.EMAIL_BACKEND = f"{__name__}.AddressRefused"
    with django_capture_on_commit_callbacks(execute=True):
        assert services.purge_plan()["warned"] == 1
        assert services.purge_plan()["warned"] == 0  # not a new warning every day
    warning = PurgeWarning.objects.get(schedule__merchant=shop)
    assert warning.message.state == "refused" and "550" in warning.message.last_error
    schedule = PurgeSchedule.objects.get(merchant=shop)
    later = timezone.now() + timedelta(days=11, hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.purge_warnings_send(now=later) == 1  # the 3-day one, refused too
    assert selectors.purge_timeline(
        PurgeSchedule.objects.prefetch_related("warnings__message").get(pk=schedule.pk), now=later
    ).not_before is not None


class AddressRefused(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({m.to[0]: (550, b"no such user") for m in messages})


def test_a_churn_set_again_in_junopos_after_a_reactivation_is_noticed(shop):
    churn(shop, 5, warned=False)
    services.merchant_reactivate(merchant_id=shop.pk)
    Merchant.objects.filter(pk=shop.pk).update(churned_at=timezone.now() - timedelta(days=2))  # behind our back
    assert services.purge_plan()["detected_churn"] == 1
    assert PurgeSchedule.objects.get(merchant=shop).state == "scheduled"


def test_a_run_whose_merchant_came_back_while_it_waited_is_stopped_not_left_running(shop):
    schedule = churn(shop, 31)
    run = services.merchant_purge(schedule_id=schedule.pk, batch_size=1, time_budget=0)  # released
    assert run.state == "running"
    services.merchant_reactivate(merchant_id=shop.pk)
    assert services.merchant_purge(schedule_id=schedule.pk) is None  # what the sweep's task does
    run.refresh_from_db()
    assert run.state == "stopped" and "aktif kembali" in run.stop_reason and run.claimed_by == ""
    assert not selectors.runs_stalled(now=timezone.now() + timedelta(hours=1)).exists()


def test_a_retry_queued_while_the_broker_was_down_is_picked_up_by_the_sweep(shop, officer):
    schedule = churn(shop, 31)
    PurgeSchedule.objects.filter(pk=schedule.pk).update(state="failed")
    failed = ErasureRun.objects.create(kind="merchant_purge", merchant=shop, merchant_ref=shop.pk, state="failed")
    retry = services.purge_retry(run_id=failed.pk, actor=officer)  # its task never reached the broker
    assert list(selectors.runs_stalled(now=timezone.now())) == []
    assert list(selectors.runs_stalled(now=timezone.now() + timedelta(minutes=3))) == [retry]


def test_a_sender_slower_than_its_lease_never_overwrites_a_later_outcome(db, monkeypatch):
    from messaging import services as messaging

    message = OutboundMessage.objects.create(kind="test", to_email="a@contoh.co.id", subject="a")

    def slow_send(self, m):
        # meanwhile the lease ran out and another sender sent it
        OutboundMessage.objects.filter(pk=m.pk).update(state="sent", attempts=2, sent_at=timezone.now())
        raise DeliveryError("timeout")

    monkeypatch.setattr(type(messaging.CHANNELS["email"]), "send", slow_send)
    with pytest.raises(DeliveryError):
        messaging.message_send(message_id=message.pk)
    message.refresh_from_db()
    assert message.state == "sent" and message.sent_at is not None


def test_a_first_attempt_counts_its_total_only_if_it_runs_long_and_every_total_ends_exact(shop, monkeypatch):
    from retention.services import runs

    schedule = churn(shop, 31)
    planned = Erasure(Scope.merchant(shop.pk)).count()
    totals = []
    monkeypatch.setattr(runs, "ESTIMATE_AFTER_SECONDS", 0.0)  # this purge "runs long"
    run = services.merchant_purge(
        schedule_id=schedule.pk, batch_size=1,
        on_progress=lambda rows: totals.append(ErasureRun.objects.get(merchant_ref=shop.pk).rows_total),
    )
    assert set(totals) == {sum(sum(a.values()) for a in planned.values())}  # known from the first batch on
    assert run.rows_total == run.rows_done == totals[0]

    other = build_shop(customers=1, sales=1)
    monkeypatch.setattr(runs, "ESTIMATE_AFTER_SECONDS", 3600.0)  # a quick one never counts
    quick = services.merchant_purge(schedule_id=churn(other, 31).pk)
    assert quick.state == "completed" and quick.rows_total == quick.rows_done > 0 and quick.progress_percent == 100
