"""Legal holds: placed by an officer, lifted by the data protection officer, each with a reason."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from merchants.identifiers import normalize_email, normalize_phone
from merchants.models import Merchant

from ..exceptions import RetentionError
from ..models import LegalHold
from .common import require_permission


def hold_validate(
    *,
    reason: str,
    detail: str,
    merchant_id: int | None = None,
    subject_email: str = "",
    subject_phone: str = "",
    ends_at: datetime | None = None,
) -> dict:
    """Check a hold before it is placed; returns its normalised fields or raises RetentionError."""
    email = normalize_email(subject_email) or ""
    if subject_email and not email:
        raise RetentionError(_("Alamat e-mail subjek tidak valid."))
    phone = normalize_phone(subject_phone) or ""
    if subject_phone and not phone:
        raise RetentionError(_("Nomor telepon subjek tidak valid."))
    if not (merchant_id or email or phone):
        raise RetentionError(_("Penahanan harus mencakup merchant atau subjek data (e-mail atau telepon)."))
    if not detail or not detail.strip():
        raise RetentionError(_("Tuliskan keterangan penahanan (mis. nomor surat)."))
    if reason not in LegalHold.Reason.values:
        raise RetentionError(_("Pilih alasan penahanan."))
    if ends_at is not None and ends_at <= timezone.now():
        raise RetentionError(_("Tanggal berakhir harus di masa depan."))
    if merchant_id and not Merchant.objects.filter(pk=merchant_id).exists():
        raise RetentionError(_("Merchant %(id)s tidak ditemukan.") % {"id": merchant_id})
    return {
        "merchant_id": merchant_id or None, "subject_email": email, "subject_phone": phone, "reason": reason,
        "detail": detail.strip(), "ends_at": ends_at,
    }


def hold_place(*, actor, **fields) -> LegalHold:
    """Place a legal hold: every erasure it covers stops until it is lifted or ends."""
    require_permission(actor, "retention.place_legalhold", what=_("memasang penahanan hukum"), system_allowed=False)
    hold = LegalHold(placed_by=actor, **hold_validate(**fields))
    try:
        hold.full_clean()
    except ValidationError as exc:
        raise RetentionError("; ".join(exc.messages)) from None
    hold.save()
    return hold


def hold_lift(*, hold_id: int, actor, reason: str) -> LegalHold:
    """Lift a hold (the data protection officer): the erasures it stopped may go on."""
    require_permission(actor, "retention.lift_legalhold", what=_("mencabut penahanan hukum"), system_allowed=False)
    if not reason or not reason.strip():
        raise RetentionError(_("Tuliskan alasan pencabutan penahanan."))
    with transaction.atomic():
        hold = LegalHold.objects.select_for_update().get(pk=hold_id)
        if hold.lifted_at is not None:
            raise RetentionError(_("Penahanan ini sudah dicabut."))
        hold.lifted_at = timezone.now()
        hold.lifted_by = actor
        hold.lift_reason = reason.strip()
        hold.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    return hold
