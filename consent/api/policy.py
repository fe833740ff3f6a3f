"""The policy in force, and JUNOPOS's report that a merchant accepted a version by continued use."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.http import Http404
from django.utils import timezone, translation
from ninja import Field, Router, Schema

from consent.models import ApiClient, Channel
from consent.selectors import policy_current
from consent.services import policy_accept

from .auth import ClientAuth, require_merchant
from .consent import Strict
from .errors import errors
from .idempotency import idempotent

router = Router(tags=["policy"])


class PolicyOut(Schema):
    version: str
    content_hash: str
    effective_at: datetime
    url: str


class AcceptanceIn(Strict):
    merchant_id: int = Field(..., ge=1)
    version: str = Field(..., max_length=20)
    accepted_at: datetime | None = None


class AcceptanceOut(Schema):
    merchant_id: int
    version: str
    accepted_at: datetime
    recorded_at: datetime
    created: bool


@router.get("/current", response={200: PolicyOut, **errors(401, 404, 429)}, auth=ClientAuth(),
            summary="The published policy in force")
def current(request):
    version = policy_current()
    if version is None:
        raise Http404
    prefix = "/en" if (translation.get_language() or "").startswith("en") else ""
    return {
        "version": version.version, "content_hash": version.content_hash,
        "effective_at": timezone.localtime(version.effective_at),
        "url": f"{settings.PORTAL_URL.rstrip('/')}{prefix}/kebijakan/{version.version}/",
    }


@router.post(
    "/acceptances", response={200: AcceptanceOut, 201: AcceptanceOut, **errors(400, 401, 403, 409, 422, 429)},
    auth=ClientAuth(ApiClient.Scope.POLICY_WRITE),
    summary="A merchant accepted a version by continued use: 201 recorded, 200 already recorded",
)
def accept(request, payload: AcceptanceIn):
    require_merchant(request.auth, payload.merchant_id)

    def work():
        acceptance, created = policy_accept(
            merchant_id=payload.merchant_id, version=payload.version, accepted_at=payload.accepted_at,
            channel=Channel.API, client=request.auth,
        )
        return (201 if created else 200), {
            "merchant_id": acceptance.merchant_id, "version": acceptance.version.version,
            "accepted_at": timezone.localtime(acceptance.accepted_at).isoformat(),
            "recorded_at": timezone.localtime(acceptance.recorded_at).isoformat(), "created": created,
        }

    return idempotent(request, work=work)
