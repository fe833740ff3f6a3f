"""Who calls: a bearer token, its client, its scopes and merchants, its rate limit.

The client is read on every call, one indexed query on its token's hash (with its merchants'
ids beside it on PostgreSQL), so a revoked token is refused on the very next call; no cache.
`last_used_at` is written at most once a minute per client (a conditional UPDATE), not per call.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

from django.db import connection
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from consent.models import ApiClient
from consent.services.clients import token_hash

from .errors import ApiError
from consent.clientmarks import UNKNOWN, change_mark_key

from .ratelimit import rate_limit_hit

LAST_USED_EVERY = timedelta(minutes=1)
# Each process keeps the clients it has read, by token hash, this long at most. A revocation or a
# rotation is seen at the very next call all the same: the rate limit's Redis round trip also
# reads the client's change mark (ratelimit.mark_client_changed), and a client read before its
# mark is read again from the database. When Redis cannot be asked, the database is.
CACHE_SECONDS = 30
_known: dict[str, tuple[ApiClient, float]] = {}
# In the model's order of fields (Model.from_db places the values in that order).
CLIENT_FIELDS = ("id", "public_id", "name", "scopes", "all_merchants", "callback_url", "rate_limit", "last_used_at")


def _client_sql() -> str:
    table, through = ApiClient._meta.db_table, ApiClient.merchants.through._meta.db_table
    return (
        f"SELECT {', '.join(f'c.{f}' for f in CLIENT_FIELDS)}, "
        f"ARRAY(SELECT m.merchant_id FROM {through} m WHERE m.apiclient_id = c.id) "
        f"FROM {table} c WHERE c.token_hash = %s AND c.revoked_at IS NULL"
    )


def api_client_by_token(token: str) -> ApiClient | None:
    """The active client holding this token, with its merchants' ids (`merchant_ids`, a set).

    The hot path of every call: on PostgreSQL one hand-written query on the unique token hash
    (the ORM's compilation of it cost more than the query); elsewhere the ORM, and the merchants
    when asked (client_merchant_ids)."""
    if not token or len(token) > 200:
        return None
    digest = token_hash(token)
    if connection.vendor != "postgresql":
        return ApiClient.objects.filter(token_hash=digest, revoked_at__isnull=True).only(*CLIENT_FIELDS).first()
    with connection.cursor() as cursor:
        cursor.execute(_client_sql(), [digest])
        row = cursor.fetchone()
    if row is None:
        return None
    values = dict(zip(CLIENT_FIELDS, row[:-1]))
    if isinstance(values["scopes"], str):
        values["scopes"] = json.loads(values["scopes"])
    client = ApiClient.from_db(connection.alias, list(CLIENT_FIELDS), list(values.values()))
    client.merchant_ids = set(row[-1] or ())
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


def _client_counted(token: str) -> tuple[ApiClient | None, int | None]:
    """The token's active client (kept per process, checked against its change mark) and the rate
    limit's answer for this call, in one Redis round trip and, for a client already read, no query."""
    if not token or len(token) > 200:
        return None, None
    digest = token_hash(token)
    now = time.time()
    known = _known.get(digest)
    if known is not None and now - known[1] < CACHE_SECONDS:
        client, read_at = known
        wait, mark = rate_limit_hit(
            client_key=str(client.public_id), limit=client.rate_limit, watch=change_mark_key(client.pk)
        )
        if mark is not UNKNOWN and (mark is None or mark < read_at):
            return client, wait
        _known.pop(digest, None)
        fresh = api_client_by_token(token)
        if fresh is not None and mark is not UNKNOWN:
            _known[digest] = (fresh, time.time())
        return fresh, wait
    client = api_client_by_token(token)
    if client is None:
        _known.pop(digest, None)
        return None, None
    wait, mark = rate_limit_hit(client_key=str(client.public_id), limit=client.rate_limit, watch=change_mark_key(client.pk))
    if mark is not UNKNOWN:
        if len(_known) > 1000:
            _known.clear()
        _known[digest] = (client, now)
    return client, wait


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
        client, wait = _client_counted(token)
        if client is None:
            return None  # -> 401 unauthenticated
        _touch(client)
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
