"""seed_demo at a small scale, through the same COPY path it takes at a million sales."""

import hashlib
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, Sum

from merchants.demo_data import JAKARTA, SITI
from merchants.identifiers import normalize_phone
from merchants.models import (
    BankAccount, DeviceSession, LoyaltyCustomer, Merchant, Outlet, Payment, Sale, SaleLine, StaffUser,
)

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 11, 25)
MERCHANTS, SALES = 5, 40


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(*extra, seed=7, merchants=MERCHANTS, sales=SALES) -> str:
    out = StringIO()
    call_command(
        "seed_demo", f"--merchants={merchants}", f"--sales-per-merchant={sales}", f"--seed={seed}",
        f"--as-of={AS_OF.isoformat()}", "--chunk-size=64", *extra, stdout=out,
    )
    return out.getvalue()


def checksum() -> str:
    """Every seeded row by natural keys: ids and created_at stamps differ between runs."""
    m = "merchant__business_name"
    parts = [
        Merchant.objects.order_by("business_name").values_list(
            "business_name", "business_type", "tax_number", "owner_name", "owner_gender", "owner_birth_date",
            "owner_id_number", "owner_email", "owner_phone", "owner_phone_e164", "office_address",
            "billing_address", "plan", "subscription_started_at", "churned_at", "preferred_language",
            "country_of_origin",
        ),
        Outlet.objects.order_by(m, "name", "address").values_list(
            m, "name", "address", "city", "latitude", "longitude"
        ),
        StaffUser.objects.order_by(m, "username").values_list(
            m, "username", "name", "email", "phone", "phone_e164", "job_title", "authorisation_level", "outlet__name",
            "password_hash", "is_active",
        ),
        BankAccount.objects.order_by(m).values_list(m, "bank_name", "account_number", "account_holder"),
        LoyaltyCustomer.objects.order_by(m, "loyalty_card_number").values_list(
            m, "loyalty_card_number", "name", "gender", "birth_date", "phone", "phone_e164", "email", "points",
            "accepts_marketing",
        ),
        DeviceSession.objects.order_by(m, "started_at", "staff__username", "device_id").values_list(
            m, "staff__username", "device_id", "ip_address", "user_agent", "app_version", "os_name", "latitude",
            "longitude", "started_at",
        ),
        Sale.objects.order_by(m, "receipt_number").values_list(
            m, "receipt_number", "outlet__name", "cashier__username", "customer__loyalty_card_number",
            "receipt_email", "receipt_phone", "receipt_phone_e164", "subtotal", "tax", "total", "sold_at",
        ),
        SaleLine.objects.order_by(m, "sale__receipt_number", "id").values_list(
            m, "sale__receipt_number", "product_name", "sku", "quantity", "unit_price", "line_total"
        ),
        Payment.objects.order_by(m, "sale__receipt_number").values_list(
            m, "sale__receipt_number", "method", "bank_name", "card_masked", "reference", "amount", "paid_at"
        ),
    ]
    digest = hashlib.sha256()
    for rows in parts:
        for row in rows:
            digest.update(repr(row).encode())
    return digest.hexdigest()


def test_counts_and_what_each_sale_holds():
    output = seed()
    assert Merchant.objects.count() == MERCHANTS
    assert Sale.objects.count() == MERCHANTS * SALES
    assert Payment.objects.count() == MERCHANTS * SALES
    for merchant in Merchant.objects.annotate(
        n_outlets=Count("outlets", distinct=True), n_banks=Count("bank_accounts", distinct=True)
    ):
        assert 1 <= merchant.n_outlets <= 3
        assert merchant.n_banks == 1
        roles = set(StaffUser.objects.filter(merchant=merchant).values_list("authorisation_level", flat=True))
        assert roles == {"owner", "manager", "cashier"}
        assert LoyaltyCustomer.objects.filter(merchant=merchant).count() >= 20
        assert DeviceSession.objects.filter(merchant=merchant).count() >= 10
    lines = SaleLine.objects.values("sale").annotate(n=Count("id"), total=Sum("line_total"))
    assert {row["n"] for row in lines} <= {1, 2, 3, 4, 5} and len(lines) == MERCHANTS * SALES
    sums = {row["sale"]: row["total"] for row in lines}
    start = datetime(AS_OF.year, AS_OF.month, AS_OF.day, tzinfo=JAKARTA) - timedelta(days=731)
    for sale in Sale.objects.select_related("merchant", "outlet", "cashier").prefetch_related("payments"):
        assert sale.subtotal == sums[sale.pk]
        assert sale.tax == (sale.subtotal * Decimal("0.11")).quantize(Decimal("1"), rounding="ROUND_HALF_UP")
        assert sale.total == sale.subtotal + sale.tax
        (payment,) = sale.payments.all()
        assert payment.amount == sale.total and payment.merchant_id == sale.merchant_id
        if payment.method in ("debit", "credit"):
            assert payment.bank_name and "**" in payment.card_masked
        if payment.method == "cash":
            assert payment.bank_name is None and payment.card_masked is None
        local = sale.sold_at.astimezone(JAKARTA)
        assert 6 <= local.hour <= 22  # business hours in Jakarta
        assert start <= sale.sold_at < datetime(AS_OF.year, AS_OF.month, AS_OF.day, tzinfo=JAKARTA)
        assert sale.merchant.churned_at is None or sale.sold_at < sale.merchant.churned_at
        assert sale.outlet.merchant_id == sale.merchant_id and sale.cashier.merchant_id == sale.merchant_id
    assert Sale.objects.exclude(receipt_email=None).exists() and Sale.objects.exclude(receipt_phone=None).exists()
    assert set(Payment.objects.values_list("method", flat=True)) >= {"cash", "qris", "debit"}
    # every governed row with a history table has its one "+" history row
    for model in (Merchant, Outlet, StaffUser, BankAccount, LoyaltyCustomer):
        assert model.history.filter(history_type="+").count() == model.objects.count()
    assert "COPY (PostgreSQL)" in output and f"{MERCHANTS * SALES:,} sales" in output


def test_every_phone_column_holds_the_normalised_phone():
    seed()
    pairs = [
        *Merchant.objects.values_list("owner_phone", "owner_phone_e164"),
        *StaffUser.objects.values_list("phone", "phone_e164"),
        *LoyaltyCustomer.objects.values_list("phone", "phone_e164"),
        *Sale.objects.exclude(receipt_phone=None).values_list("receipt_phone", "receipt_phone_e164"),
    ]
    assert len(pairs) > 100
    for typed, e164 in pairs:
        assert normalize_phone(typed) == e164, typed
    spellings = {typed for typed, _ in pairs}
    assert any(s.startswith("0") for s in spellings) and any(s.startswith("62") for s in spellings)
    assert any(s.startswith("+62 ") for s in spellings)


def test_churned_long_ago_recently_and_active_one_english_one_foreign():
    seed()
    now = datetime(AS_OF.year, AS_OF.month, AS_OF.day, tzinfo=JAKARTA)
    ages = [(now - m.churned_at).days if m.churned_at else None for m in Merchant.objects.all()]
    assert any(age is not None and age >= 400 for age in ages)
    assert any(age is not None and age <= 30 for age in ages)
    assert ages.count(None) >= 2
    assert list(Merchant.objects.values_list("preferred_language", flat=True)).count("en") == 1
    assert Merchant.objects.exclude(country_of_origin="ID").count() == 1
    assert Merchant.objects.filter(preferred_language="id").count() == MERCHANTS - 1


def test_the_cross_merchant_person():
    output = seed()
    e164 = normalize_phone("0" + SITI.national)
    customers = LoyaltyCustomer.objects.filter(phone_e164=e164)
    shops = set(customers.values_list("merchant", flat=True))
    assert len(shops) >= 3
    assert len(set(customers.values_list("phone", flat=True))) >= 3  # three spellings, one number
    emails = set(customers.values_list("email", flat=True))
    assert len(emails) >= 3 and {e.lower() for e in emails} == {SITI.email}
    (cashier,) = StaffUser.objects.filter(phone_e164=e164)
    assert cashier.merchant_id in shops and cashier.name == "Siti Rahayu"
    receipts = Sale.objects.filter(receipt_email__iexact=SITI.email)
    receipt_shops = set(receipts.values_list("merchant", flat=True))
    assert receipt_shops - shops  # receipts at a fourth shop
    assert receipts.exclude(receipt_email=SITI.email).exists()  # in another letter case
    assert Sale.objects.filter(customer__in=customers).exists()  # she buys there too
    assert Sale.objects.filter(cashier=cashier).exists()  # and sells
    # Budi owns one shop and is a customer of others; Dewi only gets receipts.
    budi = "+6285711223344"
    assert Merchant.objects.filter(owner_phone_e164=budi).count() == 1
    assert LoyaltyCustomer.objects.filter(phone_e164=budi).values("merchant").distinct().count() == 2
    assert Sale.objects.filter(receipt_phone_e164="+6281377889900").values("merchant").distinct().count() >= 2
    # and the command says whom to look up
    assert "try looking them up" in output
    for name in ("Siti Rahayu", "Budi Santoso", "Dewi Lestari"):
        assert name in output


def test_same_seed_same_rows_on_both_write_paths_other_seed_other_rows():
    seed()
    first = checksum()
    seed("--reset")
    assert checksum() == first
    seed("--reset", "--bulk-create")  # the path SQLite takes
    assert checksum() == first
    seed("--reset", seed=8)
    assert checksum() != first


def test_if_empty_is_a_no_op_on_a_seeded_database_and_plain_seed_refuses():
    seed()
    before = checksum()
    counts = (Merchant.objects.count(), Sale.objects.count(), SaleLine.objects.count())
    out = seed("--if-empty", seed=99, merchants=9, sales=3)
    assert "nothing to do" in out
    assert checksum() == before
    assert (Merchant.objects.count(), Sale.objects.count(), SaleLine.objects.count()) == counts
    with pytest.raises(CommandError, match="--reset"):
        seed()
    with pytest.raises(CommandError):
        seed("--reset", "--if-empty")


def test_if_empty_seeds_an_empty_database():
    seed("--if-empty", merchants=4, sales=10)
    assert Merchant.objects.count() == 4 and Sale.objects.count() == 40


def test_demo_users_with_their_groups_and_working_passwords():
    Group.objects.filter(name="Auditor").delete()  # made empty by the command if missing
    output = seed(merchants=2, sales=2)
    expected = {
        "officer": ("officer-demo-2026", "Compliance officer"),
        "dpo": ("dpo-demo-2026", "Data protection officer"),
        "auditor": ("auditor-demo-2026", "Auditor"),
    }
    User = get_user_model()
    for username, (password, group) in expected.items():
        user = User.objects.get(username=username)
        assert user.is_staff and not user.is_superuser
        assert list(user.groups.values_list("name", flat=True)) == [group]
        assert authenticate(username=username, password=password) == user
        assert f"{username}" in output and password in output
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert authenticate(username="admin", password="admin-demo-2026") == admin
    # running again (with --reset) keeps one user per login and resets a changed password
    admin.set_password("changed-password-1")
    admin.save()
    seed("--reset", merchants=2, sales=2)
    assert User.objects.filter(username__in=[*expected, "admin"]).count() == 4
    assert authenticate(username="admin", password="admin-demo-2026") is not None


@pytest.mark.django_db(transaction=True)
def test_from_the_command_line_lines_go_through_a_second_connection():
    # Outside a transaction the command writes lines on a second connection; the rows must
    # be the same as through one connection.
    output = seed(merchants=4, sales=30)
    assert "2 connections" in output
    assert Sale.objects.count() == 120 and Payment.objects.count() == 120
    assert not Sale.objects.filter(lines__isnull=True).exists()
    parallel = checksum()
    with transaction.atomic():
        output = seed("--reset", merchants=4, sales=30)
    assert "2 connections" not in output
    assert checksum() == parallel
