"""The write services: phones normalised into the E.164 column, bad input refused whole."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils import timezone

from merchants import services
from merchants.models import BankAccount, LoyaltyCustomer, Merchant, Outlet, StaffUser

from .factories import LoyaltyCustomerFactory, MerchantFactory, OutletFactory

pytestmark = pytest.mark.django_db

SPELLINGS = ["081298765432", "6281298765432", "+62 812-9876-5432"]


def _merchant(**overrides):
    fields = {
        "business_name": "Kopi Rahayu",
        "owner_name": "Siti Rahayu",
        "subscription_started_at": timezone.now() - timedelta(days=100),
        "owner_email": "Siti.Rahayu@gmail.com",
        "owner_phone": "0812-9876-5432",
    }
    return services.merchant_create(**{**fields, **overrides})


@pytest.mark.parametrize("typed", SPELLINGS)
def test_merchant_create_normalises_the_owner_phone(typed):
    merchant = _merchant(owner_phone=typed)
    merchant.refresh_from_db()
    assert merchant.owner_phone == typed  # kept as typed: an access request shows it back
    assert merchant.owner_phone_e164 == "+6281298765432"
    assert merchant.owner_email == "Siti.Rahayu@gmail.com"
    assert merchant.country_of_origin == "ID" and merchant.preferred_language == "id"
    assert [h.history_type for h in merchant.history.all()] == ["+"]


def test_merchant_create_without_phone_leaves_e164_empty():
    assert _merchant(owner_phone="").owner_phone_e164 is None


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"owner_phone": "nomor saya"}, "owner_phone"),
        ({"owner_phone": "12"}, "owner_phone"),
        ({"owner_email": "siti.rahayu"}, "owner_email"),
        ({"business_name": "  "}, "business_name"),
        ({"country_of_origin": "XX"}, "country_of_origin"),
        ({"preferred_language": "fr"}, "preferred_language"),
        ({"plan": "platinum"}, "plan"),
        ({"churned_at": timezone.now() - timedelta(days=200)}, "churned_at"),
    ],
)
def test_merchant_create_refuses_bad_input_and_saves_nothing(overrides, field):
    with pytest.raises(ValidationError) as excinfo:
        _merchant(**overrides)
    assert field in excinfo.value.message_dict
    assert not Merchant.objects.exists()


def test_country_of_origin_is_upper_cased_and_does_not_change_how_phones_are_read():
    merchant = _merchant(country_of_origin="nl", owner_phone="0812 9876 5432", preferred_language="en")
    assert merchant.country_of_origin == "NL"
    # A Dutch-owned shop in Bali: its national numbers are still Indonesian.
    assert merchant.owner_phone_e164 == "+6281298765432"


def test_outlet_create_validates_coordinates():
    merchant = MerchantFactory()
    outlet = services.outlet_create(
        merchant=merchant, name="Kopi Rahayu Kemang", city="Jakarta Selatan",
        latitude=Decimal("-6.261500"), longitude=Decimal("106.810600"),
    )
    assert outlet.history.count() == 1
    with pytest.raises(ValidationError) as excinfo:
        services.outlet_create(merchant=merchant, name="Nowhere", latitude=Decimal("-96"), longitude=Decimal("200"))
    assert set(excinfo.value.message_dict) == {"latitude", "longitude"}
    with pytest.raises(ValidationError):
        services.outlet_create(merchant=merchant, name="")
    assert Outlet.objects.count() == 1


@pytest.mark.parametrize("typed", SPELLINGS)
def test_staff_create_normalises_the_phone_and_hashes_the_password(typed):
    outlet = OutletFactory()
    staff = services.staff_create(
        merchant=outlet.merchant, outlet=outlet, name="Siti Rahayu", username="siti", phone=typed,
        email="SITI.RAHAYU@GMAIL.COM", password="rahasia-kasir-1",
    )
    staff.refresh_from_db()
    assert staff.phone_e164 == "+6281298765432"
    assert staff.authorisation_level == StaffUser.Role.CASHIER
    assert check_password("rahasia-kasir-1", staff.password_hash)
    assert staff.history.count() == 1


def test_staff_create_refuses_another_merchants_outlet_a_duplicate_username_and_a_bad_phone():
    outlet = OutletFactory()
    merchant = outlet.merchant
    services.staff_create(merchant=merchant, name="Siti Rahayu", username="siti")
    with pytest.raises(ValidationError) as excinfo:
        services.staff_create(merchant=MerchantFactory(), outlet=outlet, name="Budi", username="budi")
    assert "outlet" in excinfo.value.message_dict
    with pytest.raises(ValidationError):
        services.staff_create(merchant=merchant, name="Siti Lain", username="siti")
    with pytest.raises(ValidationError) as excinfo:
        services.staff_create(merchant=merchant, name="Budi", username="budi", phone="0812")
    assert "phone" in excinfo.value.message_dict
    with pytest.raises(ValidationError):
        services.staff_create(merchant=merchant, name="Budi", username="budi", authorisation_level="boss")
    # The same username at another merchant is another account.
    services.staff_create(merchant=MerchantFactory(), name="Siti Rahayu", username="siti")
    assert StaffUser.objects.count() == 2


@pytest.mark.parametrize("typed", SPELLINGS)
def test_customer_create_normalises_the_phone_and_keeps_the_email_as_typed(typed):
    merchant = MerchantFactory()
    customer = services.customer_create(
        merchant=merchant, name="Siti Rahayu", loyalty_card_number="LC-001", phone=typed,
        email="Siti.Rahayu@gmail.com", gender="F",
    )
    customer.refresh_from_db()
    assert customer.phone == typed
    assert customer.phone_e164 == "+6281298765432"
    assert customer.email == "Siti.Rahayu@gmail.com"
    assert LoyaltyCustomer.objects.filter(email__iexact="siti.rahayu@GMAIL.com").count() == 1
    assert customer.history.count() == 1


def test_customer_create_refuses_bad_input():
    merchant = MerchantFactory()
    services.customer_create(merchant=merchant, name="Siti Rahayu", loyalty_card_number="LC-001")
    bad = [
        ({"loyalty_card_number": "LC-001"}, "__all__"),  # the card is already that merchant's
        ({"phone": "telepon"}, "phone"),
        ({"email": "siti@"}, "email"),
        ({"gender": "X"}, "gender"),
        ({"loyalty_card_number": ""}, "loyalty_card_number"),
    ]
    for overrides, field in bad:
        fields = {"merchant": merchant, "name": "Budi Santoso", "loyalty_card_number": "LC-002", **overrides}
        with pytest.raises(ValidationError) as excinfo:
            services.customer_create(**fields)
        assert field in excinfo.value.message_dict, overrides
    assert LoyaltyCustomer.objects.count() == 1


def test_bank_account_create_keeps_digits_and_refuses_garbage():
    merchant = MerchantFactory()
    account = services.bank_account_create(
        merchant=merchant, bank_name="BCA", account_number="123-456 7890", account_holder="SITI RAHAYU"
    )
    assert account.account_number == "1234567890"
    assert account.history.count() == 1
    for number in ["12345", "rekening", ""]:
        with pytest.raises(ValidationError):
            services.bank_account_create(merchant=merchant, bank_name="BCA", account_number=number, account_holder="X")
    with pytest.raises(ValidationError):
        services.bank_account_create(merchant=merchant, bank_name="", account_number="1234567890", account_holder="X")
    assert BankAccount.objects.count() == 1


def test_a_correction_needs_the_change_permission_of_the_person_making_it(db):
    from django.contrib.auth import get_user_model
    from django.core.exceptions import PermissionDenied

    from merchants.services import governed_update

    customer = LoyaltyCustomerFactory(phone="081200000003")
    clerk = get_user_model().objects.create_user("clerk2", password="x" * 12, is_staff=True)
    with pytest.raises(PermissionDenied):
        governed_update(instance=customer, actor=clerk, phone="081200000004")
    customer.refresh_from_db()
    assert customer.phone_e164 == "+6281200000003"
    governed_update(instance=customer, phone="081200000004")  # the system (an approved correction)
    customer.refresh_from_db()
    assert customer.phone_e164 == "+6281200000004"
