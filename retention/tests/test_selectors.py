"""Finding one subject across every merchant, through the data map, in bounded queries."""

import pytest

from merchants.tests.factories import (
    DeviceSessionFactory, LoyaltyCustomerFactory, MerchantFactory, PaymentFactory, SaleFactory,
    SaleLineFactory, StaffUserFactory,
)
from retention.selectors import subject_querysets, subject_records

from .conftest import PHONE_SPELLINGS

pytestmark = pytest.mark.django_db

@pytest.mark.parametrize("spelling", PHONE_SPELLINGS)
def test_one_phone_however_written_finds_every_shop(siti, spelling):
    result = subject_records(phone=spelling)
    shops = siti["shops"]
    assert [m.merchant_id for m in result.merchants] == [shops[0].pk, shops[1].pk, shops[2].pk]
    tables = {m.merchant_id: {t.label: t.count for t in m.tables} for m in result.merchants}
    assert tables[shops[0].pk] == {
        "merchants.LoyaltyCustomer": 1, "merchants.StaffUser": 1, "merchants.DeviceSession": 2,
    }
    assert tables[shops[1].pk] == {
        "merchants.LoyaltyCustomer": 1, "merchants.Sale": 3, "merchants.SaleLine": 6, "merchants.Payment": 3,
    }
    assert tables[shops[2].pk] == {"merchants.LoyaltyCustomer": 1}
    assert result.phone == "+6281234567890"


def test_email_is_matched_without_regard_to_case(siti):
    result = subject_records(email="siti.rahayu@GMAIL.com")
    shops = siti["shops"]
    counts = {m.merchant_id: {t.label: t.count for t in m.tables} for m in result.merchants}
    assert set(counts) == {shops[0].pk, shops[1].pk, shops[3].pk}
    assert counts[shops[3].pk] == {"merchants.Sale": 2, "merchants.Payment": 1}
    assert counts[shops[0].pk] == {"merchants.LoyaltyCustomer": 1}


def test_email_and_phone_together_and_grouping_by_category(siti):
    result = subject_records(email="siti.rahayu@gmail.com", phone="081234567890")
    assert len(result.merchants) == 4
    shop1 = next(m for m in result.merchants if m.merchant_id == siti["shops"][1].pk)
    assert shop1.merchant_name == siti["shops"][1].business_name
    assert shop1.total == 13
    # 1 customer + 3 sales + 6 lines + 3 payments hold transaction data; payments hold financial
    assert shop1.by_category["transaction"] == 13
    assert shop1.by_category["financial"] == 3
    assert shop1.by_category["identity"] == 1
    assert result.total == 4 + 13 + 1 + 3


def test_scoped_to_one_merchant(siti):
    result = subject_records(phone="+6281234567890", merchant_id=siti["shops"][0].pk)
    assert [m.merchant_id for m in result.merchants] == [siti["shops"][0].pk]


def test_unknown_or_empty_identifiers_find_nothing(siti):
    assert subject_records(email="nobody@example.com").merchants == []
    assert subject_records(phone="not a phone").merchants == []
    assert subject_records().merchants == []


def test_a_merchant_owner_finds_the_account_outlets_and_bank_accounts():
    shop = MerchantFactory(owner_email="Pemilik@Warung.id", owner_phone="0811-1111-111")
    from merchants.tests.factories import BankAccountFactory, OutletFactory

    OutletFactory.create_batch(2, merchant=shop)
    BankAccountFactory(merchant=shop)
    result = subject_records(email="pemilik@warung.id")
    (found,) = result.merchants
    assert {t.label: t.count for t in found.tables} == {
        "merchants.Merchant": 1, "merchants.Outlet": 2, "merchants.BankAccount": 1,
    }


def test_query_count_is_bounded_by_the_data_map_not_the_data(siti, django_assert_num_queries):
    searched = len(subject_querysets(email="siti.rahayu@gmail.com", phone="081234567890"))
    with django_assert_num_queries(searched + 1):
        small = subject_records(email="siti.rahayu@gmail.com", phone="081234567890")
    for _ in range(5):
        sale = SaleFactory(merchant=siti["shops"][1], customer=siti["customers"][1])
        SaleLineFactory.create_batch(3, sale=sale)
        PaymentFactory(sale=sale)
    with django_assert_num_queries(searched + 1):
        large = subject_records(email="siti.rahayu@gmail.com", phone="081234567890")
    assert large.total == small.total + 5 * 5


def test_querysets_are_lazy():
    # Building the querysets runs nothing: the engine and the access package compose them.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        qs = subject_querysets(email="a@b.id")
    assert len(ctx.captured_queries) == 0
    assert "merchants.Payment" in qs
