"""The disclosure register: JUNOPOS reports each disclosure to a third party.

An allowed disclosure answers 201 with it. A refused one is recorded too (the register keeps
refusals) and answers 403 in the error shape with code `disclosure_refused`, the refusal's own
code and message in `details`, and the recorded disclosure beside the error (`disclosure`).
Input that names nothing known (recipient, purpose, category, merchant) is 422 and recorded nowhere.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from consent.exceptions import ConsentError
from consent.models import ApiClient, Disclosure
from consent.services import disclosure_record, subject_ref

from .auth import ClientAuth, require_merchant
from .consent import Strict
from .errors import ErrorBody, ErrorOut, error_body, errors
from .idempotency import idempotent

router = Router(tags=["disclosures"])


class DisclosureIn(Strict):
    recipient_id: int = Field(..., ge=1)
    purpose: str = Field(..., max_length=40)
    categories: list[str] = Field(..., min_length=1, max_length=20)
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=64)
    merchant_id: int | None = Field(None, ge=1)
    occurred_at: datetime | None = None
    reference: str | None = Field(None, max_length=64)


class DisclosureOut(Schema):
    id: int
    outcome: str
    refusal: str | None
    recipient_id: int
    purpose: str
    basis: str
    categories: list[str]
    transfer_abroad: bool
    merchant_id: int | None
    occurred_at: datetime
    recorded_at: datetime
    reference: str


class DisclosureRefusedOut(Schema):
    error: ErrorBody
    disclosure: DisclosureOut


def disclosure_out(disclosure: Disclosure) -> dict:
    return {
        "id": disclosure.pk, "outcome": disclosure.outcome, "refusal": disclosure.refusal or None,
        "recipient_id": disclosure.recipient_id, "purpose": disclosure.purpose.key, "basis": disclosure.basis,
        "categories": list(disclosure.categories), "transfer_abroad": disclosure.transfer_abroad,
        "merchant_id": disclosure.merchant_id,
        "occurred_at": timezone.localtime(disclosure.occurred_at).isoformat(),
        "recorded_at": timezone.localtime(disclosure.recorded_at).isoformat(),
        "reference": disclosure.reference,
    }


@router.post(
    "", response={201: DisclosureOut, 403: DisclosureRefusedOut | ErrorOut, **errors(400, 401, 409, 422, 429)},
    auth=ClientAuth(ApiClient.Scope.DISCLOSURE_WRITE),
    summary="Record a disclosure (idempotent); a refused one is recorded and answered 403 disclosure_refused",
)
def record_disclosure(request, payload: DisclosureIn):
    require_merchant(request.auth, payload.merchant_id, write=True)
    subject = None
    if payload.email or payload.phone:
        subject = subject_ref(email=payload.email, phone=payload.phone, merchant_id=payload.merchant_id)

    def work():
        try:
            disclosure = disclosure_record(
                recipient=payload.recipient_id, purpose=payload.purpose, categories=payload.categories,
                subject=subject, merchant_id=payload.merchant_id, occurred_at=payload.occurred_at,
                client=request.auth, reference=payload.reference or "",
            )
        except ConsentError as exc:
            if exc.field == "recipient":
                exc.field = "recipient_id"
            raise
        data = disclosure_out(disclosure)
        if disclosure.outcome == Disclosure.Outcome.ALLOWED:
            return 201, data
        refusal = Disclosure.Refusal(disclosure.refusal)
        body = error_body(
            "disclosure_refused", _("Pengungkapan ditolak dan dicatat: %(reason)s") % {"reason": refusal.label},
            details=[{"field": None, "code": refusal.value, "message": str(refusal.label)}],
        )
        return 403, {**body, "disclosure": data}

    return idempotent(request, work=work, subject=subject)
