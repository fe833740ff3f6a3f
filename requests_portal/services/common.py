"""The shape every transition shares: lock the row, check the state and the actor, write the
event, tell the requester through the outbox; all in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from retention.services.common import require_permission

from ..audit import chain_event
from ..exceptions import TransitionRefused
from ..models import CLOSED_STATES, DataSubjectRequest, RequestEvent, State
from ..notifications import notify_requester

WORK = "requests_portal.work_request"
APPROVE_SENSITIVE = "requests_portal.approve_sensitive_request"
ENTER = "requests_portal.enter_request"
EXECUTE = "requests_portal.execute_request"

# Who acted, when no user did.
REQUESTER = "requester"
SYSTEM = "system"


def lock(request_id: int) -> DataSubjectRequest:
    return DataSubjectRequest.objects.select_for_update().get(pk=request_id)


def require_state(request: DataSubjectRequest, allowed: Iterable[str], *, what: str) -> None:
    if request.state not in set(allowed):
        raise TransitionRefused(
            _("Permintaan %(ref)s berstatus “%(state)s”: tidak dapat %(what)s.")
            % {"ref": request.reference, "state": request.get_state_display(), "what": what}
        )


def require_actor(actor, permission: str, *, what: str) -> None:
    """A person must act, and hold the permission (the admin checks too, but is not the only door)."""
    require_permission(actor, permission, what=what, system_allowed=False)


def pause_clock(request: DataSubjectRequest, *, now) -> None:
    if request.due_at is not None and request.paused_at is None:
        request.paused_at = now


def resume_clock(request: DataSubjectRequest, *, now) -> None:
    """Restart the clock: the due time moves by exactly the length of the pause."""
    if request.paused_at is not None:
        if request.due_at is not None:
            request.due_at += now - request.paused_at
        request.paused_at = None


def transition(
    request_id: int, *, verb: str, what: str, allowed_from: Iterable[str], to_state: str | None = None,
    actor=None, actor_kind: str = "user", permission: str | None = None, note: str = "",
    told: Callable[[DataSubjectRequest], str] | None = None,
    change: Callable[[DataSubjectRequest, object], None] | None = None,
) -> tuple[DataSubjectRequest, RequestEvent]:
    """Take one step on a request: the one way its state changes.

    `permission` (when a person acts) is checked before the row is locked; `change(request, now)`
    may adjust the row (and raise a RequestError to refuse) before the event is written.
    `told(request)`, when given, is what the requester is told: rendered in the requester's
    language (not the officer's), recorded in the event and sent on commit.
    """
    if actor is not None and permission:
        require_actor(actor, permission, what=what)
    with transaction.atomic():
        request = lock(request_id)
        require_state(request, allowed_from, what=what)
        now = timezone.now()
        from_state = request.state
        if change is not None:
            change(request, now)
        if to_state is not None:
            request.state = to_state
            if to_state in CLOSED_STATES and request.closed_at is None:
                request.closed_at = now
            if to_state == State.AWAITING_REQUESTER:
                pause_clock(request, now=now)
            elif from_state == State.AWAITING_REQUESTER:
                resume_clock(request, now=now)
        told_text = ""
        if told is not None:
            with translation.override(request.language):
                told_text = told(request)
        event = chain_event(
            request, verb=verb, actor=actor, actor_kind=actor_kind, from_state=from_state,
            to_state=request.state if request.state != from_state else "", note=note, told=told_text,
        )
        if actor is not None:
            request._history_user = actor
        request.save()
        if told_text:
            notify_requester(request, told=told_text)
        if request.state != from_state and request.api_client_id:
            # Imported here: the API services import the workflow, which imports this module.
            from .api import status_callback_queue

            status_callback_queue(request)
        return request, event
