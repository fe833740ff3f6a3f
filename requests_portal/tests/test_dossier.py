"""The regulator's view (`manage.py dossier`): a live subject, the same subject erased, a purged
merchant, on PostgreSQL."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consent.services import disclosure_record, subject_ref
from consent.tests.factories import RecipientFactory, record
from merchants.models import Merchant
from merchants.tests.factories import LoyaltyCustomerFactory, MerchantFactory, SaleFactory
from requests_portal import services
from requests_portal.dossier import DossierError, merchant_dossier, subject_dossier
from requests_portal.models import RequestEvent
from retention import services as retention
from retention.models import ErasureRun
from retention.pseudonyms import pseudonym
from retention.tests.conftest import build_shop, warned_schedule

from .conftest import submit, verify

pytestmark = pytest.mark.django_db

EMAIL, PHONE = "dewi.lestari@contoh.co.id", "0813-7777-8888"
PHONE_E164 = "+6281377778888"


@pytest.fixture(autouse=True)
def _phone_messages_in_tmp(settings, tmp_path):
    settings.PHONE_OUTBOX_DIR = tmp_path / "sms"


@pytest.fixture
def dewi(db):
    """A loyalty customer with a purchase, a verified deletion request, consent events and a disclosure."""
    shop = MerchantFactory()
    customer = LoyaltyCustomerFactory(merchant=shop, name="Dewi Lestari", email=EMAIL, phone=PHONE)
    SaleFactory(merchant=shop, customer=customer, receipt_email=EMAIL)
    request = verify(submit(right="deletion", requester_name="Dewi Lestari", email=EMAIL, phone=PHONE))
    record(email=EMAIL, phone=PHONE, merchant=shop, purpose="marketing", action="given")
    record(email=EMAIL, merchant=shop, purpose="marketing", action="withdrawn")
    partner = RecipientFactory(purposes=["marketing"], country="SG")
    disclosure_record(
        recipient=partner, purpose="marketing", categories=["contact"],
        subject=subject_ref(email=EMAIL, phone=PHONE, merchant_id=shop.pk),
    )
    return {"shop": shop, "request": request, "partner": partner}


def run_command(*args) -> str:
    out = StringIO()
    call_command("dossier", *args, stdout=out)
    return out.getvalue()


def test_a_live_subject(dewi):
    dossier = subject_dossier(email=EMAIL.upper(), phone=PHONE)

    held = {t.label: t.count for t in dossier.holdings.tables}
    assert held["merchants.LoyaltyCustomer"] == 1 and held["merchants.Sale"] == 1
    assert held["requests_portal.DataSubjectRequest"] == 1
    assert held["consent.ConsentEvent"] == 2 and held["consent.Disclosure"] == 1
    assert dossier.holdings.by_category["contact"] >= 4
    assert dossier.held_under_keyed_hash.total == 0

    [request] = dossier.requests
    assert request.reference == dewi["request"].reference and request.right == "deletion"
    assert request.state == "verified" and request.matched_by == "identifier"
    assert [e.seq for e in request.events] == list(range(1, dewi["request"].event_count + 1))
    assert request.events[0].verb == "submitted" and request.events[0].actor == "requester"
    assert request.events[-1].to_state == "verified"
    assert request.chain_intact and request.chain_problem == ""

    assert [(c.purpose, c.action, c.under_keyed_hash) for c in dossier.consent] == [
        ("marketing", "given", False), ("marketing", "withdrawn", False),
    ]
    assert all(c.policy_version for c in dossier.consent)
    [disclosure] = dossier.disclosures
    assert (disclosure.recipient, disclosure.country, disclosure.categories) == (dewi["partner"].name, "SG", ["contact"])
    assert disclosure.outcome in ("allowed", "refused") and disclosure.erasure_notified is None
    assert dossier.runs == []

    text = run_command("--email", EMAIL)
    assert "DOSIR SUBJEK DATA" in text and dewi["request"].reference in text and "WIB" in text
    assert "Rantai audit: utuh" in text


def test_the_same_subject_after_her_erasure(dewi):
    run = retention.subject_erase(email=EMAIL, phone=PHONE)
    assert run.state == ErasureRun.State.COMPLETED

    dossier = subject_dossier(email=EMAIL, phone=PHONE)
    assert dossier.holdings.total == 0 and dossier.holdings.tables == []
    kept = {t.label: t.count for t in dossier.held_under_keyed_hash.tables}
    assert kept["requests_portal.DataSubjectRequest"] == 1
    assert kept["consent.ConsentEvent"] == 2 and kept["consent.Disclosure"] == 1

    [request] = dossier.requests
    assert request.reference == dewi["request"].reference and request.matched_by == "keyed_hash"
    assert request.chain_intact, request.chain_problem  # the chain survives the erasure of her notes
    assert len(request.events) == dewi["request"].event_count

    [erasure] = dossier.runs
    assert erasure.id == run.pk and erasure.kind == "subject_erasure" and erasure.state == "completed"
    assert erasure.finished_at is not None
    assert erasure.counts["merchants_loyaltycustomer"] == {"deleted": 1}
    kept_under = {k.table: k.rule for k in erasure.kept}
    assert kept_under["merchants_sale"] == "tax-records"
    assert kept_under["requests_portal_datasubjectrequest"] == "request-records"
    assert kept_under["consent_consentevent"] == "consent-proof"

    assert [(c.action, c.under_keyed_hash) for c in dossier.consent] == [("given", True), ("withdrawn", True)]
    [disclosure] = dossier.disclosures
    assert disclosure.recipient == dewi["partner"].name

    # Found by the phone alone too, however it is written.
    by_phone = subject_dossier(phone="+62 813 7777 8888")
    assert [r.reference for r in by_phone.requests] == [dewi["request"].reference]
    assert [r.id for r in by_phone.runs] == [run.pk]

    # The JSON parses, and names neither her e-mail nor her phone in any spelling.
    text = run_command("--email", EMAIL, "--phone", PHONE, "--format", "json")
    data = json.loads(text)
    assert data["kind"] == "subject" and data["holdings"]["total"] == 0 and data["chains_intact"] is True
    assert data["subject_hashes"] == {"email": pseudonym(EMAIL, kind="email"), "phone": pseudonym(PHONE, kind="phone")}
    assert data["runs"][0]["finished_at"].endswith("+07:00")
    assert data["requests"][0]["events"][0]["at"].endswith("+07:00")
    assert data["disclosures"][0]["erasure_notified"] is None
    for value in (EMAIL, "dewi.lestari", PHONE, PHONE_E164, "81377778888", "Dewi Lestari"):
        assert value.lower() not in text.lower()
    assert EMAIL not in run_command("--email", EMAIL)


def test_a_purged_merchant_answers_when_and_under_which_rule(db):
    shop = build_shop()
    tax_number, owner_email = shop.tax_number, shop.owner_email
    owner_request = verify(submit(right="access", requester_name=shop.owner_name, email=owner_email,
                                  subject_role="owner", merchant_id=shop.pk))
    before = merchant_dossier(tax_number=tax_number)
    assert before.merchant.merchant_id == shop.pk and not before.merchant.tombstone
    assert {t.label for t in before.holdings.tables} >= {"merchants.Merchant", "merchants.Sale", "merchants.LoyaltyCustomer"}

    schedule = warned_schedule(shop)
    purge = retention.merchant_purge(schedule_id=schedule.pk)
    assert purge.state == ErasureRun.State.COMPLETED
    assert Merchant.objects.get(pk=shop.pk).tax_number == pseudonym(tax_number, kind="text")

    for dossier in (merchant_dossier(merchant_id=shop.pk), merchant_dossier(tax_number=tax_number)):
        status = dossier.merchant
        assert status.merchant_id == shop.pk and status.exists and status.tombstone
        assert status.schedule_state == "purged" and status.purged_at is not None and status.rule == "merchant-churn"
        [run] = [r for r in dossier.runs if r.kind == "merchant_purge"]
        assert run.id == purge.pk and run.state == "completed" and run.finished_at is not None
        assert run.rule == "merchant-churn"
        kept = {k.table: k.rule for k in run.kept}
        assert kept["merchants_merchant"] == "merchant-tombstone" and kept["merchants_sale"] == "tax-records"
        held = {t.label: t.count for t in dossier.holdings.tables}
        assert "merchants.LoyaltyCustomer" not in held and held["merchants.Sale"] == 4  # kept, anonymised
        assert [r.reference for r in dossier.requests] == [owner_request.reference]
        assert all(r.chain_intact for r in dossier.requests)
        assert {(t.purpose, t.action) for t in dossier.consent_totals} == {("marketing", "given"), ("research", "restricted")}
        assert [t.count for t in dossier.disclosure_totals] == [1]

    text = run_command("--tax-number", tax_number)
    assert f"DOSIR MERCHANT {shop.pk}" in text and "merchant-churn" in text and "tax-records" in text
    assert tax_number not in text and owner_email not in text
    data = json.loads(run_command("--merchant", str(shop.pk), "--format", "json"))
    assert data["merchant"]["purged_at"].endswith("+07:00") and data["merchant"]["rule"] == "merchant-churn"
    assert tax_number not in json.dumps(data) and owner_email not in json.dumps(data)


def test_a_merchant_that_no_longer_exists_at_all_is_still_answered_from_its_runs(db):
    shop = build_shop()
    run = ErasureRun.objects.create(
        kind=ErasureRun.Kind.MERCHANT_PURGE, merchant_ref=987_654, state=ErasureRun.State.COMPLETED,
        subject_hashes={"tax_number": pseudonym("09.999.999.9-999.000", kind="text")},
        counts={"merchants_sale": {"anonymised": 3}},
    )
    dossier = merchant_dossier(tax_number="09.999.999.9-999.000")
    assert dossier.merchant.merchant_id == 987_654 and not dossier.merchant.exists
    assert [r.id for r in dossier.runs] == [run.pk] and dossier.runs[0].kept[0].rule == "tax-records"
    assert merchant_dossier(merchant_id=shop.pk).merchant.exists


@pytest.mark.parametrize("args", [
    (), ("--format", "json"), ("--email", "x@y.id", "--merchant", "3"), ("--merchant", "3", "--tax-number", "1"),
    ("--email", "bukan-email"), ("--tax-number", "00.000.000.0-000.000"),
])
def test_bad_arguments_exit_2_with_a_message(db, args):
    with pytest.raises(CommandError) as caught:
        run_command(*args)
    assert caught.value.returncode == 2 and str(caught.value)


def test_errors_of_the_selectors(db):
    with pytest.raises(DossierError):
        subject_dossier(email="", phone="abc")
    MerchantFactory.create_batch(2, tax_number="01.111.111.1-111.000")
    with pytest.raises(DossierError, match="beberapa merchant"):
        merchant_dossier(tax_number="01.111.111.1-111.000")


def test_a_tampered_chain_is_named(dewi):
    RequestEvent.objects.filter(request=dewi["request"], seq=1).update(verb="edited")
    [request] = subject_dossier(email=EMAIL).requests
    assert not request.chain_intact and "#1" in request.chain_problem
    assert "RUSAK" in run_command("--email", EMAIL)


def _queries(**identifiers) -> int:
    with CaptureQueriesContext(connection) as captured:
        subject_dossier(**identifiers)
    return len(captured.captured_queries)


def test_queries_do_not_grow_with_requests_events_or_consent(dewi):
    # Bounded by the data map (one count per declared table) plus one query per section.
    one = _queries(email=EMAIL, phone=PHONE)
    for _ in range(3):
        request = verify(submit(right="access", requester_name="Dewi Lestari", email=EMAIL, phone=PHONE))
        services.request_withdraw(request_id=request.pk)
        record(email=EMAIL, merchant=dewi["shop"], purpose="marketing", action="given")
    assert len(subject_dossier(email=EMAIL).requests) == 4
    assert _queries(email=EMAIL, phone=PHONE) == one
    retention.subject_erase(email=EMAIL, phone=PHONE)
    erased = _queries(email=EMAIL, phone=PHONE)
    assert erased <= one + 1  # the rules of her runs
    with CaptureQueriesContext(connection) as captured:
        merchant_dossier(merchant_id=dewi["shop"].pk)
    assert len(captured.captured_queries) <= one
