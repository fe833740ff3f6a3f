"""factory-boy factories for the governed JUNOPOS data, Indonesian by default."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone
from faker import Faker

from merchants.identifiers import normalize_phone
from merchants.models import (
    BankAccount, DeviceSession, LoyaltyCustomer, Merchant, Outlet, Payment, Sale, SaleLine, StaffUser,
)

factory.Faker._DEFAULT_LOCALE = "id_ID"
fake = Faker("id_ID")


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant

    business_name = factory.Faker("company")
    business_type = "Kedai kopi"
    tax_number = factory.Sequence(lambda n: f"01.{n:03d}.456.7-407.000")
    owner_name = factory.Faker("name")
    owner_gender = "F"
    owner_id_number = factory.Sequence(lambda n: f"3275{n:012d}")
    owner_email = factory.Sequence(lambda n: f"pemilik{n}@contoh.co.id")
    owner_phone = factory.Sequence(lambda n: f"0812{n:08d}")
    owner_phone_e164 = factory.LazyAttribute(lambda o: normalize_phone(o.owner_phone))
    office_address = factory.Faker("address")
    billing_address = factory.Faker("address")
    subscription_started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=400))


class OutletFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Outlet

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Outlet {n}")
    address = factory.Faker("street_address")
    city = "Bekasi"
    latitude = Decimal("-6.238270")
    longitude = Decimal("106.975571")


class StaffUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffUser

    merchant = factory.SubFactory(MerchantFactory)
    outlet = factory.LazyAttribute(lambda o: OutletFactory(merchant=o.merchant))
    name = factory.Faker("name")
    username = factory.Sequence(lambda n: f"kasir{n}")
    password_hash = "pbkdf2_sha256$demo"
    email = factory.Sequence(lambda n: f"staf{n}@contoh.co.id")
    phone = factory.Sequence(lambda n: f"0813{n:08d}")
    phone_e164 = factory.LazyAttribute(lambda o: normalize_phone(o.phone))
    job_title = "Kasir"


class BankAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BankAccount

    merchant = factory.SubFactory(MerchantFactory)
    bank_name = "BCA"
    account_number = factory.Sequence(lambda n: f"{n:010d}")
    account_holder = factory.LazyAttribute(lambda o: o.merchant.owner_name)


class LoyaltyCustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LoyaltyCustomer

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Faker("name")
    gender = "M"
    phone = factory.Sequence(lambda n: f"0857{n:08d}")
    phone_e164 = factory.LazyAttribute(lambda o: normalize_phone(o.phone))
    email = factory.Sequence(lambda n: f"pelanggan{n}@contoh.co.id")
    loyalty_card_number = factory.Sequence(lambda n: f"LC{n:08d}")


class SaleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sale

    merchant = factory.SubFactory(MerchantFactory)
    outlet = factory.LazyAttribute(lambda o: OutletFactory(merchant=o.merchant))
    receipt_number = factory.Sequence(lambda n: f"INV-{n:08d}")
    receipt_email = None
    receipt_phone = None
    receipt_phone_e164 = factory.LazyAttribute(lambda o: normalize_phone(o.receipt_phone))
    subtotal = Decimal("50000.00")
    tax = Decimal("5500.00")
    total = Decimal("55500.00")
    sold_at = factory.LazyFunction(timezone.now)


class SaleLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SaleLine

    sale = factory.SubFactory(SaleFactory)
    merchant = factory.LazyAttribute(lambda o: o.sale.merchant)
    product_name = "Kopi susu gula aren"
    sku = "KSA-01"
    quantity = Decimal("2")
    unit_price = Decimal("25000.00")
    line_total = Decimal("50000.00")


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    sale = factory.SubFactory(SaleFactory)
    merchant = factory.LazyAttribute(lambda o: o.sale.merchant)
    method = Payment.Method.DEBIT
    bank_name = "Mandiri"
    card_masked = "**** **** **** 4321"
    reference = factory.Sequence(lambda n: f"EDC{n:010d}")
    amount = Decimal("55500.00")
    paid_at = factory.LazyFunction(timezone.now)


class DeviceSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeviceSession

    merchant = factory.SubFactory(MerchantFactory)
    staff = factory.LazyAttribute(lambda o: StaffUserFactory(merchant=o.merchant))
    device_id = factory.Sequence(lambda n: f"dev-{n:012d}")
    ip_address = "36.80.12.34"
    user_agent = "JUNOPOS/4.2 (Android 13)"
    app_version = "4.2.0"
    os_name = "Android 13"
    latitude = Decimal("-6.2")
    longitude = Decimal("106.9")
    started_at = factory.LazyFunction(timezone.now)
