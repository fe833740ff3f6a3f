"""Fixtures of the request workflow: officers of each group, and requests at each step.

Requests are made through the services, as a requester would (the code is read from the
message the outbox holds), never by writing rows directly.
"""

from __future__ import annotations

import itertools
import re

import pytest
from django.contrib.auth.models import Group, User

from messaging.models import OutboundMessage
from requests_portal import services
from requests_portal.models import DataSubjectRequest, RequestMessage

_keys = itertools.count(1)


def _user(username: str, group: str) -> User:
    user = User.objects.create_user(username, f"{username}@junopos.test", "pw-" + username, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def officer(db):
    return _user("officer1", "Compliance officer")


@pytest.fixture
def officer2(db):
    return _user("officer2", "Compliance officer")


@pytest.fixture
def dpo(db):
    return _user("dpo1", "Data protection officer")


@pytest.fixture
def auditor(db):
    return _user("auditor1", "Auditor")


def submit(**overrides) -> DataSubjectRequest:
    given = {
        "right": "access", "subject_role": "customer", "requester_name": "Siti Rahayu",
        "email": "siti@example.test", "phone": "", "shop_name": "Warung Bu Drajat", "language": "id",
        "submission_key": f"test-key-{next(_keys)}",
    }
    given.update(overrides)
    request, _created = services.request_submit(**given)
    return request


def code_sent(request: DataSubjectRequest, via: str = "email") -> str:
    """The newest code the outbox holds for one address of the request."""
    channel = "email" if via == "email" else via
    message = (
        OutboundMessage.objects.filter(
            pk__in=RequestMessage.objects.filter(request=request).values("message_id"), kind="request_code",
            channel=channel,
        ).order_by("-pk").first()
    )
    assert message is not None, f"no code sent by {via}"
    return re.search(r"(?<![\w-])(\d{6})(?![\w-])", message.body).group(1)


def verify(request: DataSubjectRequest) -> DataSubjectRequest:
    for code in request.codes.all():
        services.request_verify(request_id=request.pk, via=code.via, code=code_sent(request, code.via))
    request.refresh_from_db()
    return request


@pytest.fixture
def make_request(db):
    """A request at a given step: submitted, verified, in_review (assigned to `by`)."""

    def make(*, step: str = "verified", by=None, **overrides) -> DataSubjectRequest:
        request = submit(**overrides)
        if step == "submitted":
            return request
        request = verify(request)
        if step == "verified":
            return request
        services.request_assign(request_id=request.pk, actor=by, assignee=by)
        request.refresh_from_db()
        return request

    return make
