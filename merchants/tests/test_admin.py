"""The officers' admin over the JUNOPOS data: every page loads, lists cost a fixed number of
queries whatever their length, big lists never count their table, and a subject is found by
e-mail or phone however it was typed."""

from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from junoprivacy.pagination import EstimatedCountPaginator
from merchants.models import BankAccount, DeviceSession, LoyaltyCustomer, Merchant, Outlet, Payment, Sale, SaleLine, StaffUser

from .factories import (
    BankAccountFactory, DeviceSessionFactory, LoyaltyCustomerFactory, MerchantFactory, OutletFactory,
    PaymentFactory, SaleFactory, SaleLineFactory, StaffUserFactory,
)

pytestmark = pytest.mark.django_db

ROWS = 4


def _make_rows(model):
    """ROWS rows of `model`, each with its own related rows, so that an N+1 would show."""
    if model is Merchant:
        return MerchantFactory.create_batch(ROWS)
    if model is Outlet:
        return OutletFactory.create_batch(ROWS)
    if model is StaffUser:
        return StaffUserFactory.create_batch(ROWS)
    if model is BankAccount:
        return BankAccountFactory.create_batch(ROWS)
    if model is LoyaltyCustomer:
        return LoyaltyCustomerFactory.create_batch(ROWS)
    if model is Sale:
        rows = []
        for _ in range(ROWS):
            merchant = MerchantFactory()
            rows.append(
                SaleFactory(
                    merchant=merchant,
                    cashier=StaffUserFactory(merchant=merchant),
                    customer=LoyaltyCustomerFactory(merchant=merchant),
                )
            )
        return rows
    if model is SaleLine:
        return SaleLineFactory.create_batch(ROWS)
    if model is Payment:
        return PaymentFactory.create_batch(ROWS)
    if model is DeviceSession:
        return DeviceSessionFactory.create_batch(ROWS)
    raise AssertionError(model)


def _changelist(model):
    return reverse(f"admin:merchants_{model._meta.model_name}_changelist")


def _change(obj):
    return reverse(f"admin:merchants_{obj._meta.model_name}_change", args=[obj.pk])


# Queries of one changelist page for a superuser: session, user, then the page itself
# (bounded count, rows with their foreign keys in the same query, and what the filters
# and the date hierarchy need). None of these numbers may depend on the number of rows.
CHANGELIST_QUERIES = {
    Merchant: 5,  # + count, rows, distinct countries for the filter
    Outlet: 5,  # + count, rows, distinct cities for the filter
    StaffUser: 4,
    BankAccount: 5,  # + distinct banks for the filter
    LoyaltyCustomer: 4,
    Sale: 4,  # the date drill-down reads no dates from the table
    SaleLine: 4,
    Payment: 4,
    DeviceSession: 4,
}


@pytest.mark.parametrize("model", list(CHANGELIST_QUERIES), ids=lambda m: m.__name__)
def test_changelist_loads_in_a_fixed_number_of_queries(admin_client, django_assert_num_queries, model):
    rows = _make_rows(model)
    with django_assert_num_queries(CHANGELIST_QUERIES[model]):
        response = admin_client.get(_changelist(model))
    assert response.status_code == 200
    assert response.context["cl"].result_count == len(rows)
    assert len(response.context["cl"].result_list) == len(rows)


@pytest.mark.parametrize("model", list(CHANGELIST_QUERIES), ids=lambda m: m.__name__)
def test_change_form_loads(admin_client, model):
    obj = _make_rows(model)[0]
    response = admin_client.get(_change(obj))
    assert response.status_code == 200


@pytest.mark.parametrize("model", [Merchant, Outlet, StaffUser, BankAccount, LoyaltyCustomer], ids=lambda m: m.__name__)
def test_history_view_loads(admin_client, model):
    obj = _make_rows(model)[0]
    url = reverse(f"admin:merchants_{model._meta.model_name}_history", args=[obj.pk])
    response = admin_client.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("model", list(CHANGELIST_QUERIES), ids=lambda m: m.__name__)
def test_governed_rows_are_never_added_or_deleted_in_the_admin(admin_client, model):
    # Rows come from JUNOPOS; erasure goes through the retention engine.
    obj = _make_rows(model)[0]
    add = reverse(f"admin:merchants_{model._meta.model_name}_add")
    delete = reverse(f"admin:merchants_{model._meta.model_name}_delete", args=[obj.pk])
    assert admin_client.get(add).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("model", [Sale, SaleLine, Payment, DeviceSession], ids=lambda m: m.__name__)
def test_records_are_view_only(admin_client, model):
    obj = _make_rows(model)[0]
    response = admin_client.get(_change(obj))
    assert response.context["has_change_permission"] is False
    assert response.context["has_view_permission"] is True


def test_sale_change_form_shows_lines_and_payments(admin_client):
    sale = SaleFactory()
    SaleLineFactory(sale=sale, product_name="Es teh manis")
    PaymentFactory(sale=sale, reference="EDC-REF-77")
    response = admin_client.get(_change(sale))
    assert "Es teh manis" in response.content.decode()
    assert "EDC-REF-77" in response.content.decode()


def test_merchant_change_form_links_to_its_records(admin_client):
    merchant = MerchantFactory()
    response = admin_client.get(_change(merchant))
    expected = reverse("admin:merchants_sale_changelist") + f"?merchant__id__exact={merchant.pk}"
    assert expected in response.content.decode()
    # And the link works: the list is filtered on the merchant.
    SaleFactory(merchant=merchant)
    SaleFactory()
    listed = admin_client.get(expected)
    assert [s.merchant_id for s in listed.context["cl"].result_list] == [merchant.pk]


# --- Search --------------------------------------------------------------------------------


def _search(admin_client, model, term):
    response = admin_client.get(_changelist(model), {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_merchant_search_by_email_ignores_case(admin_client):
    wanted = MerchantFactory(owner_email="Siti.Rahma@Contoh.co.id")
    MerchantFactory.create_batch(2)
    assert _search(admin_client, Merchant, "siti.rahma@contoh.co.id") == [wanted]
    assert _search(admin_client, Merchant, "  SITI.RAHMA@CONTOH.CO.ID ") == [wanted]


def test_merchant_search_by_name(admin_client):
    wanted = MerchantFactory(owner_name="Bambang Wijaya", business_name="Warung Sederhana")
    MerchantFactory(owner_name="Dewi Lestari", business_name="Kopi Pagi")
    assert _search(admin_client, Merchant, "bambang") == [wanted]
    assert _search(admin_client, Merchant, "sederhana") == [wanted]


@pytest.mark.parametrize("typed", ["081298765432", "+62 812-9876-5432", "6281298765432", "(0812) 9876 5432"])
def test_staff_search_by_phone_however_typed(admin_client, typed):
    wanted = StaffUserFactory(phone="0812-9876-5432", phone_e164="+6281298765432")
    StaffUserFactory()
    assert _search(admin_client, StaffUser, typed) == [wanted]


def test_staff_search_by_email(admin_client):
    wanted = StaffUserFactory(email="kasir.andi@contoh.co.id")
    StaffUserFactory()
    assert _search(admin_client, StaffUser, "Kasir.Andi@contoh.co.id") == [wanted]


def test_customer_search_by_email_phone_and_card(admin_client):
    wanted = LoyaltyCustomerFactory(
        email="budi@contoh.co.id", phone="0857 1111 2222", phone_e164="+6285711112222", loyalty_card_number="LC-4242"
    )
    LoyaltyCustomerFactory()
    assert _search(admin_client, LoyaltyCustomer, "BUDI@contoh.co.id") == [wanted]
    assert _search(admin_client, LoyaltyCustomer, "+62 857-1111-2222") == [wanted]
    assert _search(admin_client, LoyaltyCustomer, "lc-4242") == [wanted]


def test_sale_search_by_receipt_email_phone_and_number(admin_client):
    by_email = SaleFactory(receipt_email="struk@contoh.co.id")
    by_phone = SaleFactory(receipt_phone="0813 5555 6666")
    by_number = SaleFactory(receipt_number="INV-RCPT-1")
    assert by_phone.receipt_phone_e164 == "+6281355556666"
    assert _search(admin_client, Sale, "Struk@Contoh.co.id") == [by_email]
    assert _search(admin_client, Sale, "081355556666") == [by_phone]
    assert _search(admin_client, Sale, "INV-RCPT-1") == [by_number]


def test_email_search_uses_the_case_insensitive_index_form(admin_client):
    # UPPER(column) = UPPER(term) is what the functional indexes (Upper("email")) serve.
    SaleFactory(receipt_email="a@contoh.co.id")
    with CaptureQueriesContext(connection) as ctx:
        _search(admin_client, Sale, "A@contoh.co.id")
    rows_query = [q["sql"] for q in ctx.captured_queries if 'FROM "merchants_sale"' in q["sql"] and "LIMIT" in q["sql"]]
    assert rows_query and all('UPPER("merchants_sale"."receipt_email"::text) = UPPER(' in sql for sql in rows_query)


# --- Counting big lists --------------------------------------------------------------------


def test_big_list_counts_a_bounded_number_of_rows_and_says_the_total_is_approximate(admin_client, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "exact_limit", 3)
    merchant = MerchantFactory()
    outlet = OutletFactory(merchant=merchant)
    SaleFactory.create_batch(6, merchant=merchant, outlet=outlet)
    with CaptureQueriesContext(connection) as ctx:
        response = admin_client.get(_changelist(Sale))
    assert response.status_code == 200
    counts = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts, "the list counts nothing"
    # Every count is over a LIMITed subquery: never a full COUNT(*) of the table.
    assert all("LIMIT 4" in sql for sql in counts), counts
    cl = response.context["cl"]
    assert cl.paginator.count_is_exact is False
    assert cl.result_count >= 4
    assert "sekitar" in response.content.decode()


def test_small_list_count_is_exact(admin_client):
    SaleFactory.create_batch(3)
    response = admin_client.get(_changelist(Sale))
    cl = response.context["cl"]
    assert cl.paginator.count_is_exact is True
    assert cl.result_count == 3
    assert "sekitar" not in response.content.decode()


# --- Date drill-down -----------------------------------------------------------------------


def test_sale_date_drill_down_reads_no_dates_from_the_table(admin_client):
    this_year = timezone.localdate().year
    in_march = SaleFactory(sold_at=timezone.make_aware(datetime(this_year - 1, 3, 4, 10, 0)))
    in_june = SaleFactory(sold_at=timezone.make_aware(datetime(this_year - 1, 6, 1, 10, 0)))
    SaleFactory(sold_at=timezone.make_aware(datetime(this_year - 2, 3, 4, 10, 0)))
    with CaptureQueriesContext(connection) as ctx:
        response = admin_client.get(_changelist(Sale))
    sqls = " ".join(q["sql"] for q in ctx.captured_queries)
    assert "MIN(" not in sqls and "DISTINCT" not in sqls
    html = response.content.decode()
    assert f"?sold_at__year={this_year - 10}" in html and f"?sold_at__year={this_year}" in html

    year = admin_client.get(_changelist(Sale), {"sold_at__year": this_year - 1})
    assert {s.pk for s in year.context["cl"].result_list} == {in_march.pk, in_june.pk}
    assert f"sold_at__month=12&amp;sold_at__year={this_year - 1}" in year.content.decode()

    month = admin_client.get(_changelist(Sale), {"sold_at__year": this_year - 1, "sold_at__month": 3})
    assert [s.pk for s in month.context["cl"].result_list] == [in_march.pk]
    assert "sold_at__day=31" in month.content.decode()

    day = admin_client.get(_changelist(Sale), {"sold_at__year": this_year - 1, "sold_at__month": 3, "sold_at__day": 4})
    assert [s.pk for s in day.context["cl"].result_list] == [in_march.pk]


def test_the_drill_down_never_offers_the_future(admin_client):
    today = timezone.localdate()
    html = admin_client.get(_changelist(Sale)).content.decode()
    assert f"?sold_at__year={today.year + 1}" not in html
    html = admin_client.get(_changelist(Sale), {"sold_at__year": today.year, "sold_at__month": today.month}).content.decode()
    assert f"sold_at__day={today.day}" in html
    if today.day < 28:
        assert f"sold_at__day={today.day + 1}&" not in html


def test_a_phone_corrected_in_the_admin_is_normalised(admin_client):
    """The admin's change form saves through the service: the E.164 column follows the typed phone."""
    from django.forms.models import model_to_dict

    customer = LoyaltyCustomerFactory(phone="081200000001", email="")
    url = reverse("admin:merchants_loyaltycustomer_change", args=[customer.pk])
    data = {k: ("" if v is None else v) for k, v in model_to_dict(customer).items() if k not in ("id", "phone_e164")}
    data.update(phone="0857-1122-3344", merchant=customer.merchant_id)
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    customer.refresh_from_db()
    assert (customer.phone, customer.phone_e164) == ("0857-1122-3344", "+6285711223344")
    assert customer.history.first().history_user.username == "admin"
    assert not LoyaltyCustomer.objects.filter(phone_e164="+6281200000001").exists()

    data.update(phone="bukan nomor")
    bad = admin_client.post(url, data)
    assert bad.status_code == 200 and "Nomor telepon tidak valid" in bad.content.decode()
    customer.refresh_from_db()
    assert customer.phone_e164 == "+6285711223344"


def test_a_staff_phone_and_an_account_number_corrected_in_the_admin(admin_client):
    from django.forms.models import model_to_dict

    staff = StaffUserFactory(phone="081200000002")
    data = {k: ("" if v is None else v) for k, v in model_to_dict(staff).items()
            if k not in ("id", "phone_e164", "password_hash", "created_at")}
    data.update(phone="+62 811-2000-3000")
    assert admin_client.post(reverse("admin:merchants_staffuser_change", args=[staff.pk]), data).status_code == 302
    staff.refresh_from_db()
    assert staff.phone_e164 == "+6281120003000"

    account = BankAccountFactory()
    data = {"merchant": account.merchant_id, "bank_name": account.bank_name, "account_holder": account.account_holder,
            "account_number": "123-456 7890"}
    assert admin_client.post(reverse("admin:merchants_bankaccount_change", args=[account.pk]), data).status_code == 302
    account.refresh_from_db()
    assert account.account_number == "1234567890"
