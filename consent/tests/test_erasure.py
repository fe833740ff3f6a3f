"""An auditor's test of consent under erasure: after a subject's erasure none of her identifiers is
left in any consent table, yet the ledger still proves her choices under the keyed hash."""

import pytest
from django.db import connection

from consent.models import ApiClient, ConsentEvent, ConsentState, Disclosure, IdempotencyKey
from consent.selectors import Reason, consent_check, purpose_get
from consent.services import consent_state_rebuild, disclosure_record, subject_ref
from retention.engine import Erasure, Scope
from retention.pseudonyms import pseudonym

from .factories import RecipientFactory, record

pytestmark = pytest.mark.django_db

EMAIL, PHONE = "Ayu.Lestari@Gmail.com", "0812-3456-7890"
FORMS_OF_HER = ["ayu.lestari@gmail.com", "+6281234567890", "081234567890", "6281234567890", "1234567890"]
TABLES = ["consent_consentevent", "consent_consentstate", "consent_disclosure", "consent_idempotencykey"]


def _dump(table):
    """Every column of every row, as text, the way an auditor reads a table."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t::text FROM {table} t")
        return [row[0].lower() for row in cursor.fetchall()]


def _found(forms, tables=TABLES):
    return [(table, form) for table in tables for row in _dump(table) for form in forms if form.lower() in row]


@pytest.fixture
def ayu(shop, other_shop):
    partner = RecipientFactory(purposes=["marketing"])
    for merchant in (shop, other_shop):
        record(email=EMAIL, phone=PHONE, merchant=merchant, purpose="marketing", action="given",
               ip_address="203.0.113.5", user_agent="JUNOPOS-App/3.1", reference="STRUK-1")
        disclosure_record(recipient=partner, purpose="marketing", categories=["contact"],
                          subject=subject_ref(email=EMAIL, phone=PHONE, merchant_id=merchant.pk))
    record(phone=PHONE, merchant=shop, purpose="research", action="withdrawn")
    record(email=EMAIL, purpose="marketing", action="withdrawn")  # to JUNOPOS itself
    client = ApiClient.objects.create(name="Kasir", token_hash="x" * 64)
    IdempotencyKey.objects.create(
        client=client, key="k1", endpoint="consent", request_hash="h", status_code=201,
        response={"email": "ayu.lestari@gmail.com"}, subject_email="ayu.lestari@gmail.com", subject_phone="+6281234567890",
    )
    return {"partner": partner}


@pytest.fixture
def budi(shop):
    record(email="budi@contoh.co.id", phone="081299990000", merchant=shop, purpose="marketing", action="given",
           ip_address="198.51.100.2")
    record(email="budi@contoh.co.id", merchant=shop, purpose="research", action="restricted")
    return "budi@contoh.co.id"


def _bystander_rows():
    return (
        list(ConsentEvent.objects.filter(email="budi@contoh.co.id").order_by("pk").values()),
        list(ConsentState.objects.filter(identifier__in=["budi@contoh.co.id", "+6281299990000"]).order_by("pk").values()),
    )


def test_a_subject_erasure_leaves_no_identifier_and_keeps_the_proof(ayu, budi, shop, other_shop):
    assert _found(FORMS_OF_HER[:2])  # she is there before
    events_before = list(ConsentEvent.objects.order_by("pk").values_list("pk", "action", "purpose_id", "occurred_at"))
    bystander = _bystander_rows()
    decisions_before = {
        m: consent_check(identifiers=["ayu.lestari@gmail.com"], merchant_id=m, purpose=purpose_get("marketing"))
        for m in (shop.pk, other_shop.pk, None)
    }

    planned = Erasure(Scope.subject(email=EMAIL, phone=PHONE)).count()
    result = Erasure(Scope.subject(email=EMAIL, phone=PHONE)).run()
    assert result.completed and result.counts == planned
    assert planned["consent_consentevent"] == {"anonymised": 4}
    assert planned["consent_consentstate"] == {"anonymised": 6}
    assert planned["consent_disclosure"] == {"anonymised": 2}
    assert planned["consent_idempotencykey"] == {"deleted": 1}

    assert _found(FORMS_OF_HER) == []
    assert "203.0.113.5" not in " ".join(_dump("consent_consentevent"))
    assert "junopos-app" not in " ".join(_dump("consent_consentevent"))

    # The ledger still proves what she chose, when, for whom: under the hash of her address.
    hashed = pseudonym(EMAIL, kind="email")
    hers = ConsentEvent.objects.filter(email=hashed).order_by("pk")
    assert hers.count() == 3  # the fourth event named her phone only
    assert list(ConsentEvent.objects.order_by("pk").values_list("pk", "action", "purpose_id", "occurred_at")) == events_before
    assert set(hers.values_list("reference", flat=True)) >= {"STRUK-1"}
    assert ConsentEvent.objects.filter(phone=pseudonym(PHONE, kind="phone")).count() == 3
    assert consent_state_rebuild().clean
    for merchant_id, before in decisions_before.items():
        after = consent_check(identifiers=[hashed], merchant_id=merchant_id, purpose=purpose_get("marketing"))
        assert (after.allowed, after.reason, after.event_id) == (before.allowed, before.reason, before.event_id)
    assert Disclosure.objects.filter(email=hashed).count() == 2
    assert not IdempotencyKey.objects.exists()

    # A bystander is untouched; a second run does nothing.
    assert _bystander_rows() == bystander
    assert consent_check(identifiers=[budi], merchant_id=shop.pk, purpose=purpose_get("research")).reason == Reason.RESTRICTED
    assert Erasure(Scope.subject(email=EMAIL, phone=PHONE)).count() == {}
    assert Erasure(Scope.subject(email=EMAIL, phone=PHONE)).run().counts == {}


def test_a_subject_erasure_within_one_merchant_leaves_her_other_choices(ayu, shop, other_shop):
    check = lambda: consent_check(  # noqa: E731
        identifiers=["ayu.lestari@gmail.com"], merchant_id=other_shop.pk, purpose=purpose_get("marketing")
    )
    before = check()
    Erasure(Scope.subject(email=EMAIL, merchant_id=shop.pk)).run()
    assert ConsentEvent.objects.filter(email="ayu.lestari@gmail.com", merchant=other_shop).count() == 1
    assert ConsentEvent.objects.filter(email="ayu.lestari@gmail.com", merchant__isnull=True).count() == 1
    assert not ConsentEvent.objects.filter(merchant=shop, email="ayu.lestari@gmail.com").exists()
    # Found by her e-mail: the events naming it lose her phone too; one naming only her phone is not found.
    assert ConsentEvent.objects.filter(merchant=shop, phone="+6281234567890").count() == 1
    assert not ConsentState.objects.filter(merchant=shop, identifier="ayu.lestari@gmail.com").exists()
    assert check() == before  # her later withdrawal to JUNOPOS itself still decides, in her other shop too
    assert consent_state_rebuild().clean


def test_a_merchant_purge_pseudonymises_that_merchants_customers_only(ayu, budi, shop, other_shop):
    planned = Erasure(Scope.merchant(shop.pk)).count()
    done = Erasure(Scope.merchant(shop.pk)).run()
    assert done.counts == planned
    assert not ConsentEvent.objects.filter(merchant=shop).exclude(email__startswith="h$", phone__startswith="h$").filter(
        email__contains="@"
    ).exists()
    for row in ConsentEvent.objects.filter(merchant=shop).values("email", "phone", "ip_address", "user_agent"):
        assert all(v in ("", None) or v.startswith("h$") for v in (row["email"], row["phone"])), row
        assert row["ip_address"] is None and row["user_agent"] == ""
    assert not ConsentState.objects.filter(merchant=shop).exclude(identifier__startswith="h$").exists()
    assert not Disclosure.objects.filter(merchant=shop).exclude(email="").exclude(email__startswith="h$").exists()
    # Her choices elsewhere keep her address.
    assert ConsentEvent.objects.filter(email="ayu.lestari@gmail.com").count() == 2
    assert Disclosure.objects.filter(merchant=other_shop, email="ayu.lestari@gmail.com").count() == 1
    assert consent_state_rebuild().clean
    assert Erasure(Scope.merchant(shop.pk)).run().counts == {}
