"""Idempotency keys: a write retried with the same `Idempotency-Key` is recorded once.

    return idempotent(request, subject=ref, work=lambda: (201, EventOut.from_event(event_written())))

- Without the header, `work` runs in a transaction and its answer is returned.
- With it, the key's row (consent.IdempotencyKey: client, key, endpoint = method and path,
  SHA-256 of the canonical JSON body) is inserted FIRST in the transaction, then `work` runs,
  then the row gets the answer (status and JSON), and all commits together. A concurrent call
  with the same key blocks on the unique constraint until the first commits, then fails to
  insert: its transaction (and so its work) rolls back and it returns the stored answer.
- A retry with the same key, endpoint and body gets the stored answer again (same status and
  body) with `Idempotent-Replayed: true`; another body or endpoint gets 409
  idempotency_conflict. An answer with an error that changed nothing (ConsentError, 4xx raised)
  rolls the key back with the work: the client may retry with the same key once corrected.
- `work` returns (status, JSON-ready dict); the same dict is what the caller gets now and later.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils.translation import gettext as _

from consent.models import IdempotencyKey

from .errors import ApiError

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 128


def canonical_hash(body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body or b"{}"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        canonical = body.decode(errors="replace")
    return hashlib.sha256(canonical.encode()).hexdigest()


def _json_response(status: int, data: dict, *, replayed: bool = False) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")), status=status, content_type="application/json",
    )
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _replay(stored: IdempotencyKey, *, endpoint: str, request_hash: str) -> HttpResponse:
    if stored.endpoint != endpoint or stored.request_hash != request_hash:
        raise ApiError(
            409, "idempotency_conflict",
            _("Kunci idempotensi ini sudah dipakai untuk permintaan lain."), field=HEADER,
        )
    return _json_response(stored.status_code, stored.response, replayed=True)


class _Taken(Exception):
    pass


def idempotent(request, *, work: Callable[[], tuple[int, dict]], subject=None) -> HttpResponse:
    """Run `work` (a write) once per idempotency key; see the module's docstring."""
    key = request.headers.get(HEADER)
    if key is None:
        with transaction.atomic():
            status, data = work()
        return _json_response(status, data)
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ApiError(
            422, "invalid", _("Kunci idempotensi harus berisi 1 sampai %(max)s karakter.") % {"max": MAX_KEY_LENGTH},
            field=HEADER,
        )
    client = request.auth
    endpoint = f"{request.method} {request.path}"[:200]
    request_hash = canonical_hash(request.body)
    stored = IdempotencyKey.objects.filter(client=client, key=key).first()
    if stored is not None:
        return _replay(stored, endpoint=endpoint, request_hash=request_hash)
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    row = IdempotencyKey.objects.create(
                        client=client, key=key, endpoint=endpoint, request_hash=request_hash, status_code=0,
                        subject_email=(getattr(subject, "email", None) or "")[:254],
                        subject_phone=(getattr(subject, "phone", None) or "")[:64],
                    )
            except IntegrityError:
                raise _Taken from None
            status, data = work()
            row.status_code, row.response = status, data
            row.save(update_fields=["status_code", "response"])
    except _Taken:
        # Another call with this key committed first (we waited for it on the constraint).
        stored = IdempotencyKey.objects.get(client=client, key=key)
        return _replay(stored, endpoint=endpoint, request_hash=request_hash)
    return _json_response(status, data)
