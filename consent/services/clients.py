"""The clients of the JUNOPOS API: a token shown once, kept only as a hash; scopes; revocation.

Tokens carry 256 random bits, so a plain SHA-256 is enough to keep them (no key stretching is
needed for a secret nobody can guess); the first characters are kept to tell tokens apart.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from retention.services.common import require_permission

from ..clientmarks import mark_client_changed
from ..exceptions import ConsentError
from ..models import ApiClient

TOKEN_PREFIX = "jp_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def callback_key(client: ApiClient) -> str:
    """The key that signs this client's status callbacks (HMAC-SHA256), shown to it in the admin."""
    return hmac.new(settings.SECRET_KEY.encode(), f"callback:{client.public_id}".encode(), hashlib.sha256).hexdigest()


def _new_token() -> tuple[str, str, str]:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token[:10], token_hash(token)


def _check_scopes(scopes: Iterable[str]) -> list[str]:
    scopes = sorted(set(scopes))
    unknown = [s for s in scopes if s not in ApiClient.Scope.values]
    if unknown:
        raise ConsentError(_("Cakupan tidak dikenal: %(scopes)s.") % {"scopes": ", ".join(unknown)}, code="unknown_scope")
    return scopes


def api_client_create(
    *, name: str, scopes: Iterable[str], merchant_ids: Iterable[int] = (), all_merchants: bool = False,
    callback_url: str = "", rate_limit: int | None = None, actor=None,
) -> tuple[ApiClient, str]:
    """A new client and its token (returned once: only its hash is kept)."""
    require_permission(actor, "consent.add_apiclient", what=_("membuat klien API"))
    token, prefix, digest = _new_token()
    client = ApiClient(
        name=name.strip(), scopes=_check_scopes(scopes), all_merchants=all_merchants, callback_url=callback_url,
        token_prefix=prefix, token_hash=digest, created_by=actor,
    )
    if rate_limit is not None:
        client.rate_limit = rate_limit
    client.full_clean()
    with transaction.atomic():
        client.save()
        client.merchants.set(list(merchant_ids))
    return client, token


def api_client_rotate(*, client_id: int, actor=None) -> tuple[ApiClient, str]:
    """A new token for a client; the old one stops working at once."""
    require_permission(actor, "consent.change_apiclient", what=_("mengganti token klien API"))
    with transaction.atomic():
        client = ApiClient.objects.select_for_update().get(pk=client_id)
        if client.revoked_at:
            raise ConsentError(_("Klien ini sudah dicabut."), code="revoked")
        token, client.token_prefix, client.token_hash = _new_token()
        client.save(update_fields=["token_prefix", "token_hash"])
        mark_client_changed(client.pk)
    return client, token


def api_client_revoke(*, client_id: int, actor=None) -> ApiClient:
    """The client's token stops working at once (the next call is refused)."""
    require_permission(actor, "consent.change_apiclient", what=_("mencabut klien API"))
    with transaction.atomic():
        client = ApiClient.objects.select_for_update().get(pk=client_id)
        if client.revoked_at is None:
            client.revoked_at, client.revoked_by = timezone.now(), actor
            client.save(update_fields=["revoked_at", "revoked_by"])
        mark_client_changed(client.pk)
    return client
