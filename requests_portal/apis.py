"""The data-subject requests a merchant forwards through the JUNOPOS API (OpenDSR shape).

Mounted under /api/v1/requests by junoprivacy/urls.py on the API of consent/api.

- POST   /api/v1/requests                      submit (201; a retry with the same id: 200, the same request)
- GET    /api/v1/requests/{subject_request_id} status, expected completion, the timeline of states
- DELETE /api/v1/requests/{subject_request_id} cancel while pending and not yet approved (else 409)

The subject still proves her identity by the code sent to her, as on the portal: a forwarded
request waits, `pending`, until she does. Status changes are POSTed, signed, to the callback URL
(requests_portal.services.api).
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Literal

from django.urls import reverse
from ninja import Field, Router, Schema
from pydantic import ConfigDict

from consent.models import ApiClient
from consent.api.auth import ClientAuth, require_merchant
from consent.api.errors import AUTH_ERRORS, ApiError, errors
from consent.api.idempotency import idempotent
from merchants.identifiers import normalize_email, normalize_phone

from . import services
from .services.api import API_STATUS, REQUEST_TYPES, ApiRequestRefused

router = Router(tags=["requests"])

RequestType = Literal[tuple(REQUEST_TYPES)]  # type: ignore[valid-type]
RequestStatus = Literal[tuple(dict.fromkeys(API_STATUS.values()))]  # type: ignore[valid-type]


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class SubjectIdentityIn(Strict):
    identity_type: Literal["email", "phone_number"]
    identity_value: str = Field(..., min_length=1, max_length=254)
    identity_format: Literal["raw"] = "raw"


class RequestIn(Strict):
    subject_request_id: str = Field(
        ..., min_length=1, max_length=100, description="Chosen by the caller, unique per client: a retry with the "
        "same id returns the request the first call made.",
    )
    subject_request_type: RequestType = Field(
        ..., description="OpenDSR's access, portability, erasure, rectification; and withdrawal, restriction, "
        "objection (of consent to the purposes named in `purposes`).",
    )
    subject_identities: list[SubjectIdentityIn] = Field(..., min_length=1, max_length=2)
    merchant_id: int = Field(..., ge=1, description="The shop forwarding its customer's request.")
    status_callback_urls: list[str] = Field(
        default_factory=list, description="At most one https URL; the client's own callback URL when empty.",
    )
    language: Literal["id", "en"] = "id"
    details: str = Field("", max_length=5000)
    purposes: list[str] = Field(default_factory=list, max_length=10, description="Purpose keys (withdrawal, "
                                "restriction, objection).")
    subject_name: str = Field("", max_length=200)
    wrong_data: str = Field("", max_length=5000, description="Rectification: what is wrong.")
    correct_data: str = Field("", max_length=5000, description="Rectification: what is right.")
    # OpenDSR fields a caller may send; not used.
    api_version: str | None = Field(None, max_length=10)
    submitted_time: datetime | None = None


class TimelineItem(Schema):
    time: datetime
    state: str
    request_status: RequestStatus


class RequestOut(Schema):
    subject_request_id: str
    request_reference: str = Field(..., description="DSR-YYYY-NNNNNN, what the subject and officers call it.")
    subject_request_type: str
    request_status: RequestStatus
    state: str = Field(..., description="The workflow's own state.")
    denial_reason: str | None = Field(None, description="Of a denied request: the reason code.")
    received_time: datetime
    expected_completion_time: datetime | None = Field(
        None, description="The due time once the subject has proven her identity; before that an estimate "
        "(now plus the legal period), as `expected_completion_is_estimate` says.",
    )
    expected_completion_is_estimate: bool
    status_url: str
    timeline: list[TimelineItem]


def _out(http_request, dsr) -> dict:
    data = services.api_request_status(dsr)
    namespace = http_request.resolver_match.namespace if http_request.resolver_match else ""
    path = reverse(f"{namespace}:dsr_status" if namespace else "dsr_status",
                   kwargs={"subject_request_id": dsr.external_id})
    data["status_url"] = http_request.build_absolute_uri(path)
    return data


def _api_error(exc: ApiRequestRefused) -> ApiError:
    details = [
        {"field": field, "code": exc.code, "message": str(message)}
        for field, messages in exc.details.items() for message in messages
    ]
    return ApiError(exc.status, exc.code, str(exc.message), field=exc.field, details=details)


def _subject(payload: RequestIn) -> SimpleNamespace:
    # Kept beside an idempotency key, so that the subject's erasure reaches its stored answer.
    email = phone = None
    for identity in payload.subject_identities:
        if identity.identity_type == "email":
            email = normalize_email(identity.identity_value)
        else:
            phone = normalize_phone(identity.identity_value)
    return SimpleNamespace(email=email, phone=phone)


@router.post(
    "", response={200: RequestOut, 201: RequestOut, **errors(*AUTH_ERRORS)}, url_name="dsr_submit",
    auth=ClientAuth(ApiClient.Scope.REQUEST_WRITE), summary="Forward a data-subject request (OpenDSR)",
)
def submit(request, payload: RequestIn):
    require_merchant(request.auth, payload.merchant_id)

    def work():
        try:
            dsr, created = services.request_api_submit(
                client=request.auth, subject_request_id=payload.subject_request_id,
                subject_request_type=payload.subject_request_type,
                subject_identities=[identity.dict() for identity in payload.subject_identities],
                merchant_id=payload.merchant_id, status_callback_urls=payload.status_callback_urls,
                language=payload.language, details=payload.details, purposes=payload.purposes,
                subject_name=payload.subject_name, wrong_data=payload.wrong_data, correct_data=payload.correct_data,
            )
        except ApiRequestRefused as exc:
            raise _api_error(exc) from None
        return (201 if created else 200), _out(request, dsr)

    return idempotent(request, work=work, subject=_subject(payload))


@router.get(
    "/{subject_request_id}", response={200: RequestOut, **errors(*AUTH_ERRORS, 404)}, url_name="dsr_status",
    auth=ClientAuth(ApiClient.Scope.REQUEST_WRITE), summary="The status of a forwarded request",
)
def status(request, subject_request_id: str):
    try:
        dsr = services.api_request_find(client=request.auth, subject_request_id=subject_request_id)
    except ApiRequestRefused as exc:
        raise _api_error(exc) from None
    return _out(request, dsr)


@router.delete(
    "/{subject_request_id}", response={200: RequestOut, **errors(*AUTH_ERRORS, 404, 409)}, url_name="dsr_cancel",
    auth=ClientAuth(ApiClient.Scope.REQUEST_WRITE), summary="Cancel a forwarded request while it is pending",
)
def cancel(request, subject_request_id: str):
    try:
        dsr = services.request_api_cancel(client=request.auth, subject_request_id=subject_request_id)
    except ApiRequestRefused as exc:
        raise _api_error(exc) from None
    return _out(request, dsr)
