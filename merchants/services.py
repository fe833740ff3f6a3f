"""Writes to the governed JUNOPOS data: one small function per thing that happens.

House style: keyword-only arguments, typed, named `<entity>_<verb>`. Each function
normalises the identifiers a data subject is later found by (phones into the `*_e164`
column, in E.164), validates the row with `full_clean()` (so a bad e-mail, an impossible
phone or a duplicate is a `ValidationError`, never a half-written row) and saves it, which
also writes its "+" row in the audit history (django-simple-history).

E-mail addresses are stored as typed: they are matched without regard to case
(merchants.identifiers.normalize_email and the `Upper(...)` indexes), and what the subject
typed is part of what an access request must show back.

Bulk paths (seed_demo's sales, lines, payments) do not come through here: they fill the
same `*_e164` columns with the same normaliser.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import phonenumbers
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from .identifiers import normalize_phone
from .models import BankAccount, LoyaltyCustomer, Merchant, Outlet, StaffUser


def _phone_e164(raw: str, *, field: str) -> str | None:
    """E.164 of a typed phone; '' gives None; a phone that cannot be a number is refused.

    National numbers (0812...) are read in settings.PHONE_DEFAULT_REGION, not in the
    merchant's country of origin: that says which law governs its data, not where its shop
    and its customers are (a Dutch-owned cafe in Bali serves Indonesian phones).
    """
    if not raw:
        return None
    e164 = normalize_phone(raw)
    if e164 is None:
        raise ValidationError({field: _("Nomor telepon tidak valid: %(phone)s") % {"phone": raw}})
    return e164


def _check_coordinates(latitude: Decimal | None, longitude: Decimal | None) -> None:
    errors = {}
    if latitude is not None and not -90 <= Decimal(latitude) <= 90:
        errors["latitude"] = _("Lintang harus di antara -90 dan 90.")
    if longitude is not None and not -180 <= Decimal(longitude) <= 180:
        errors["longitude"] = _("Bujur harus di antara -180 dan 180.")
    if errors:
        raise ValidationError(errors)


def merchant_create(
    *,
    business_name: str,
    owner_name: str,
    subscription_started_at: datetime,
    business_type: str = "",
    tax_number: str = "",
    owner_gender: str = "",
    owner_birth_date: date | None = None,
    owner_id_number: str = "",
    owner_email: str = "",
    owner_phone: str = "",
    office_address: str = "",
    billing_address: str = "",
    plan: str = Merchant.Plan.BASIC,
    churned_at: datetime | None = None,
    preferred_language: str = "id",
    country_of_origin: str = "ID",
) -> Merchant:
    country_of_origin = country_of_origin.strip().upper()
    errors = {}
    if country_of_origin not in phonenumbers.SUPPORTED_REGIONS:
        errors["country_of_origin"] = _("Kode negara ISO 3166-1 tidak dikenal: %(code)s") % {"code": country_of_origin}
    if preferred_language not in dict(settings.LANGUAGES):
        errors["preferred_language"] = _("Bahasa tidak didukung: %(lang)s") % {"lang": preferred_language}
    if churned_at is not None and churned_at < subscription_started_at:
        errors["churned_at"] = _("Tanggal berhenti tidak boleh sebelum mulai berlangganan.")
    if errors:
        raise ValidationError(errors)
    owner_phone = owner_phone.strip()
    merchant = Merchant(
        business_name=business_name.strip(),
        business_type=business_type,
        tax_number=tax_number,
        owner_name=owner_name.strip(),
        owner_gender=owner_gender,
        owner_birth_date=owner_birth_date,
        owner_id_number=owner_id_number,
        owner_email=owner_email.strip(),
        owner_phone=owner_phone,
        owner_phone_e164=_phone_e164(owner_phone, field="owner_phone"),
        office_address=office_address,
        billing_address=billing_address,
        plan=plan,
        subscription_started_at=subscription_started_at,
        churned_at=churned_at,
        preferred_language=preferred_language,
        country_of_origin=country_of_origin,
    )
    merchant.full_clean()
    merchant.save()
    return merchant


def outlet_create(
    *,
    merchant: Merchant,
    name: str,
    address: str = "",
    city: str = "",
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
) -> Outlet:
    _check_coordinates(latitude, longitude)
    outlet = Outlet(
        merchant=merchant, name=name.strip(), address=address, city=city, latitude=latitude, longitude=longitude
    )
    outlet.full_clean()
    outlet.save()
    return outlet


def staff_create(
    *,
    merchant: Merchant,
    name: str,
    username: str,
    outlet: Outlet | None = None,
    email: str = "",
    phone: str = "",
    job_title: str = "",
    authorisation_level: str = StaffUser.Role.CASHIER,
    password: str | None = None,
    password_hash: str = "",
    is_active: bool = True,
) -> StaffUser:
    """A user of the cashier app. Give `password` (hashed here) or an already made `password_hash`."""
    if outlet is not None and outlet.merchant_id != merchant.pk:
        raise ValidationError({"outlet": _("Outlet ini milik merchant lain.")})
    if password is not None:
        password_hash = make_password(password)
    phone = phone.strip()
    staff = StaffUser(
        merchant=merchant,
        outlet=outlet,
        name=name.strip(),
        username=username.strip(),
        password_hash=password_hash,
        email=email.strip(),
        phone=phone,
        phone_e164=_phone_e164(phone, field="phone"),
        job_title=job_title,
        authorisation_level=authorisation_level,
        is_active=is_active,
    )
    staff.full_clean()
    staff.save()
    return staff


def bank_account_create(*, merchant: Merchant, bank_name: str, account_number: str, account_holder: str) -> BankAccount:
    """A payout account; the number is kept as digits only (typed with spaces or dashes)."""
    digits = "".join(ch for ch in account_number if ch not in " -.")
    if not digits.isdigit() or not 6 <= len(digits) <= 20:
        raise ValidationError({"account_number": _("Nomor rekening harus 6 sampai 20 angka.")})
    account = BankAccount(
        merchant=merchant, bank_name=bank_name.strip(), account_number=digits, account_holder=account_holder.strip()
    )
    account.full_clean()
    account.save()
    return account


def customer_create(
    *,
    merchant: Merchant,
    name: str,
    loyalty_card_number: str,
    gender: str = "",
    birth_date: date | None = None,
    phone: str = "",
    email: str = "",
    points: int = 0,
    accepts_marketing: bool = False,
) -> LoyaltyCustomer:
    """A loyalty member of one merchant (the same person at another shop is another row)."""
    phone = phone.strip()
    customer = LoyaltyCustomer(
        merchant=merchant,
        name=name.strip(),
        gender=gender,
        birth_date=birth_date,
        phone=phone,
        phone_e164=_phone_e164(phone, field="phone"),
        email=email.strip(),
        loyalty_card_number=loyalty_card_number.strip(),
        points=points,
        accepts_marketing=accepts_marketing,
    )
    customer.full_clean()
    customer.save()
    return customer


# -- corrections ------------------------------------------------------------------------------
#
# Every change to a governed row goes through one of these: the admin's change forms call them,
# and so will the correction workflow of the requests app. Each applies the same normalisation
# as the create functions (a phone typed anew gets its E.164 column, an account number its
# digits), validates the whole row with full_clean() and saves it once, so the audit history
# holds one "~" row naming who changed it. Only the fields a person may correct are accepted.

MERCHANT_EDITABLE = (
    "business_name", "business_type", "tax_number", "owner_name", "owner_gender", "owner_birth_date",
    "owner_id_number", "owner_email", "owner_phone", "office_address", "billing_address", "plan",
    "subscription_started_at", "preferred_language", "country_of_origin",
)
OUTLET_EDITABLE = ("name", "address", "city", "latitude", "longitude")
STAFF_EDITABLE = ("outlet", "name", "username", "email", "phone", "job_title", "authorisation_level", "is_active")
BANK_ACCOUNT_EDITABLE = ("bank_name", "account_number", "account_holder")
CUSTOMER_EDITABLE = (
    "name", "gender", "birth_date", "phone", "email", "loyalty_card_number", "points", "accepts_marketing",
)


def normalise_changes(model: type, changes: dict, *, instance=None) -> dict:
    """The changes as they will be stored, with their derived columns; ValidationError per field.

    Shared by the update services and the admin's forms (which show the errors by the field).
    """
    editable = {
        Merchant: MERCHANT_EDITABLE, Outlet: OUTLET_EDITABLE, StaffUser: STAFF_EDITABLE,
        BankAccount: BANK_ACCOUNT_EDITABLE, LoyaltyCustomer: CUSTOMER_EDITABLE,
    }[model]
    refused = sorted(set(changes) - set(editable))
    if refused:
        raise ValidationError(_("Kolom ini tidak dapat diubah di sini: %(fields)s") % {"fields": ", ".join(refused)})
    values = {k: (v.strip() if isinstance(v, str) else v) for k, v in changes.items()}
    if model is Merchant:
        if "owner_phone" in values:
            values["owner_phone_e164"] = _phone_e164(values["owner_phone"], field="owner_phone")
        if "country_of_origin" in values:
            values["country_of_origin"] = values["country_of_origin"].upper()
            if values["country_of_origin"] not in phonenumbers.SUPPORTED_REGIONS:
                raise ValidationError({"country_of_origin": _("Kode negara ISO 3166-1 tidak dikenal: %(code)s")
                                       % {"code": values["country_of_origin"]}})
        if "preferred_language" in values and values["preferred_language"] not in dict(settings.LANGUAGES):
            raise ValidationError({"preferred_language": _("Bahasa tidak didukung: %(lang)s")
                                   % {"lang": values["preferred_language"]}})
    elif model in (StaffUser, LoyaltyCustomer) and "phone" in values:
        values["phone_e164"] = _phone_e164(values["phone"], field="phone")
    if model is Outlet and ({"latitude", "longitude"} & set(values)):
        _check_coordinates(
            values.get("latitude", getattr(instance, "latitude", None)),
            values.get("longitude", getattr(instance, "longitude", None)),
        )
    if model is StaffUser and values.get("outlet") is not None and instance is not None:
        if values["outlet"].merchant_id != instance.merchant_id:
            raise ValidationError({"outlet": _("Outlet ini milik merchant lain.")})
    if model is BankAccount and "account_number" in values:
        digits = "".join(ch for ch in values["account_number"] if ch not in " -.")
        if not digits.isdigit() or not 6 <= len(digits) <= 20:
            raise ValidationError({"account_number": _("Nomor rekening harus 6 sampai 20 angka.")})
        values["account_number"] = digits
    return values


def governed_update(*, instance, actor=None, **changes):
    """Correct one governed row (merchant, outlet, staff, bank account, loyalty customer).

    `actor` None is the system (an import, the correction workflow acting on an approved
    request); a person needs the change permission of the row's model.
    """
    model = type(instance)
    if actor is not None and not actor.has_perm(f"{model._meta.app_label}.change_{model._meta.model_name}"):
        raise PermissionDenied(_("Anda tidak berwenang mengubah data ini."))
    values = normalise_changes(model, changes, instance=instance)
    for name, value in values.items():
        setattr(instance, name, value)
    instance.full_clean()
    if actor is not None:
        instance._history_user = actor  # simple-history: who made the change
    if values:
        instance.save(update_fields=list(values))
    return instance
