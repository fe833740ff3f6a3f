"""Consent: the check ("may I?", one subject or a batch of up to 1,000) and recording events.

The single check is the hot path (bench/consent.py): the token's one indexed query, the check's
one query on the state table (purposes come from the in-process cache), nothing written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import JsonResponse
from django.utils import timezone
from ninja import Field, Router, Schema
from pydantic import BaseModel, ConfigDict, IPvAnyAddress

from consent.models import ApiClient, Channel, ConsentEvent
from consent.selectors import CheckItem, Decision, consent_check, consent_check_many, purpose_get
from consent.services import consent_record, subject_ref

from .auth import ClientAuth, require_merchant
from .errors import AUTH_ERRORS, errors
from .idempotency import idempotent

router = Router(tags=["consent"])

BATCH_MAX = 1000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubjectIn(Strict):
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=64)
    merchant_id: int | None = Field(None, ge=1)


class CheckIn(SubjectIn):
    purpose: str = Field(..., max_length=40)


class CheckOut(Schema):
    allowed: bool
    purpose: str
    basis: str
    reason: str
    event_id: int | None
    decided_at: datetime | None


class BatchIn(Strict):
    checks: list[CheckIn] = Field(..., min_length=1, max_length=BATCH_MAX)


class BatchOut(Schema):
    results: list[CheckOut]


class EventIn(SubjectIn):
    purpose: str = Field(..., max_length=40)
    action: Literal["given", "withdrawn", "restricted", "unrestricted"]
    occurred_at: datetime | None = None
    policy_version: str | None = Field(None, max_length=20)
    channel: Literal["till", "app", "api"] = Channel.API.value
    ip_address: IPvAnyAddress | None = None
    user_agent: str | None = Field(None, max_length=400)
    text_shown: str | None = Field(None, max_length=10000)
    reference: str | None = Field(None, max_length=64)


class EventOut(Schema):
    id: int
    purpose: str
    action: str
    channel: str
    merchant_id: int | None
    email: str | None
    phone: str | None
    occurred_at: datetime
    recorded_at: datetime
    policy_version: str | None
    reference: str


def decision_out(decision: Decision) -> dict:
    return {
        "allowed": decision.allowed, "purpose": decision.purpose, "basis": decision.basis, "reason": decision.reason,
        "event_id": decision.event_id,
        "decided_at": timezone.localtime(decision.decided_at) if decision.decided_at else None,
    }


def event_out(event: ConsentEvent) -> dict:
    return {
        "id": event.pk, "purpose": event.purpose.key, "action": event.action, "channel": event.channel,
        "merchant_id": event.merchant_id, "email": event.email or None, "phone": event.phone or None,
        "occurred_at": timezone.localtime(event.occurred_at).isoformat(),
        "recorded_at": timezone.localtime(event.recorded_at).isoformat(),
        "policy_version": event.policy_version.version if event.policy_version_id else None,
        "reference": event.reference,
    }


@router.post(
    "/check", response={200: CheckOut, **errors(*AUTH_ERRORS)}, auth=ClientAuth(ApiClient.Scope.CONSENT_READ),
    summary="May this subject's data be used for this purpose?",
)
def check(request, payload: CheckIn):
    require_merchant(request.auth, payload.merchant_id)
    purpose = purpose_get(payload.purpose)
    subject = subject_ref(email=payload.email, phone=payload.phone, merchant_id=payload.merchant_id)
    decision = consent_check(identifiers=subject.identifiers, merchant_id=subject.merchant_id, purpose=purpose)
    # Answered as is, not through the response schema again: the body is decision_out's, of the
    # declared shape (the tests validate every answer against the OpenAPI document).
    return JsonResponse(decision_out(decision))


@router.post(
    "/check-batch", response={200: BatchOut, **errors(*AUTH_ERRORS)},
    auth=ClientAuth(ApiClient.Scope.CONSENT_READ), summary="Up to 1,000 checks in one call, answered in order",
)
def check_batch(request, payload: BatchIn):
    items = []
    for index, item in enumerate(payload.checks):
        require_merchant(request.auth, item.merchant_id, field=f"checks.{index}.merchant_id")
        try:
            purpose = purpose_get(item.purpose)
            subject = subject_ref(email=item.email, phone=item.phone, merchant_id=item.merchant_id)
        except Exception as exc:
            if getattr(exc, "field", None):
                exc.field = f"checks.{index}.{exc.field}"
            raise
        items.append(CheckItem(identifiers=tuple(subject.identifiers), merchant_id=item.merchant_id, purpose=purpose))
    return JsonResponse({"results": [decision_out(d) for d in consent_check_many(items)]})


@router.post(
    "/events", response={201: EventOut, **errors(*AUTH_ERRORS, 409)},
    auth=ClientAuth(ApiClient.Scope.CONSENT_WRITE), summary="Record a consent event (idempotent)",
)
def record_event(request, payload: EventIn):
    require_merchant(request.auth, payload.merchant_id, write=True)
    subject = subject_ref(email=payload.email, phone=payload.phone, merchant_id=payload.merchant_id)

    def work():
        event = consent_record(
            subject=subject, purpose=payload.purpose, action=payload.action, channel=payload.channel,
            occurred_at=payload.occurred_at, policy_version=payload.policy_version, ip_address=str(payload.ip_address) if payload.ip_address else None,
            user_agent=payload.user_agent or "", text_shown=payload.text_shown or "", client=request.auth,
            reference=payload.reference or "",
        )
        return 201, event_out(event)

    return idempotent(request, work=work, subject=subject)
