"""Purposes and recipients: the registers officers correct in the admin, with history.

Each save validates the row (its categories are the data map's, a recipient's country a code)
and, for a purpose, makes this process forget the purposes it keeps (consent.selectors: others
read the edit within PURPOSE_CACHE_SECONDS).
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from retention.services.common import require_permission

from ..models import Purpose, Recipient
from ..selectors import purposes_forget


def purpose_update(*, purpose: Purpose, actor=None) -> Purpose:
    require_permission(actor, "consent.change_purpose", what=_("mengubah tujuan pemrosesan"))
    purpose.full_clean()
    with transaction.atomic():
        purpose.save()
    purposes_forget()
    return purpose


def recipient_save(*, recipient: Recipient, actor=None) -> Recipient:
    """The recipient's row; its purposes (many-to-many) are set by the caller afterwards."""
    permission = "consent.change_recipient" if recipient.pk else "consent.add_recipient"
    require_permission(actor, permission, what=_("mengubah register penerima"))
    recipient.full_clean(exclude=["purposes"])
    with transaction.atomic():
        recipient.save()
    return recipient
