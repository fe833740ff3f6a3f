"""Demo consent data for `scripts/run`: the recipient register, consent events of the demo shops'
customers as JUNOPOS would report them, a few disclosures (one refused), and a demo API client.

Everything goes through the services, so the demo rows are what real use would leave. For
demonstration only: never in production (the API token is printed and written under var/).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from merchants.models import LoyaltyCustomer, Merchant

from .models import ApiClient, Recipient
from .selectors import purposes_by_key
from .services import api_client_create, consent_record, disclosure_record, subject_ref

RECIPIENTS = [
    # name, kind, country, categories, purposes, erasure contact, description
    ("PT Bayar Cepat Nusantara", "payment", "ID", ["identity", "contact", "financial", "transaction"],
     ["transactions"], "privasi@bayarcepat.example", "Payment gateway for card and QRIS payments."),
    ("PT Kirim Kilat Indonesia", "delivery", "ID", ["identity", "contact", "transaction"],
     ["transactions", "transaction-contact"], "dpo@kirimkilat.example", "Delivery partner for online orders."),
    ("PT Verifikasi Identitas Digital", "kyc", "ID", ["identity", "identification", "contact", "financial"],
     ["kyc"], "privacy@verifid.example", "KYC provider: e-KTP and bank-account checks of merchants."),
    ("Awan Data Pte. Ltd.", "storage", "SG", ["identity", "identification", "contact", "professional", "financial",
     "transaction", "marketing", "technical"], ["transactions", "support", "service-improvement"],
     "dpo@awandata.example", "Cloud storage and backups (Singapore region)."),
    ("Mitra Promosi Amaya", "affiliate", "ID", ["identity", "contact", "marketing"], ["marketing"],
     "privasi@mitrapromosi.example", "Affiliate sending JUNOPOS promotions on our behalf."),
    ("Direktorat Tindak Pidana Siber", "law_enforcement", "ID", ["identity", "identification", "contact",
     "financial", "transaction", "technical"], ["law-enforcement"], "dittipidsiber@polri.example",
     "Law enforcement: disclosures only on an official, lawful request."),
]


@dataclass
class DemoConsent:
    recipients: int = 0
    events: int = 0
    disclosures: int = 0
    refused: int = 0
    token: str = ""
    notes: list[str] = field(default_factory=list)


def _past(moment):
    return min(moment, timezone.now())


def seed_consent_demo(*, seed: int = 2026) -> DemoConsent:
    """Fill the register and the ledger once (nothing if the register has rows already)."""
    result = DemoConsent()
    if Recipient.objects.exists():
        return result
    rng = random.Random(seed)
    purposes = purposes_by_key()
    with transaction.atomic():
        recipients = {}
        for name, kind, country, categories, keys, contact, description in RECIPIENTS:
            recipient = Recipient.objects.create(
                name=name, kind=kind, country=country, categories=categories, erasure_contact=contact,
                description=description,
            )
            recipient.purposes.set([purposes[k] for k in keys])
            recipients[kind] = recipient
        result.recipients = len(recipients)
        customers = LoyaltyCustomer.objects.select_related("merchant").order_by("pk")
        for customer in customers[:400]:
            if not (customer.email or customer.phone):
                continue
            subject = subject_ref(email=customer.email or None, phone=customer.phone or None,
                                  merchant_id=customer.merchant_id)
            if customer.accepts_marketing:
                consent_record(subject=subject, purpose="marketing", action="given", channel="till",
                               occurred_at=customer.created_at, text_shown="Mau terima promo dari toko ini? Ya.")
                result.events += 1
                if rng.random() < 0.15:
                    consent_record(subject=subject, purpose="marketing", action="withdrawn", channel="app",
                                   occurred_at=_past(customer.created_at + timedelta(days=rng.randint(1, 90))))
                    result.events += 1
            if rng.random() < 0.05:
                consent_record(subject=subject, purpose="research", action="withdrawn", channel="app",
                               occurred_at=_past(customer.created_at + timedelta(days=rng.randint(1, 30))))
                result.events += 1
            if customer.accepts_marketing and rng.random() < 0.3:
                disclosure_record(recipient=recipients["delivery"], purpose="transactions",
                                  categories=["contact", "identity"], subject=subject,
                                  occurred_at=_past(customer.created_at + timedelta(days=1)))
                result.disclosures += 1
        for merchant in Merchant.objects.filter(churned_at__isnull=True).order_by("pk")[:6]:
            disclosure_record(recipient=recipients["kyc"], purpose="kyc", categories=["identity", "identification"],
                              merchant_id=merchant.pk, occurred_at=merchant.subscription_started_at)
            result.disclosures += 1
        # A refused one, as an officer would find it in the register: promotions to a customer who never agreed.
        quiet = customers.filter(accepts_marketing=False).exclude(email="").first()
        if quiet is not None:
            disclosure_record(recipient=recipients["affiliate"], purpose="marketing", categories=["contact"],
                              subject=subject_ref(email=quiet.email, merchant_id=quiet.merchant_id))
            result.disclosures += 1
            result.refused += 1
    if not ApiClient.objects.exists():
        _, result.token = api_client_create(
            name="JUNOPOS (demo)", scopes=ApiClient.Scope.values, all_merchants=True,
        )
    return result
