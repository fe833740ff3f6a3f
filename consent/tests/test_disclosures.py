"""The disclosure register: every disclosure recorded, allowed or refused with its reason."""

import pytest

from consent.exceptions import ConsentError
from consent.models import Disclosure
from consent.services import disclosure_record, subject_ref

from .factories import RecipientFactory, record

pytestmark = pytest.mark.django_db

EMAIL = "ayu@contoh.co.id"


@pytest.fixture
def partner():
    return RecipientFactory(
        name="PT Promo Nusantara", purposes=["marketing", "service-improvement", "transactions"],
        categories=["identity", "contact", "marketing", "transaction", "technical", "financial"],
    )


def _disclose(recipient, *, purpose="marketing", categories=("contact",), merchant=None, **more):
    subject = subject_ref(email=EMAIL, merchant_id=merchant.pk if merchant else None)
    return disclosure_record(recipient=recipient, purpose=purpose, categories=list(categories), subject=subject, **more)


def _stored(disclosure):
    return Disclosure.objects.values_list("outcome", "refusal").get(pk=disclosure.pk)


def test_allowed_with_consent_and_recorded_with_its_facts(partner, shop):
    record(email=EMAIL, merchant=shop, purpose="marketing", action="given")
    done = _disclose(partner, merchant=shop, categories=["contact", "identity"], reference="KAMPANYE-7")
    row = Disclosure.objects.get(pk=done.pk)
    assert (row.outcome, row.refusal) == ("allowed", "")
    assert (row.recipient_id, row.merchant_id, row.email, row.purpose.key, row.basis) == (
        partner.pk, shop.pk, EMAIL, "marketing", "consent",
    )
    assert row.categories == ["contact", "identity"] and row.reference == "KAMPANYE-7"
    assert row.transfer_abroad is False


def test_a_contract_purpose_needs_no_consent(partner):
    assert _stored(_disclose(partner, purpose="transactions", categories=["transaction"])) == ("allowed", "")


@pytest.mark.parametrize(
    "setup, purpose, categories, reason",
    [
        ("inactive", "marketing", ["contact"], Disclosure.Refusal.RECIPIENT_INACTIVE),
        (None, "research", ["transaction"], Disclosure.Refusal.PURPOSE_NOT_REGISTERED),
        (None, "marketing", ["identification"], Disclosure.Refusal.CATEGORY_NOT_REGISTERED),
        (None, "marketing", ["financial"], Disclosure.Refusal.CATEGORY_NOT_IN_PURPOSE),
        (None, "marketing", ["contact"], Disclosure.Refusal.NO_CONSENT),
        ("withdrawn", "marketing", ["contact"], Disclosure.Refusal.CONSENT_WITHDRAWN),
        ("objected", "service-improvement", ["technical"], Disclosure.Refusal.OBJECTED),
        ("restricted", "marketing", ["contact"], Disclosure.Refusal.RESTRICTED),
    ],
)
def test_refused_for_each_reason_and_the_refusal_recorded(partner, setup, purpose, categories, reason):
    if setup == "inactive":
        record(email=EMAIL, purpose="marketing", action="given")
        partner.active = False
        partner.save()
    elif setup == "withdrawn":
        record(email=EMAIL, purpose="marketing", action="given")
        record(email=EMAIL, purpose="marketing", action="withdrawn")
    elif setup == "objected":
        record(email=EMAIL, purpose="service-improvement", action="withdrawn")
    elif setup == "restricted":
        record(email=EMAIL, purpose="marketing", action="given")
        record(email=EMAIL, purpose="marketing", action="restricted")
    done = _disclose(partner, purpose=purpose, categories=categories)
    assert _stored(done) == ("refused", reason)
    assert Disclosure.objects.count() == 1
    assert set(Disclosure.Refusal.values) >= {reason}


def test_every_refusal_reason_is_covered():
    covered = {
        "recipient_inactive", "purpose_not_registered", "category_not_registered", "category_not_in_purpose",
        "no_consent", "consent_withdrawn", "objected", "restricted",
    }
    assert covered == set(Disclosure.Refusal.values)


def test_a_merchants_consent_does_not_allow_another_merchants_disclosure(partner, shop, other_shop):
    record(email=EMAIL, merchant=shop, purpose="marketing", action="given")
    assert _stored(_disclose(partner, merchant=other_shop)) == ("refused", "no_consent")
    assert _stored(_disclose(partner, merchant=shop)) == ("allowed", "")


def test_unreadable_input_is_refused_and_nothing_recorded(partner, shop):
    with pytest.raises(ConsentError) as raised:
        _disclose(999999)
    assert raised.value.code == "unknown_recipient"
    for categories in (["telepati"], [], ["contact", "bukan-kategori"]):
        with pytest.raises(ConsentError) as raised:
            _disclose(partner, categories=categories)
        assert raised.value.code == "unknown_category"
    with pytest.raises(ConsentError) as raised:
        _disclose(partner, purpose="tidak-ada")
    assert raised.value.code == "unknown_purpose"
    with pytest.raises(ConsentError) as raised:
        disclosure_record(recipient=partner, purpose="marketing", categories=["contact"])
    assert raised.value.code == "no_subject"
    assert not Disclosure.objects.exists()


def test_a_transfer_abroad_follows_the_recipients_country(shop):
    abroad = RecipientFactory(name="Cloud Storage Pte Ltd", country="SG", purposes=["transactions"],
                              kind="storage", categories=["transaction"])
    home = RecipientFactory(name="PT Simpan Data", country="id", purposes=["transactions"], kind="storage",
                            categories=["transaction"])
    assert Disclosure.objects.get(pk=_disclose(abroad, purpose="transactions", categories=["transaction"]).pk).transfer_abroad
    assert not Disclosure.objects.get(pk=_disclose(home, purpose="transactions", categories=["transaction"]).pk).transfer_abroad


def test_a_merchants_own_data_needs_a_basis_other_than_consent(partner, shop):
    kyc = RecipientFactory(name="PT Verifikasi", kind="kyc", purposes=["kyc"], categories=["identity", "identification"])
    allowed = disclosure_record(recipient=kyc, purpose="kyc", categories=["identification"], merchant_id=shop.pk)
    assert _stored(allowed) == ("allowed", "")
    refused = disclosure_record(recipient=partner, purpose="marketing", categories=["contact"], merchant_id=shop.pk)
    assert _stored(refused) == ("refused", "no_consent")
