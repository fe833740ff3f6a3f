"""The merchant-tombstone rule executed: the last of a purged merchant goes when its period ends."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.utils import timezone

from merchants.models import Merchant, Outlet, Sale
from merchants.tests.factories import (
    LoyaltyCustomerFactory, MerchantFactory, OutletFactory, PaymentFactory, SaleFactory, SaleLineFactory,
    StaffUserFactory,
)
from messaging.models import OutboundMessage
from requests_portal.dossier import merchant_dossier
from retention import services
from retention.models import ChurnEvent, ErasureRun, LegalHold, PurgeSchedule, PurgeWarning, RetentionRule
from retention.registry import datamap
from retention.services.tombstone import TOMBSTONE_TASK

from .conftest import build_shop, member_of, merchant_checksum, warned_schedule

JAKARTA = ZoneInfo("Asia/Jakarta")
NOW = datetime(2036, 3, 10, 10, tzinfo=JAKARTA)


@pytest.fixture
def officer(db):
    return member_of("Data protection officer", "petugas")


@pytest.fixture
def plain(db):
    """A shop with staff, customers, sales and a message, and no consent recorded at its tills."""
    shop = MerchantFactory()
    outlet = OutletFactory(merchant=shop)
    outlet.name = outlet.name + " (pindah)"
    outlet.save()  # a history copy of the outlet
    cashier = StaffUserFactory(merchant=shop, outlet=outlet)
    buyer = LoyaltyCustomerFactory(merchant=shop)
    for i in range(3):
        sale = SaleFactory(merchant=shop, outlet=outlet, cashier=cashier, customer=buyer, receipt_email=f"s{i}@contoh.id")
        SaleLineFactory.create_batch(2, sale=sale)
        PaymentFactory(sale=sale)
    OutboundMessage.objects.create(
        kind="notice", to_email=shop.owner_email or "pemilik@contoh.co.id", merchant=shop,
        subject=f"Data {shop.business_name}", body="Yth.", state="sent", sent_at=shop.subscription_started_at,
    )
    return shop


def purged(shop, *, days_ago: float, sold_in: int = 2024):
    """A merchant purged `days_ago` days before NOW, its tax records dated in `sold_in`."""
    tax_number = shop.tax_number
    schedule = warned_schedule(shop)
    run = services.merchant_purge(schedule_id=schedule.pk)
    assert run.state == "completed"
    at = NOW - timedelta(days=days_ago)
    PurgeSchedule.objects.filter(pk=schedule.pk).update(purged_at=at)
    ErasureRun.objects.filter(pk=run.pk).update(finished_at=at)
    Sale.objects.filter(merchant=shop).update(sold_at=datetime(sold_in, 6, 1, tzinfo=JAKARTA))
    return tax_number


def tax_expired(shop):
    """The tax records' own expiry, as the plan runs it on its day."""
    return services.retention_expire(merchant_id=shop.pk, now=NOW)


def period_days():
    return RetentionRule.objects.get(key="merchant-tombstone").period_delta.days


def rows_pointing_at(merchant_id):
    """An auditor's read: every row of every table that points at the merchant, and every
    history copy of a table the rule deletes that still names it."""
    found = {}
    for model in apps.get_models(include_auto_created=True):
        for f in model._meta.concrete_fields:
            if f.many_to_one and f.related_model is Merchant:
                n = model._default_manager.filter(**{f.attname: merchant_id}).count()
                if n:
                    found[f"{model._meta.db_table}.{f.name}"] = n
    n = Merchant.objects.filter(pk=merchant_id).count()
    if n:
        found["merchants_merchant"] = n
    return found


@pytest.mark.parametrize("offset, goes", [(-1, False), (0, False), (1, True)])
def test_the_tombstone_goes_the_day_after_its_period_counted_from_the_purge(plain, offset, goes):
    shop = plain
    purged(shop, days_ago=period_days() + offset, sold_in=2015)
    tax_expired(shop)
    assert not Sale.objects.filter(merchant=shop).exists()
    due = list(services.tombstones_due(now=NOW).values_list("merchant_id", flat=True))
    assert due == ([shop.pk] if goes else [])
    run = services.tombstone_expire(merchant_id=shop.pk, now=NOW)
    assert Merchant.objects.filter(pk=shop.pk).exists() is not goes
    assert (run is not None and run.state == "completed") is goes


def test_the_tombstone_waits_for_the_tax_records_and_the_dry_run_says_until_when(plain):
    shop = plain
    purged(shop, days_ago=period_days() + 30, sold_in=2026)  # kept to the end of 2036
    assert tax_expired(shop) == []
    assert not services.tombstones_due(now=NOW).exists()
    assert services.tombstone_expire(merchant_id=shop.pk, now=NOW) is None
    dry = services.tombstone_expire_dry_run(merchant_id=shop.pk, now=NOW)
    assert dry.dry_run and "2037-01-01" in dry.stop_reason and "merchants_sale" in dry.stop_reason
    assert Merchant.objects.filter(pk=shop.pk).exists() and Outlet.objects.filter(merchant=shop).exists()


def test_a_held_merchant_is_skipped_and_the_run_says_why_once(plain, officer):
    shop = plain
    purged(shop, days_ago=period_days() + 30, sold_in=2015)
    tax_expired(shop)
    hold = services.hold_place(actor=officer, reason="law_enforcement", detail="Surat Polda 12/2036", merchant_id=shop.pk)
    first = services.tombstone_expire(merchant_id=shop.pk, now=NOW)
    again = services.tombstone_expire(merchant_id=shop.pk, now=NOW)
    assert first.state == "stopped" and f"#{hold.pk}" in first.stop_reason and again.pk == first.pk
    assert Merchant.objects.filter(pk=shop.pk).exists() and PurgeSchedule.objects.filter(merchant=shop).exists()
    services.hold_lift(hold_id=hold.pk, actor=officer, reason="Perkara selesai")
    run = services.tombstone_expire(merchant_id=shop.pk, now=NOW)
    assert run.state == "completed" and not Merchant.objects.filter(pk=shop.pk).exists()
    assert not LegalHold.objects.filter(pk=hold.pk).exists()  # an ended hold goes with what it held


def test_the_last_of_the_merchant_goes_and_only_the_proof_is_left(plain, bystander, django_capture_on_commit_callbacks):
    shop = plain
    untouched = merchant_checksum(bystander.pk)
    tax_number = purged(shop, days_ago=period_days() + 30, sold_in=2015)
    [tax_run] = tax_expired(shop)
    tombstone = Merchant.objects.get(pk=shop.pk)
    hashes = {tombstone.business_name, tombstone.tax_number}
    assert PurgeWarning.objects.filter(schedule__merchant=shop).count() == 2
    assert OutboundMessage.objects.filter(merchant=shop).count() == 3  # two warnings and a notice
    dry = services.tombstone_expire_dry_run(merchant_id=shop.pk, now=NOW)
    assert dry.stop_reason == ""

    with django_capture_on_commit_callbacks(execute=False) as queued:
        plan = services.purge_plan(now=NOW)
    assert plan["tombstones"] == 1 and len(queued) == 1  # one task, for this merchant (run below at NOW)
    services.tombstone_expire(merchant_id=shop.pk, now=NOW)
    run = ErasureRun.objects.get(rule__key="merchant-tombstone", dry_run=False)
    assert run.state == "completed" and run.counts == dry.counts
    assert run.counts["merchants_merchant"] == {"deleted": 1}
    assert run.counts["merchants_outlet"]["deleted"] == 1
    assert run.counts["messaging_outboundmessage"]["deleted"] == 3
    assert run.counts["retention_purgewarning"] == {"deleted": 2}
    assert run.counts["retention_purgeschedule"] == {"deleted": 1}
    assert run.counts["retention_erasurerun"]["deleted"] == 1  # the purge's own record: its ten years ended too
    assert (NOW - timedelta(days=period_days() + 30)).strftime("%Y-%m-%d") in run.stop_reason  # the purge's date

    # An auditor's read of every table: nothing points at the merchant any more.
    assert rows_pointing_at(shop.pk) == {}
    for entry in datamap:
        history = entry.history_model
        if history is not None and entry.merchant and entry.label in ("merchants.Merchant", "merchants.Outlet"):
            assert not history._default_manager.filter(**{entry.merchant: shop.pk}).exists()
    assert not ChurnEvent.objects.filter(merchant_id=shop.pk).exists()
    # What is left is the proof: this run and the tax expiry's (within its own ten years), by
    # merchant_ref and keyed hashes, counts only.
    left = ErasureRun.objects.filter(merchant_ref=shop.pk, dry_run=False)
    assert set(left.values_list("pk", flat=True)) == {run.pk, tax_run.pk}
    assert run.subject_hashes["tax_number"] in hashes
    # "was merchant X deleted, when, under which rule" is still answered, by id and by tax number
    dossier = merchant_dossier(tax_number=tax_number)
    assert dossier.merchant.merchant_id == shop.pk and not dossier.merchant.exists
    assert run.pk in {r.id for r in dossier.runs}
    assert merchant_checksum(bystander.pk) == untouched

    # A second run, and a second plan, do nothing.
    assert services.tombstone_expire(merchant_id=shop.pk, now=NOW) is None
    with django_capture_on_commit_callbacks(execute=False):
        assert services.purge_plan(now=NOW)["tombstones"] == 0
    assert ErasureRun.objects.filter(rule__key="merchant-tombstone", dry_run=False).count() == 1


def test_a_tombstone_run_in_small_batches_resumed_after_its_time_budget_ends_the_same(plain):
    shop = plain
    purged(shop, days_ago=period_days() + 30, sold_in=2015)
    tax_expired(shop)
    dry = services.tombstone_expire_dry_run(merchant_id=shop.pk, now=NOW)
    run = services.tombstone_expire(merchant_id=shop.pk, now=NOW, batch_size=1, time_budget=0)
    assert run.state == "running" and Merchant.objects.filter(pk=shop.pk).exists()
    stalled = services.work_resume_stalled(now=timezone.now() + timedelta(seconds=1))
    assert stalled["runs"] == 1
    while run.state == "running":
        run = services.tombstone_expire(merchant_id=shop.pk, now=NOW, batch_size=1, time_budget=0)
    assert run.state == "completed" and run.counts == dry.counts and rows_pointing_at(shop.pk) == {}


def test_a_merchant_whose_consent_ledger_names_it_loses_its_tombstone_and_the_proof_keeps_its_id(shop):
    """The ledger is proof for its own period: it names the merchant by an unenforced key, so the
    tombstone goes on its date and the ledger's rows (pseudonymised by the purge) stay, unchanged."""
    from consent.models import ConsentEvent, Disclosure

    purged(shop, days_ago=period_days() + 30, sold_in=2015)
    tax_expired(shop)
    events = list(ConsentEvent.objects.filter(merchant_id=shop.pk).order_by("pk").values())
    disclosures = list(Disclosure.objects.filter(merchant_id=shop.pk).order_by("pk").values())
    assert events and disclosures
    dry = services.tombstone_expire_dry_run(merchant_id=shop.pk, now=NOW)
    assert not dry.stop_reason
    run = services.tombstone_expire(merchant_id=shop.pk, now=NOW)
    assert run.state == "completed" and run.counts == dry.counts
    assert not Merchant.objects.filter(pk=shop.pk).exists()
    assert list(ConsentEvent.objects.filter(merchant_id=shop.pk).order_by("pk").values()) == events
    assert list(Disclosure.objects.filter(merchant_id=shop.pk).order_by("pk").values()) == disclosures