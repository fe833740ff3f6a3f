"""JUNOPOS reports a merchant's churn (subscription ended) and reactivation, through retention's
services: the purge is scheduled after the grace period, or cancelled. A report repeated is
harmless (the services ignore it); a merchant already purged or being purged is 409."""

from __future__ import annotations

from datetime import datetime

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema

from consent.models import ApiClient
from merchants.models import Merchant
from retention.models import ChurnEvent
from retention.services.churn import merchant_churn, merchant_reactivate

from .auth import ClientAuth, require_merchant
from .consent import Strict
from .errors import ApiError, errors
from .idempotency import idempotent

router = Router(tags=["merchants"])


class ChurnIn(Strict):
    churned_at: datetime | None = None


class ReactivationIn(Strict):
    reactivated_at: datetime | None = None


class MerchantStateOut(Schema):
    merchant_id: int
    churned_at: datetime | None
    purge_state: str | None
    purge_due_at: datetime | None


def _local(value):
    return timezone.localtime(value).isoformat() if value else None


def _state(merchant_id: int, schedule) -> dict:
    churned_at = Merchant.objects.filter(pk=merchant_id).values_list("churned_at", flat=True).first()
    return {
        "merchant_id": merchant_id, "churned_at": _local(churned_at),
        "purge_state": schedule.state if schedule else None,
        "purge_due_at": _local(schedule.due_at) if schedule else None,
    }


def _known_merchant(request, merchant_id: int) -> None:
    require_merchant(request.auth, merchant_id)
    if not Merchant.objects.filter(pk=merchant_id).exists():
        raise Http404


def _checked_time(value: datetime | None, field: str) -> datetime | None:
    if value is None:
        return None
    if timezone.is_naive(value):
        raise ApiError(422, "naive_time", _("Waktu harus menyebut zona waktunya."), field=field)
    if value > timezone.now():
        raise ApiError(422, "future_time", _("Waktu tidak boleh di masa depan."), field=field)
    return value


MERCHANT_ERRORS = errors(400, 401, 403, 404, 409, 422, 429)


@router.post(
    "/{merchant_id}/churn", response={200: MerchantStateOut, **MERCHANT_ERRORS},
    auth=ClientAuth(ApiClient.Scope.MERCHANT_WRITE), summary="The merchant's subscription ended (idempotent)",
)
def churn(request, merchant_id: int, payload: ChurnIn | None = None):
    _known_merchant(request, merchant_id)
    churned_at = _checked_time(payload.churned_at if payload else None, "churned_at")

    def work():
        schedule = merchant_churn(merchant_id=merchant_id, churned_at=churned_at, source=ChurnEvent.Source.JUNOPOS)
        return 200, _state(merchant_id, schedule)

    return idempotent(request, work=work)


@router.post(
    "/{merchant_id}/reactivation", response={200: MerchantStateOut, **MERCHANT_ERRORS},
    auth=ClientAuth(ApiClient.Scope.MERCHANT_WRITE), summary="The merchant came back (idempotent)",
)
def reactivation(request, merchant_id: int, payload: ReactivationIn | None = None):
    _known_merchant(request, merchant_id)
    at = _checked_time(payload.reactivated_at if payload else None, "reactivated_at")

    def work():
        schedule = merchant_reactivate(merchant_id=merchant_id, at=at, source=ChurnEvent.Source.JUNOPOS)
        return 200, _state(merchant_id, schedule)

    return idempotent(request, work=work)
