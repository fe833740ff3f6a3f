"""The one shape of every 4xx the API answers, and the handlers that give it.

    {"error": {"code": "scope_missing", "message": "...", "field": null, "details": []}}

`code` is stable (machines branch on it); `message` is for a person, in the caller's
Accept-Language (Indonesian by default); `field` names the input at fault; `details` lists every
fault of a request that failed validation (one per field). Statuses:

- 400 malformed_json (a body that is not JSON)
- 401 unauthenticated (no token, an unknown or a revoked one)
- 403 scope_missing, merchant_not_allowed; disclosure_refused (a refused disclosure, recorded)
- 404 not_found (a thing named in the path: a merchant, the current policy)
- 409 idempotency_conflict (a key reused with another body or endpoint), merchant_state_conflict
- 422 invalid (pydantic validation, details per field) or a ConsentError's own code
  (unknown_purpose, invalid_email, ...), with its field: things named in the body that do not
  exist are 422 as well, with the field that names them
- 429 rate_limited, with Retry-After
"""

from __future__ import annotations

import logging

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from consent.exceptions import ConsentError
from retention.exceptions import RetentionError

logger = logging.getLogger(__name__)


class ErrorDetail(Schema):
    field: str | None
    code: str
    message: str


class ErrorBody(Schema):
    code: str
    message: str
    field: str | None = None
    details: list[ErrorDetail] = []


class ErrorOut(Schema):
    error: ErrorBody


class ApiError(Exception):
    """Raise from an endpoint (or auth) to answer `status` with the error shape."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None,
                 details: list[dict] | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.details = details or []
        self.headers = headers or {}


def error_body(code: str, message, *, field: str | None = None, details: list[dict] | None = None) -> dict:
    return {"error": {"code": code, "message": str(message), "field": field, "details": details or []}}


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The error part of an operation's `response=`: `response={200: Out, **errors(401, 403, 422)}`."""
    return {status: ErrorOut for status in statuses}


# What every operation with a token and a JSON body may answer (auth runs first, then the rate
# limit, then the scope, then the body is read: 400 unreadable, 422 invalid).
AUTH_ERRORS = (400, 401, 403, 422, 429)


def _field_of(loc) -> str | None:
    parts = list(loc)
    if parts and parts[0] in ("body", "path", "query", "header"):
        parts = parts[1:]
    # A body read as one schema parameter (always named `payload` here) nests under its name.
    if parts and parts[0] == "payload":
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or None


def _pydantic_message(error: dict) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return _("Wajib diisi.")
    if kind == "extra_forbidden":
        return _("Isian ini tidak dikenal.")
    if kind in ("too_long", "string_too_long"):
        return _("Terlalu panjang.")
    if kind in ("too_short", "string_too_short"):
        return _("Terlalu pendek.")
    if kind.startswith("datetime"):
        return _("Waktu tidak valid (ISO 8601 dengan zona waktu).")
    if kind.startswith("int") or kind.startswith("greater_than") or kind.startswith("less_than"):
        return _("Bilangan tidak valid.")
    if kind == "enum" or kind == "literal_error":
        return _("Nilai tidak dikenal.")
    return _("Nilai tidak valid.")


def install(api) -> None:
    """Register the handlers on the NinjaAPI instance."""

    def respond(request, status: int, body: dict, headers: dict[str, str] | None = None):
        response = api.create_response(request, body, status=status)
        for name, value in (headers or {}).items():
            response[name] = value
        return response

    @api.exception_handler(ApiError)
    def on_api_error(request, exc: ApiError):
        return respond(request, exc.status, error_body(exc.code, exc.message, field=exc.field, details=exc.details),
                       exc.headers)

    @api.exception_handler(ValidationError)
    def on_validation_error(request, exc: ValidationError):
        details = [
            {"field": _field_of(e.get("loc", ())), "code": str(e.get("type", "invalid")), "message": str(_pydantic_message(e))}
            for e in exc.errors
        ]
        return respond(request, 422, error_body(
            "invalid", _("Masukan tidak valid."), field=details[0]["field"] if details else None, details=details,
        ))

    @api.exception_handler(ConsentError)
    def on_consent_error(request, exc: ConsentError):
        return respond(request, 422, error_body(exc.code, exc.message, field=exc.field))

    @api.exception_handler(RetentionError)
    def on_retention_error(request, exc: RetentionError):
        # What remains after the endpoint's own checks: a state the merchant is in (purged, purging).
        return respond(request, 409, error_body("merchant_state_conflict", exc.message))

    @api.exception_handler(AuthenticationError)
    def on_unauthenticated(request, exc):
        return respond(
            request, 401, error_body("unauthenticated", _("Token API tidak ada, tidak dikenal, atau sudah dicabut.")),
            {"WWW-Authenticate": "Bearer"},
        )

    @api.exception_handler(Http404)
    def on_not_found(request, exc):
        return respond(request, 404, error_body("not_found", _("Tidak ditemukan.")))

    @api.exception_handler(HttpError)
    def on_http_error(request, exc: HttpError):
        if exc.status_code == 400:
            return respond(request, 400, error_body("malformed_json", _("Isi permintaan bukan JSON yang valid.")))
        codes = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                 429: "rate_limited"}
        return respond(request, exc.status_code, error_body(codes.get(exc.status_code, "error"), exc.message))
