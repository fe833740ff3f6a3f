"""The disclosure register: every disclosure JUNOPOS reports, allowed or refused, is recorded.

A disclosure is allowed only when the recipient is registered (active) for that purpose and those
categories, the purpose uses those categories, and the subject's choices allow the purpose (the
consent check: consent given where consent is the basis, no objection to a legitimate interest,
no restriction). A refused one is recorded too, with its reason, and the caller is told it.
Input that cannot be read (an unknown recipient, category or purpose) is refused and recorded
nowhere: there is no disclosure to speak of.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from merchants.models import Merchant
from retention.registry import Category

from ..exceptions import ConsentError
from ..models import Disclosure, LegalBasis, Purpose, Recipient
from ..selectors import Reason, consent_check, purpose_get
from .ledger import CLOCK_SKEW, SubjectRef

REFUSAL_OF_REASON = {
    Reason.NO_CONSENT: Disclosure.Refusal.NO_CONSENT,
    Reason.CONSENT_WITHDRAWN: Disclosure.Refusal.CONSENT_WITHDRAWN,
    Reason.OBJECTED: Disclosure.Refusal.OBJECTED,
    Reason.RESTRICTED: Disclosure.Refusal.RESTRICTED,
}


def disclosure_record(
    *,
    recipient: Recipient | int,
    purpose: Purpose | str,
    categories: Sequence[str],
    subject: SubjectRef | None = None,
    merchant_id: int | None = None,
    occurred_at: datetime | None = None,
    client=None,
    actor=None,
    reference: str = "",
) -> Disclosure:
    """Record a disclosure; its `outcome` says whether it was allowed (and `refusal` why not)."""
    if not isinstance(recipient, Recipient):
        recipient = Recipient.objects.filter(pk=recipient).prefetch_related("purposes").first()
        if recipient is None:
            raise ConsentError(_("Penerima tidak terdaftar."), code="unknown_recipient", field="recipient")
    purpose = purpose_get(purpose) if isinstance(purpose, str) else purpose
    categories = sorted(set(categories))
    unknown = [c for c in categories if c not in Category.values]
    if not categories or unknown:
        raise ConsentError(
            _("Kategori data tidak dikenal: %(categories)s.") % {"categories": ", ".join(unknown) or "-"},
            code="unknown_category", field="categories",
        )
    merchant_id = subject.merchant_id if subject is not None and merchant_id is None else merchant_id
    if subject is None and merchant_id is None:
        raise ConsentError(_("Sebutkan subjek data atau merchant-nya."), code="no_subject", field="email")
    if merchant_id is not None and not Merchant.objects.filter(pk=merchant_id).exists():
        raise ConsentError(_("Merchant tidak dikenal."), code="unknown_merchant", field="merchant_id")
    occurred_at = occurred_at or timezone.now()
    if timezone.is_naive(occurred_at) or occurred_at > timezone.now() + CLOCK_SKEW:
        raise ConsentError(_("Waktu pengungkapan tidak valid."), code="invalid_time", field="occurred_at")

    refusal = _refusal(recipient, purpose, categories, subject, merchant_id)
    with transaction.atomic():
        return Disclosure.objects.create(
            recipient=recipient, merchant_id=merchant_id,
            email=(subject.email or "") if subject else "", phone=(subject.phone or "") if subject else "",
            categories=categories, purpose=purpose, basis=purpose.basis, transfer_abroad=recipient.abroad,
            occurred_at=occurred_at, outcome=Disclosure.Outcome.REFUSED if refusal else Disclosure.Outcome.ALLOWED,
            refusal=refusal or "", client=client, entered_by=actor, reference=(reference or "")[:64],
        )


def _refusal(recipient, purpose, categories, subject, merchant_id) -> str | None:
    if not recipient.active:
        return Disclosure.Refusal.RECIPIENT_INACTIVE
    if purpose.pk not in {p.pk for p in recipient.purposes.all()}:
        return Disclosure.Refusal.PURPOSE_NOT_REGISTERED
    if not set(categories) <= set(recipient.categories):
        return Disclosure.Refusal.CATEGORY_NOT_REGISTERED
    if not set(categories) <= set(purpose.categories):
        return Disclosure.Refusal.CATEGORY_NOT_IN_PURPOSE
    if subject is None:
        # A merchant's own data (its KYC): only a basis other than consent allows it without a person's choice.
        return Disclosure.Refusal.NO_CONSENT if purpose.basis == LegalBasis.CONSENT else None
    decision = consent_check(identifiers=subject.identifiers, merchant_id=merchant_id, purpose=purpose)
    return None if decision.allowed else REFUSAL_OF_REASON[decision.reason]
