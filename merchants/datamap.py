"""What in the JUNOPOS tables is personal, how a subject is found in it and how it is erased.

Sales, their lines and payments are kept for ten years for tax (retention rule
`tax-records`): their rows stay, every personal field in them is removed, amounts, dates,
items and outlet remain. The merchant row stays as a tombstone (`merchant-tombstone`), its
identifiers replaced by keyed hashes so that "was merchant X deleted?" can still be answered.

What a purge keeps must not carry what it erases. An outlet is kept with its sales (the tax
records say where a sale was made), but its name is the business's name with a place
("Warung Bu Drajat Manahan"): kept in clear it would give back the business name the tombstone
hashes. So an outlet's name is replaced by its own keyed hash (distinct outlets stay distinct in
the kept books, and an officer can still confirm a named outlet was erased) and only its city
is kept in clear: a city names nobody.

Whose a field is: a sale concerns two people, its buyer (the loyalty customer, or whoever
asked for the digital receipt) and its cashier. A subject erasure empties only the fields of
the party the subject is in that sale; lines and payments belong to the buyer.
"""

from retention.registry import Category as C
from retention.registry import FieldErasure as E
from retention.registry import FindBy, Personal, RowErasure, Via, datamap

from .models import BankAccount, DeviceSession, LoyaltyCustomer, Merchant, Outlet, Payment, Sale, SaleLine, StaffUser

datamap.register(
    Merchant,
    description="Akun merchant: usaha dan pemiliknya.",
    erasure=RowErasure.ANONYMISE,
    retained_under="merchant-tombstone",
    merchant="id",
    personal={
        "business_name": Personal(C.PROFESSIONAL, erase=E.HASH, correctable=True),
        "tax_number": Personal(C.IDENTIFICATION, erase=E.HASH, correctable=True),
        "owner_name": Personal(C.IDENTITY, erase=E.MASK, correctable=True),
        "owner_gender": Personal(C.IDENTITY, erase=E.NULL, correctable=True),
        "owner_birth_date": Personal(C.IDENTITY, erase=E.NULL, correctable=True),
        "owner_id_number": Personal(C.IDENTIFICATION, erase=E.HASH, correctable=True),
        "owner_email": Personal(C.CONTACT, find_by=FindBy.EMAIL, erase=E.HASH, correctable=True),
        "owner_phone": Personal(
            C.CONTACT, find_by=FindBy.PHONE, normalised="owner_phone_e164", erase=E.NULL, correctable=True
        ),
        "owner_phone_e164": Personal(C.CONTACT, erase=E.NULL),
        "office_address": Personal(C.CONTACT, erase=E.NULL, correctable=True),
        "billing_address": Personal(C.CONTACT, erase=E.NULL, correctable=True),
        "preferred_language": Personal(C.MARKETING, erase=E.RETAIN, correctable=True),
    },
    not_personal=(
        "id",
        "business_type",
        "plan",
        "subscription_started_at",
        "churned_at",
        "country_of_origin",
        "created_at",
    ),
)

datamap.register(
    Outlet,
    description="Outlet (lokasi usaha) merchant; disimpan bersama penjualannya.",
    erasure=RowErasure.ANONYMISE,
    retained_under="tax-records",
    subject_via=("merchant",),
    personal={
        # Carries the business name: hashed like the tombstone's, never kept in clear (see above).
        "name": Personal(C.PROFESSIONAL, erase=E.HASH, correctable=True),
        "address": Personal(C.CONTACT, erase=E.NULL, correctable=True),
        "city": Personal(C.TRANSACTION, erase=E.RETAIN, correctable=True),
        "latitude": Personal(C.TECHNICAL, erase=E.NULL),
        "longitude": Personal(C.TECHNICAL, erase=E.NULL),
    },
    not_personal=("id", "merchant", "created_at"),
)

datamap.register(
    StaffUser,
    description="Pengguna aplikasi kasir: pemilik, manajer, kasir.",
    personal={
        "outlet": Personal(C.PROFESSIONAL, correctable=True),
        "name": Personal(C.IDENTITY, correctable=True),
        "username": Personal(C.IDENTITY),
        "password_hash": Personal(C.IDENTITY),
        "email": Personal(C.CONTACT, find_by=FindBy.EMAIL, correctable=True),
        "phone": Personal(C.CONTACT, find_by=FindBy.PHONE, normalised="phone_e164", correctable=True),
        "phone_e164": Personal(C.CONTACT),
        "job_title": Personal(C.PROFESSIONAL, correctable=True),
        "authorisation_level": Personal(C.PROFESSIONAL),
    },
    not_personal=("id", "merchant", "is_active", "created_at"),
)

datamap.register(
    BankAccount,
    description="Rekening bank merchant untuk pencairan dana.",
    subject_via=("merchant",),
    personal={
        "bank_name": Personal(C.FINANCIAL, correctable=True),
        "account_number": Personal(C.FINANCIAL, correctable=True),
        "account_holder": Personal(C.FINANCIAL, correctable=True),
    },
    not_personal=("id", "merchant", "created_at"),
)

datamap.register(
    LoyaltyCustomer,
    description="Pelanggan loyalitas milik merchant.",
    personal={
        "name": Personal(C.IDENTITY, correctable=True),
        "gender": Personal(C.IDENTITY, correctable=True),
        "birth_date": Personal(C.IDENTITY, correctable=True),
        "phone": Personal(C.CONTACT, find_by=FindBy.PHONE, normalised="phone_e164", correctable=True),
        "phone_e164": Personal(C.CONTACT),
        "email": Personal(C.CONTACT, find_by=FindBy.EMAIL, correctable=True),
        "loyalty_card_number": Personal(C.IDENTIFICATION),
        "points": Personal(C.TRANSACTION),
        "accepts_marketing": Personal(C.MARKETING, correctable=True),
    },
    not_personal=("id", "merchant", "created_at"),
)

BUYER, CASHIER = "buyer", "cashier"

datamap.register(
    Sale,
    description="Struk penjualan; disimpan 10 tahun untuk pajak, tanpa data pribadi.",
    erasure=RowErasure.ANONYMISE,
    retained_under="tax-records",
    dated_by="sold_at",
    subject_via=(Via("customer", party=BUYER), Via("cashier", party=CASHIER)),
    personal={
        "customer": Personal(C.TRANSACTION, erase=E.NULL, party=BUYER),
        "cashier": Personal(C.PROFESSIONAL, erase=E.NULL, party=CASHIER),
        "receipt_email": Personal(C.CONTACT, find_by=FindBy.EMAIL, erase=E.NULL, party=BUYER),
        "receipt_phone": Personal(
            C.CONTACT, find_by=FindBy.PHONE, normalised="receipt_phone_e164", erase=E.NULL, party=BUYER
        ),
        "receipt_phone_e164": Personal(C.CONTACT, erase=E.NULL, party=BUYER),
        "receipt_number": Personal(C.TRANSACTION, erase=E.RETAIN, party=BUYER),
        "subtotal": Personal(C.TRANSACTION, erase=E.RETAIN, party=BUYER),
        "tax": Personal(C.TRANSACTION, erase=E.RETAIN, party=BUYER),
        "total": Personal(C.TRANSACTION, erase=E.RETAIN, party=BUYER),
        "sold_at": Personal(C.TRANSACTION, erase=E.RETAIN, party=BUYER),
    },
    not_personal=("id", "merchant", "outlet"),
)

datamap.register(
    SaleLine,
    description="Baris struk: barang yang dibeli.",
    erasure=RowErasure.ANONYMISE,
    retained_under="tax-records",
    dated_by="sale__sold_at",
    subject_via=(Via("sale", of=BUYER),),
    personal={
        "product_name": Personal(C.TRANSACTION, erase=E.RETAIN),
        "sku": Personal(C.TRANSACTION, erase=E.RETAIN),
        "quantity": Personal(C.TRANSACTION, erase=E.RETAIN),
        "unit_price": Personal(C.TRANSACTION, erase=E.RETAIN),
        "line_total": Personal(C.TRANSACTION, erase=E.RETAIN),
    },
    not_personal=("id", "merchant", "sale"),
)

datamap.register(
    Payment,
    description="Pembayaran struk; jumlah disimpan untuk pajak, rincian kartu dan bank dihapus.",
    erasure=RowErasure.ANONYMISE,
    retained_under="tax-records",
    dated_by="sale__sold_at",
    subject_via=(Via("sale", of=BUYER),),
    personal={
        "method": Personal(C.TRANSACTION, erase=E.RETAIN),
        "bank_name": Personal(C.FINANCIAL, erase=E.NULL),
        "card_masked": Personal(C.FINANCIAL, erase=E.NULL),
        "reference": Personal(C.FINANCIAL, erase=E.NULL),
        "amount": Personal(C.TRANSACTION, erase=E.RETAIN),
        "paid_at": Personal(C.TRANSACTION, erase=E.RETAIN),
    },
    not_personal=("id", "merchant", "sale"),
)

datamap.register(
    DeviceSession,
    description="Sesi login perangkat: IP, perangkat, versi aplikasi, lokasi.",
    subject_via=("staff",),
    personal={
        "staff": Personal(C.TECHNICAL),
        "device_id": Personal(C.TECHNICAL),
        "ip_address": Personal(C.TECHNICAL),
        "user_agent": Personal(C.TECHNICAL),
        "app_version": Personal(C.TECHNICAL),
        "os_name": Personal(C.TECHNICAL),
        "latitude": Personal(C.TECHNICAL),
        "longitude": Personal(C.TECHNICAL),
        "started_at": Personal(C.TECHNICAL),
    },
    not_personal=("id", "merchant"),
)
