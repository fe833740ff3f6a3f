import hashlib
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from consent.services import disclosure_record, subject_ref
from consent.tests.factories import RecipientFactory, record
from merchants.tests.factories import (
    BankAccountFactory, DeviceSessionFactory, LoyaltyCustomerFactory, MerchantFactory, OutletFactory,
    PaymentFactory, SaleFactory, SaleLineFactory, StaffUserFactory,
)
from messaging.models import OutboundMessage
from requests_portal.models import DataSubjectRequest
from requests_portal.services import request_enter, request_refuse, request_submit, request_withdraw
from requests_portal.services.intake import Upload
from retention.registry import datamap


def merchant_checksum(merchant_id: int) -> str:
    """A digest of every row, live and history, the data map ties to one merchant."""
    digest = hashlib.sha256()
    for entry in sorted(datamap, key=lambda e: e.label):
        if not entry.merchant:
            continue
        for model in filter(None, (entry.model, entry.history_model)):
            columns = [f.attname for f in model._meta.concrete_fields]
            order = "history_id" if model is entry.history_model else "pk"
            for row in model._default_manager.filter(**{entry.merchant: merchant_id}).order_by(order).values_list(*columns):
                digest.update(repr(row).encode())
    return digest.hexdigest()


def build_shop(*, customers=3, sales=4, email_domain="contoh.co.id"):
    """A merchant with one of everything the data map governs, history included."""
    shop = MerchantFactory()
    outlet = OutletFactory(merchant=shop)
    staff = StaffUserFactory.create_batch(2, merchant=shop, outlet=outlet)
    BankAccountFactory(merchant=shop)
    people = LoyaltyCustomerFactory.create_batch(customers, merchant=shop)
    for person in people:  # a change, so the history holds an older copy
        person.name = person.name + " (ubah)"
        person.save()
    for i in range(sales):
        sale = SaleFactory(
            merchant=shop, outlet=outlet, cashier=staff[i % 2], customer=people[i % customers],
            receipt_email=f"struk{i}@{email_domain}", receipt_phone=f"08570000{i:04d}",
        )
        SaleLineFactory.create_batch(2, sale=sale)
        PaymentFactory(sale=sale)
    for member in staff:
        DeviceSessionFactory(merchant=shop, staff=member)
    # Her choices in the consent ledger (and so its state) and a disclosure of her data.
    buyer = people[0]
    record(
        email=buyer.email, phone=buyer.phone, merchant=shop, purpose="marketing", action="given",
        ip_address="203.0.113.7", user_agent="JUNOPOS-Till/5.2",
    )
    record(phone=buyer.phone, merchant=shop, purpose="research", action="restricted")
    partner = RecipientFactory(purposes=["marketing"])
    disclosure_record(
        recipient=partner, purpose="marketing", categories=["contact"],
        subject=subject_ref(email=buyer.email, phone=buyer.phone, merchant_id=shop.pk),
    )
    OutboundMessage.objects.create(  # a message about the shop, sent to its owner
        kind="purge_warning", to_email=shop.owner_email or "pemilik@contoh.co.id", merchant=shop,
        subject=f"Data {shop.business_name} akan dihapus", body=f"Yth. {shop.owner_name}", state="sent",
        sent_at=shop.subscription_started_at, attempts=1,
    )
    return shop


@pytest.fixture(autouse=True)
def _phone_messages_in_tmp(settings, tmp_path):
    # Requests send codes by WhatsApp; without a gateway each message is written as a file.
    settings.PHONE_OUTBOX_DIR = tmp_path / "sms"


@pytest.fixture
def shop(db):
    return build_shop()


@pytest.fixture
def bystander(db):
    return build_shop(email_domain="tetangga.id")


PHONE_SPELLINGS = ["081234567890", "6281234567890", "+62 812-3456-7890"]


@pytest.fixture
def siti():
    """Siti: loyalty customer of three shops, cashier at one, digital receipts at a fourth."""
    shops = MerchantFactory.create_batch(4)
    customers = [
        LoyaltyCustomerFactory(merchant=shop, name="Siti Rahayu", phone=spelling, email=email)
        for shop, spelling, email in zip(
            shops[:3], PHONE_SPELLINGS, ["siti.rahayu@gmail.com", "Siti.Rahayu@Gmail.com", ""]
        )
    ]
    cashier = StaffUserFactory(merchant=shops[0], name="Siti Rahayu", email="", phone="0812 3456 7890")
    DeviceSessionFactory.create_batch(2, merchant=shops[0], staff=cashier)
    bought = SaleFactory.create_batch(3, merchant=shops[1], customer=customers[1])
    for sale in bought:
        SaleLineFactory.create_batch(2, sale=sale)
        PaymentFactory(sale=sale)
    receipts = SaleFactory.create_batch(2, merchant=shops[3], receipt_email="SITI.RAHAYU@gmail.com")
    PaymentFactory(sale=receipts[0])

    # Someone else, everywhere, who must never be found.
    other = LoyaltyCustomerFactory(merchant=shops[1], phone="081299999999", email="budi@contoh.co.id")
    other_sale = SaleFactory(merchant=shops[1], customer=other, receipt_phone="081299999999")
    PaymentFactory(sale=other_sale)
    SaleLineFactory(sale=other_sale)
    DeviceSessionFactory(merchant=shops[0])
    return {"shops": shops, "customers": customers, "cashier": cashier}


def deliver_warnings(schedule, *, at=None):
    """Every warning of the schedule's rule, delivered at `at` (default: the churn itself)."""
    from messaging.models import OutboundMessage
    from retention.models import PurgeWarning

    at = at or schedule.churned_at
    for days in schedule.rule.warnings:
        message = OutboundMessage.objects.create(
            kind="purge_warning", to_email=schedule.merchant.owner_email or "pemilik@contoh.co.id",
            merchant=schedule.merchant, subject=f"Data {schedule.merchant.business_name} akan dihapus dalam {days} hari",
            body=f"Yth. {schedule.merchant.owner_name}, ...", state=OutboundMessage.State.SENT,
            sent_at=at, attempts=1,
        )
        PurgeWarning.objects.create(schedule=schedule, days=days, message=message, created_at=at)
    schedule.refresh_from_db()
    return schedule


def warned_schedule(shop, *, churned_days_ago: int = 60):
    """A churned merchant whose purge is due and whose warnings were delivered long enough ago."""
    from datetime import timedelta

    from django.utils import timezone

    from retention import services

    schedule = services.merchant_churn(merchant_id=shop.pk, churned_at=timezone.now() - timedelta(days=churned_days_ago))
    return deliver_warnings(schedule)


def member_of(group: str, username: str | None = None):
    """A staff user in one of the officers' groups (the migrations create them)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user(username or group.split()[0].lower(), password="x" * 12, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


# -- the portal's own requests, made through the request services ----------------------------

PDF = b"%PDF-1.4\n% surat kuasa bermeterai\n"


def submitted(*, name: str, email: str, phone: str = "", shop: str = "Warung Sumber Rejeki", merchant=None,
              withdraw: bool = True) -> DataSubjectRequest:
    """A correction asked for on someone's behalf through the public form (codes, a letter of
    authority, messages), then withdrawn by the requester (closed)."""
    request, _created = request_submit(
        submission_key=uuid.uuid4().hex, right="correction",  # random, as the form's: it names no one
        subject_role="customer", requester_name=name, email=email, phone=phone, shop_name=shop,
        merchant_id=merchant.pk if merchant else None, is_representative=True, subject_name=f"Ibunda {name}",
        wrong_data=f"Alamat lama {name}: Jl. Melati No. 7", correct_data=f"Alamat baru {name}: Jl. Kenanga No. 12",
        authorisation=Upload(f"surat-kuasa-{name.split()[0].lower()}.pdf", PDF + name.encode()), language="id",
    )
    if withdraw:
        request_withdraw(request_id=request.pk)
    return DataSubjectRequest.objects.get(pk=request.pk)


def entered(officer, *, name: str, email: str, phone: str) -> DataSubjectRequest:
    """A request that came by e-mail, entered by an officer with notes, then refused (closed)."""
    request = request_enter(
        actor=officer, channel="email", right="access", subject_role="customer", requester_name=name, email=email,
        phone=phone, shop_name="Toko Kelontong Makmur", language="id",
        original_message=f"Selamat siang, saya {name}, mohon salinan data saya.",
        identity_method=f"KTP atas nama {name} dicocokkan lewat panggilan video",
        note=f"Masuk dari kotak surat, pengirim {email}",
    )
    request_refuse(
        request_id=request.pk, actor=officer, reason="identity", text=f"Foto KTP {name} tidak terbaca.",
    )
    return DataSubjectRequest.objects.get(pk=request.pk)


def closed(request: DataSubjectRequest, *, ago: timedelta, now=None) -> DataSubjectRequest:
    """Move a request's closing back in time (the closing time is not in its audit chain)."""
    DataSubjectRequest.objects.filter(pk=request.pk).update(closed_at=(now or timezone.now()) - ago)
    return DataSubjectRequest.objects.get(pk=request.pk)
