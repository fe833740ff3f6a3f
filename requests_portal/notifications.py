"""What a request tells people: its signed status link, and its messages through the outbox.

The status page is reached by a signed token naming the request's random public id, never by
the reference alone (references are sequential). Messages are rendered in the requester's
language and written to the outbox inside the transition's transaction; they leave once it
commits (messaging.services.message_queue), and each is linked to its request.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from messaging.models import OutboundMessage
from messaging.services import message_queue

from .models import DataSubjectRequest, RequestMessage

STATUS_SALT = "requests_portal.status"
LINK_SALT = "requests_portal.verify"


def status_token(request: DataSubjectRequest) -> str:
    return signing.dumps(str(request.public_id), salt=STATUS_SALT, compress=True)


def public_id_from_token(token: str) -> str | None:
    """The public id a status link names, if its signature holds (no query)."""
    try:
        return str(signing.loads(token, salt=STATUS_SALT))
    except signing.BadSignature:
        return None


def request_from_token(token: str) -> DataSubjectRequest | None:
    public_id = public_id_from_token(token)
    if public_id is None:
        return None
    try:
        return DataSubjectRequest.objects.filter(public_id=public_id).first()
    except ValidationError:  # a signed value that is not a UUID
        return None


def absolute(path: str) -> str:
    return settings.PORTAL_URL.rstrip("/") + path


def status_url(request: DataSubjectRequest) -> str:
    with translation.override(request.language):
        return absolute(reverse("portal:request_status", args=[status_token(request)]))


def verify_link_token(request: DataSubjectRequest, *, via: str, secret: str) -> str:
    return signing.dumps({"r": str(request.public_id), "v": via, "s": secret}, salt=LINK_SALT, compress=True)


def read_verify_link(token: str) -> dict | None:
    try:
        data = signing.loads(token, salt=LINK_SALT)
    except signing.BadSignature:
        return None
    return data if isinstance(data, dict) and {"r", "v", "s"} <= data.keys() else None


def _queue(request: DataSubjectRequest, *, kind: str, subject: str, body: str, to_email: str = "",
           to_phone: str = "", channel: str = OutboundMessage.Channel.EMAIL, language: str | None = None) -> OutboundMessage:
    message = message_queue(
        kind=kind, subject=subject, body=body, to_email=to_email, to_phone=to_phone,
        language=language or request.language, channel=channel,
    )
    RequestMessage.objects.create(request=request, message=message)
    return message


def phone_channel() -> str:
    return settings.PHONE_MESSAGE_CHANNEL


def send_code(request: DataSubjectRequest, *, via: str, address: str, code: str, link_secret: str) -> None:
    """The one-time code and link proving `address`, in the requester's language."""
    with translation.override(request.language):
        link = absolute(reverse("portal:request_verify_link", args=[verify_link_token(request, via=via, secret=link_secret)]))
        context = {"request": request, "code": code, "link": link, "status_url": status_url(request)}
        if via == "email":
            subject = render_to_string("emails/request_code_subject.txt", context).strip()
            body = render_to_string("emails/request_code.txt", context)
            _queue(request, kind="request_code", subject=subject, body=body, to_email=address)
        else:
            body = render_to_string("emails/request_code_sms.txt", context).strip()
            _queue(request, kind="request_code", subject="", body=body, to_phone=address, channel=via)


def notify_requester(request: DataSubjectRequest, *, told: str, kind: str = "request_update") -> None:
    """Tell the requester what changed (`told`, already in their language), with the status link.

    By e-mail when the request has one, else by the phone channel. A request whose contact data
    was erased (an expired request) is told nothing.
    """
    if not (request.email or request.phone):
        return
    with translation.override(request.language):
        context = {"request": request, "told": told, "status_url": status_url(request)}
        if request.email:
            subject = render_to_string("emails/request_update_subject.txt", context).strip()
            body = render_to_string("emails/request_update.txt", context)
            _queue(request, kind=kind, subject=subject, body=body, to_email=request.email)
        else:
            body = render_to_string("emails/request_update_sms.txt", context).strip()
            _queue(request, kind=kind, subject="", body=body, to_phone=request.phone, channel=phone_channel())


def notify_officer(request: DataSubjectRequest | None, *, user, kind: str, subject: str, body: str) -> None:
    """A message to an officer (a reminder, a digest), in the portal's default language."""
    if not user.email:
        return
    if request is not None:
        _queue(request, kind=kind, subject=subject, body=body, to_email=user.email, language=settings.LANGUAGE_CODE)
    else:
        message_queue(kind=kind, subject=subject, body=body, to_email=user.email, language=settings.LANGUAGE_CODE)
