"""Who calls: a bearer token, its client, its scopes and merchants, its rate limit.

The client is read on every call, one indexed query on its token's hash (with its merchants'
ids beside it on PostgreSQL), so a revoked token is refused on the very next call; no cache.
`last_used_at` is written at most once a minute per client (a conditional UPDATE), not per call.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from consent.models import ApiClient
from consent.services.clients import token_hash

from .errors import ApiError
from .ratelimit import rate_limit_hit

LAST_USED_EVERY = timedelta(minutes=1)
CLIENT_FIELDS = ("id", "public_id", "name", "scopes", "all_merchants", "rate_limit", "last_used_at", "callback_url")


def api_client_by_token(token: str) -> ApiClient | None:
    """The active client holding this token, with `merchant_ids` (a set) when read on PostgreSQL."""
    if not token or len(token) > 200:
        return None
    clients = ApiClient.objects.filter(token_hash=token_hash(token), revoked_at__isnull=True).only(*CLIENT_FIELDS)
    if connection.vendor == "postgresql":
        from django.contrib.postgres.expressions import ArraySubquery
        from django.db.models import OuterRef

        through = ApiClient.merchants.through
        clients = clients.annotate(
            merchant_id_list=ArraySubquery(through.objects.filter(apiclient_id=OuterRef("pk")).values("merchant_id"))
        )
    client = clients.first()
    if client is not None and hasattr(client, "merchant_id_list"):
        client.merchant_ids = set(client.merchant_id_list or ())
    return client


def client_merchant_ids(client: ApiClient) -> set[int]:
    ids = getattr(client, "merchant_ids", None)
    if ids is None:
        ids = client.merchant_ids = set(client.merchants.values_list("pk", flat=True))
    return ids


def activate_caller_language(request) -> None:
    """The API speaks the caller's Accept-Language (Indonesian by default). LocaleMiddleware
    gives every path without a language prefix the default language (i18n_patterns with
    prefix_default_language=False), so the API chooses its own, before anything is said."""
    language = translation.get_language_from_request(request)
    translation.activate(language)
    request.LANGUAGE_CODE = language


def _touch(client: ApiClient) -> None:
    now = timezone.now()
    if client.last_used_at is not None and now - client.last_used_at < LAST_USED_EVERY:
        return
    ApiClient.objects.filter(pk=client.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_EVERY)
    ).update(last_used_at=now)
    client.last_used_at = now


class ClientAuth(HttpBearer):
    """`auth=ClientAuth(ApiClient.Scope.CONSENT_READ)`: a valid token holding that scope
    (`ClientAuth()`: any valid token). The client is `request.auth` in the endpoint."""

    def __init__(self, scope: str | None = None):
        super().__init__()
        self.scope = scope

    def __call__(self, request):
        activate_caller_language(request)
        return super().__call__(request)

    def authenticate(self, request, token: str) -> ApiClient | None:
        client = api_client_by_token(token)
        if client is None:
            return None  # -> 401 unauthenticated
        _touch(client)
        wait = rate_limit_hit(client_key=str(client.public_id), limit=client.rate_limit)
        if wait is not None:
            raise ApiError(
                429, "rate_limited",
                _("Terlalu banyak permintaan: batas %(limit)s per menit. Coba lagi dalam %(seconds)s detik.")
                % {"limit": client.rate_limit, "seconds": wait},
                headers={"Retry-After": str(wait)},
            )
        if self.scope and self.scope not in client.scopes:
            raise ApiError(
                403, "scope_missing",
                _("Token ini tidak memiliki cakupan “%(scope)s”.") % {"scope": self.scope},
            )
        return client


def require_merchant(client: ApiClient, merchant_id: int | None, *, field: str = "merchant_id",
                     write: bool = False) -> None:
    """403 merchant_not_allowed unless the client acts for this merchant.

    No merchant (None) means JUNOPOS itself (its own purposes, its own data subjects): any client
    may ask about it, only a client for all merchants may write it (`write=True`).
    """
    if client.all_merchants:
        return
    if merchant_id is None:
        if not write:
            return
        raise ApiError(403, "merchant_not_allowed",
                       _("Klien ini hanya bertindak untuk merchant tertentu: sebutkan merchant_id."), field=field)
    if merchant_id not in client_merchant_ids(client):
        raise ApiError(403, "merchant_not_allowed",
                       _("Klien ini tidak bertindak untuk merchant %(id)s.") % {"id": merchant_id}, field=field)
