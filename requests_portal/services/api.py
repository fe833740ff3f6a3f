"""Data-subject requests a merchant forwards through the JUNOPOS API, in the shape of OpenDSR.

A forwarded request is a request like any other: it comes in through the intake services
(channel API, the subject a customer of the shop), and the subject proves her identity by the
code sent to her, as on the portal. The caller's id (`subject_request_id`) is unique per client:
a retry finds the request the first call made, never a second one.

Status callbacks are an outbox of their own: each state change of an API request writes a
`StatusCallback` row in the transaction that changes the state, and queues its sending once that
transaction commits. The sending task claims the row (a conditional UPDATE with a lease), POSTs
the JSON payload signed with the client's callback key, and records the outcome; a 5xx or a
network error is tried again with back-off, a 4xx is final. A receiver that is down never holds
up the workflow; the error recorded never holds the receiver's answer.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import urllib.parse
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from junoprivacy.celery import enqueue_on_commit

from ..deadlines import add_period, deadline_rule
from ..exceptions import RequestError, TransitionRefused
from ..models import JAKARTA, Channel, DataSubjectRequest, Right, State, StatusCallback, SubjectRole
from .common import WORK, lock, require_actor

logger = logging.getLogger(__name__)

CALLBACK_TASK = "requests_portal.status_callback_send"
# Tries of one callback, whichever task copy makes them (the count is on the row).
MAX_CALLBACK_ATTEMPTS = 8
CALLBACK_TIMEOUT_SECONDS = 10
# How long a sending worker holds a callback before another may try it.
CALLBACK_LEASE = timedelta(minutes=2)
# A queued callback untouched for this long lost its task (a broker restarted): queue it again.
CALLBACK_PATIENCE = timedelta(minutes=15)
RESUME_BATCH = 1000
SIGNATURE_HEADER = "X-JUNO-Signature"

# OpenDSR's request types, and ours, to the rights of the workflow.
REQUEST_TYPES: dict[str, str] = {
    "access": Right.ACCESS,
    "portability": Right.PORTABILITY,
    "erasure": Right.DELETION,
    "rectification": Right.CORRECTION,
    "withdrawal": Right.WITHDRAWAL,
    "restriction": Right.RESTRICTION,
    "objection": Right.OBJECTION,
}
TYPE_OF_RIGHT = {right: name for name, right in REQUEST_TYPES.items()}
PURPOSE_RIGHTS = frozenset({Right.WITHDRAWAL, Right.RESTRICTION, Right.OBJECTION})
IDENTITY_TYPES = ("email", "phone_number")
LANGUAGES = ("id", "en")

# The workflow's states as OpenDSR's statuses.
PENDING, IN_PROGRESS, COMPLETED, CANCELLED, DENIED = "pending", "in_progress", "completed", "cancelled", "denied"
API_STATUS = {
    State.SUBMITTED: PENDING, State.VERIFIED: PENDING, State.IN_REVIEW: PENDING,
    State.AWAITING_REQUESTER: PENDING, State.APPROVED: PENDING, State.PROCESSING: IN_PROGRESS,
    State.COMPLETED: COMPLETED, State.WITHDRAWN: CANCELLED, State.EXPIRED: CANCELLED,
    # Merged into the open request of the same person and right: this one goes no further.
    State.DUPLICATE: CANCELLED, State.REFUSED: DENIED,
}
# States in which the caller may still cancel: pending, and not yet approved.
CANCELLABLE = (State.SUBMITTED, State.VERIFIED, State.IN_REVIEW, State.AWAITING_REQUESTER)

# Intake's field names as the API's.
_FIELD_OF = {"email": "subject_identities", "phone": "subject_identities", "shop_name": "merchant_id"}


class ApiRequestRefused(RequestError):
    """Input of an API call refused, nothing created: `code` for machines, `field` the input at fault."""

    def __init__(self, message, *, code: str = "invalid", field: str | None = None, details: dict | None = None,
                 status: int = 422):
        super().__init__(message)
        self.code, self.field, self.details, self.status = code, field, details or {}, status


class CallbackRetry(Exception):
    """The receiver could not take the callback now (a 5xx, a timeout, no connection): try again later."""


def _refused(message, *, field: str | None, code: str = "invalid", status: int = 422) -> ApiRequestRefused:
    return ApiRequestRefused(message, code=code, field=field, status=status)


def _jakarta(moment: datetime | None) -> str | None:
    return timezone.localtime(moment, JAKARTA).isoformat() if moment else None


# -- reads --------------------------------------------------------------------------------------


def api_request_find(*, client, subject_request_id: str) -> DataSubjectRequest:
    """The request this client made under its own id; another client's ids are not found."""
    request = (
        DataSubjectRequest.objects.filter(api_client=client, external_id=subject_request_id)
        .select_related("api_client").first()
        if subject_request_id else None
    )
    if request is None:
        raise _refused(_("Permintaan dengan id ini tidak ditemukan."), field="subject_request_id", code="not_found",
                       status=404)
    return request


def expected_completion(request: DataSubjectRequest, *, now: datetime | None = None) -> tuple[datetime | None, bool]:
    """When the request should be done, and whether that is an estimate.

    Closed: when it closed. Verified: its due time (moved on by a running pause). Not yet
    verified: now plus the deadline rule's period, an estimate (the clock starts at verification).
    """
    now = now or timezone.now()
    if request.closed_at is not None:
        return request.closed_at, False
    if request.due_at is not None:
        if request.paused_at is not None:
            return request.due_at + (now - request.paused_at), True
        return request.due_at, False
    rule = deadline_rule(right=request.right, jurisdiction=request.jurisdiction)
    if rule is None or not rule.period:
        return None, True
    return add_period(now, rule.period, rule.unit), True


def api_request_status(request: DataSubjectRequest, *, now: datetime | None = None) -> dict:
    """What the caller may know of its request: status, reference, times, the timeline of states.

    No officer names, no notes, nothing the requester wrote.
    """
    expected, estimated = expected_completion(request, now=now)
    timeline = [
        {"time": _jakarta(at), "state": state, "request_status": API_STATUS[state]}
        for at, state in request.events.exclude(to_state="").order_by("seq").values_list("created_at", "to_state")
    ]
    return {
        "subject_request_id": request.external_id,
        "request_reference": request.reference,
        "subject_request_type": TYPE_OF_RIGHT.get(request.right, request.right),
        "request_status": API_STATUS[request.state],
        "state": request.state,
        "denial_reason": request.refusal_reason or None,
        "received_time": _jakarta(request.created_at),
        "expected_completion_time": _jakarta(expected),
        "expected_completion_is_estimate": estimated,
        "timeline": timeline,
    }


# -- writes -------------------------------------------------------------------------------------


def _identities(identities: Sequence[Mapping[str, str]]) -> tuple[str, str]:
    email = phone = ""
    if not identities:
        raise _refused(_("Sebutkan sedikitnya satu identitas subjek: e-mail atau nomor telepon."),
                       field="subject_identities", code="identity_required")
    for identity in identities:
        kind, value = identity.get("identity_type", ""), (identity.get("identity_value") or "").strip()
        if kind not in IDENTITY_TYPES:
            raise _refused(_("Jenis identitas “%(kind)s” tidak dikenal: pakai email atau phone_number.") % {"kind": kind},
                           field="subject_identities", code="unknown_identity_type")
        if identity.get("identity_format", "raw") != "raw":
            raise _refused(_("Identitas harus dikirim apa adanya (identity_format raw)."),
                           field="subject_identities", code="unsupported_identity_format")
        if not value:
            raise _refused(_("Nilai identitas kosong."), field="subject_identities", code="identity_required")
        if kind == "email":
            if email:
                raise _refused(_("Paling banyak satu e-mail."), field="subject_identities")
            email = value
        else:
            if phone:
                raise _refused(_("Paling banyak satu nomor telepon."), field="subject_identities")
            phone = value
    return email, phone


def _callback_url(client, urls: Sequence[str]) -> str:
    if len(urls) > 1:
        raise _refused(_("Paling banyak satu URL callback status."), field="status_callback_urls")
    url = (urls[0] if urls else client.callback_url or "").strip()
    if not url:
        return ""
    try:
        URLValidator(schemes=["https"] if not settings.DEBUG else ["https", "http"])(url)
    except ValidationError:
        raise _refused(
            _("URL callback status harus berupa alamat https yang valid."), field="status_callback_urls",
            code="invalid_callback_url",
        ) from None
    if len(url) > 200:
        raise _refused(_("URL callback status terlalu panjang (paling banyak 200 karakter)."),
                       field="status_callback_urls", code="invalid_callback_url")
    return url


def _merchant(client, merchant_id: int):
    from merchants.models import Merchant

    if not (client.all_merchants or client.merchants.filter(pk=merchant_id).exists()):
        raise _refused(_("Klien ini tidak bertindak untuk merchant %(id)s.") % {"id": merchant_id}, field="merchant_id",
                       code="merchant_not_allowed", status=403)
    merchant = Merchant.objects.filter(pk=merchant_id).first()
    if merchant is None:
        raise _refused(_("Merchant %(id)s tidak dikenal.") % {"id": merchant_id}, field="merchant_id",
                       code="unknown_merchant")
    return merchant


def _purposes(right: str, keys: Iterable[str]) -> list:
    from consent.exceptions import ConsentError
    from consent.selectors import purpose_get

    keys = list(dict.fromkeys(keys))
    if keys and right not in PURPOSE_RIGHTS:
        raise _refused(_("Tujuan pemrosesan hanya untuk penarikan persetujuan, pembatasan atau keberatan."),
                       field="purposes")
    try:
        return [purpose_get(key) for key in keys]
    except ConsentError as exc:
        raise _refused(exc.message, field="purposes", code=exc.code) from None


def _submission_key(client, subject_request_id: str) -> str:
    # The form's idempotency key, derived: the same client and id always give the same key.
    digest = hashlib.sha256(f"{client.public_id}:{subject_request_id}".encode()).hexdigest()
    return f"api:{digest[:60]}"


def request_api_submit(
    *, client, subject_request_id: str, subject_request_type: str, subject_identities: Sequence[Mapping[str, str]],
    merchant_id: int, status_callback_urls: Sequence[str] = (), language: str = "id", details: str = "",
    purposes: Iterable[str] = (), subject_name: str = "", wrong_data: str = "", correct_data: str = "",
) -> tuple[DataSubjectRequest, bool]:
    """A request a merchant forwards for its customer; returns (request, created).

    The same `subject_request_id` from the same client gives back the first call's request,
    whatever the retry carries. Bad input raises ApiRequestRefused and creates nothing.
    """
    from .intake import request_submit

    subject_request_id = (subject_request_id or "").strip()
    if not subject_request_id or len(subject_request_id) > 100:
        raise _refused(_("subject_request_id wajib diisi, paling banyak 100 karakter."), field="subject_request_id")
    existing = DataSubjectRequest.objects.filter(api_client=client, external_id=subject_request_id).first()
    if existing is not None:
        return existing, False
    right = REQUEST_TYPES.get(subject_request_type)
    if right is None:
        raise _refused(
            _("Jenis permintaan “%(type)s” tidak dikenal.") % {"type": subject_request_type},
            field="subject_request_type", code="unknown_request_type",
        )
    if language not in LANGUAGES:
        raise _refused(_("Bahasa harus id atau en."), field="language")
    email, phone = _identities(subject_identities)
    merchant = _merchant(client, merchant_id)
    callback_url = _callback_url(client, status_callback_urls)
    chosen = _purposes(right, purposes)
    try:
        request, created = request_submit(
            submission_key=_submission_key(client, subject_request_id), right=right,
            subject_role=SubjectRole.CUSTOMER, requester_name=(subject_name or email or phone).strip()[:200],
            email=email, phone=phone, shop_name=merchant.business_name, merchant_id=merchant.pk,
            language=language, details=details, wrong_data=wrong_data, correct_data=correct_data,
            channel=Channel.API, api_client=client, external_id=subject_request_id, callback_url=callback_url,
            purposes=chosen,
        )
    except ValidationError as exc:
        fields = exc.message_dict
        first = next(iter(fields))
        raise ApiRequestRefused(
            fields[first][0], code="invalid", field=_FIELD_OF.get(first, first),
            details={_FIELD_OF.get(name, name): messages for name, messages in fields.items()},
        ) from None
    return request, created


def request_api_cancel(*, client, subject_request_id: str) -> DataSubjectRequest:
    """The caller cancels its request while it is pending and not yet approved (the requester's withdrawal).

    A request already cancelled is returned as it is (a retried DELETE); any later state is refused.
    """
    from .workflow import request_withdraw

    request = api_request_find(client=client, subject_request_id=subject_request_id)
    if request.state == State.WITHDRAWN:
        return request
    refused = _refused(
        _("Permintaan %(ref)s tidak dapat dibatalkan lagi (status: %(state)s).")
        % {"ref": request.reference, "state": API_STATUS[request.state]},
        field=None, code="not_cancellable", status=409,
    )
    with transaction.atomic():
        # Locked here and checked here: an approval racing this call wins or loses whole.
        locked = lock(request.pk)
        if locked.state not in CANCELLABLE:
            raise refused
        try:
            return request_withdraw(request_id=request.pk, note=_("Dibatalkan lewat API oleh klien %(client)s (%(id)s).") % {
                "client": client.name, "id": client.public_id,
            })
        except TransitionRefused:
            raise refused from None


# -- status callbacks ---------------------------------------------------------------------------


def callback_payload(request: DataSubjectRequest, *, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    expected, _estimated = expected_completion(request, now=now)
    return {
        "subject_request_id": request.external_id,
        "request_reference": request.reference,
        "request_status": API_STATUS[request.state],
        "expected_completion_time": _jakarta(expected),
        "status_callback_time": _jakarta(now),
    }


def status_callback_queue(request: DataSubjectRequest) -> StatusCallback | None:
    """After a state change of an API request, in its transaction: the callback row, sent after commit.

    Requests that did not come through the API, or named no callback URL, send nothing.
    """
    if not (request.api_client_id and request.callback_url and request.external_id):
        return None
    callback = StatusCallback.objects.create(request=request, url=request.callback_url, payload=callback_payload(request))
    enqueue_on_commit(CALLBACK_TASK, callback.pk)
    return callback


def callback_signature(key: str, *, timestamp: int, body: bytes) -> str:
    """The `X-JUNO-Signature` header: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">."""
    mac = hmac.new(key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would re-send (or drop) a signed body somewhere the client did not name.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _private_address(url: str) -> str | None:
    """Why the callback URL must not be called (its host resolves to a loopback, private, link-local
    or otherwise non-public address: a token holder must not make the portal probe its own
    network), or None. The resolution is checked at every send, not only when the URL was given."""
    if settings.API_CALLBACK_ALLOW_PRIVATE:
        return None
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError) as exc:
        return f"DNS: {exc}"[:200]
    for address in addresses:
        if not ipaddress.ip_address(address.split("%", 1)[0]).is_global:
            return "refused: the host resolves to a non-public address"
    return None


def status_callback_send(*, callback_id: int) -> StatusCallback | None:
    """Send one queued callback. Raises CallbackRetry when it should be tried again later.

    Returns None when there is nothing to do (already sent or failed, gone, or another worker
    holds it). The outcome is written only if this worker still holds the row (its attempt number).
    """
    from consent.services.clients import callback_key

    now = timezone.now()
    claimed = (
        StatusCallback.objects.filter(pk=callback_id)
        .filter(Q(state=StatusCallback.State.QUEUED) | Q(state=StatusCallback.State.SENDING, lease_until__lt=now))
        .update(state=StatusCallback.State.SENDING, lease_until=now + CALLBACK_LEASE, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    callback = StatusCallback.objects.select_related("request__api_client").get(pk=callback_id)
    client = callback.request.api_client
    if client is None or not client.is_active:
        return _settle(callback, state=StatusCallback.State.FAILED, error="client revoked")
    refused = _private_address(callback.url)
    if refused:
        return _settle(callback, state=StatusCallback.State.FAILED, error=refused)
    body = json.dumps(callback.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time())
    http_request = urllib.request.Request(
        callback.url, data=body, method="POST",
        headers={
            "Content-Type": "application/json", "User-Agent": "JUNO-Privacy-callback/1",
            SIGNATURE_HEADER: callback_signature(callback_key(client), timestamp=timestamp, body=body),
        },
    )
    try:
        with _opener.open(http_request, timeout=CALLBACK_TIMEOUT_SECONDS) as answer:
            status = answer.status
    except urllib.error.HTTPError as exc:
        status = exc.code
        exc.close()
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return _retry_or_fail(callback, error=f"{type(exc).__name__}: {reason}"[:500])
    if 200 <= status < 300:
        return _settle(callback, state=StatusCallback.State.SENT, error="", sent_at=timezone.now())
    if status >= 500 or status in (408, 429):
        return _retry_or_fail(callback, error=f"HTTP {status}")
    return _settle(callback, state=StatusCallback.State.FAILED, error=f"HTTP {status}")


def _retry_or_fail(callback: StatusCallback, *, error: str) -> StatusCallback:
    logger.warning("status callback %s not delivered (attempt %s): %s", callback.pk, callback.attempts, error)
    if callback.attempts >= MAX_CALLBACK_ATTEMPTS:
        return _settle(callback, state=StatusCallback.State.FAILED, error=error)
    _settle(callback, state=StatusCallback.State.QUEUED, error=error)
    raise CallbackRetry(error)


def _settle(callback: StatusCallback, *, state: str, error: str, sent_at=None) -> StatusCallback:
    StatusCallback.objects.filter(
        pk=callback.pk, state=StatusCallback.State.SENDING, attempts=callback.attempts
    ).update(
        state=state, last_error=error, sent_at=sent_at,
        lease_until=timezone.now() if state == StatusCallback.State.QUEUED else None,
    )
    callback.refresh_from_db()
    return callback


def status_callbacks_resume_stalled(*, now: datetime | None = None) -> list[int]:
    """Callbacks whose task was lost: a sender that died mid-send, or a queue that lost the task."""
    now = now or timezone.now()
    stalled = StatusCallback.objects.filter(
        Q(state=StatusCallback.State.SENDING, lease_until__lt=now)
        | Q(state=StatusCallback.State.QUEUED, lease_until__isnull=True, created_at__lt=now - CALLBACK_PATIENCE)
        | Q(state=StatusCallback.State.QUEUED, lease_until__lt=now - CALLBACK_PATIENCE)
    )
    ids = list(stalled.values_list("pk", flat=True)[:RESUME_BATCH])
    for callback_id in ids:
        enqueue_on_commit(CALLBACK_TASK, callback_id)
    return ids


def status_callback_retry(*, callback_id: int, actor) -> StatusCallback:
    """An officer sends a failed callback again: back to the queue, its attempts counted afresh.

    Only a failed callback; one queued, being sent or sent is refused (a second click changes
    nothing). The send is queued once the transaction commits. The admin's log keeps who asked
    it and when (the request's own trail is the requester's, and a resend changes nothing of it).
    """
    require_actor(actor, WORK, what=_("mengirim ulang callback status"))
    with transaction.atomic():
        callback = StatusCallback.objects.select_for_update().filter(pk=callback_id).first()
        if callback is None:
            raise RequestError(_("Callback status ini tidak ada lagi."))
        if callback.state != StatusCallback.State.FAILED:
            raise RequestError(
                _("Hanya callback yang gagal yang dapat dikirim ulang (status sekarang: %(state)s).")
                % {"state": callback.get_state_display()}
            )
        callback.state = StatusCallback.State.QUEUED
        callback.attempts = 0
        # Queued after a failure: the stalled-callback sweep counts its patience from now.
        callback.lease_until = timezone.now()
        callback.save(update_fields=["state", "attempts", "lease_until"])
        # Django's structured message: the history page shows it in the reader's language.
        LogEntry.objects.log_actions(
            actor.pk, [callback], CHANGE, change_message=[{"changed": {"fields": ["status", "percobaan"]}}],
            single_object=True,
        )
        enqueue_on_commit(CALLBACK_TASK, callback.pk)
    return callback
