"""The status callbacks' register in the admin: who sees it, what a row says, its fixed query
count, the search by reference, and "Kirim ulang" on a failed callback (permission, confirmation,
back to the queue). The request page's short list of its callbacks is here too.

The API requests are made through the service (request_api_submit); the hundreds of callback
rows a query count needs are written directly, as setup only."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.urls import reverse

from consent.models import ApiClient
from consent.services import api_client_create
from merchants.tests.factories import MerchantFactory
from requests_portal.exceptions import NotPermitted, RequestError
from requests_portal.models import StatusCallback
from requests_portal.services.api import CALLBACK_TASK, request_api_submit, status_callback_retry

pytestmark = pytest.mark.django_db

LIST = reverse("admin:requests_portal_statuscallback_changelist")
_ids = itertools.count(1)


@pytest.fixture
def shop(db):
    return MerchantFactory(business_name="Warung Sari", owner_email="pemilik@warungsari.id")


def api_request(shop, *, client_name="JUNOPOS Kasir"):
    client = ApiClient.objects.filter(name=client_name).first()
    if client is None:
        client, _token = api_client_create(name=client_name, scopes=[ApiClient.Scope.REQUEST_WRITE], merchant_ids=[shop.pk])
    request, _created = request_api_submit(
        client=client, subject_request_id=f"kasir-{next(_ids):04d}", subject_request_type="access",
        subject_identities=[{"identity_type": "email", "identity_value": "siti@example.test"}], merchant_id=shop.pk,
        status_callback_urls=["https://kasir.example.test/dsr"],
    )
    return request


def callbacks(requests, count: int, **fields) -> list[StatusCallback]:
    """Rows as the sender leaves them, spread over the requests (setup only)."""
    given = {"state": StatusCallback.State.SENT, "attempts": 1}
    given.update(fields)
    return StatusCallback.objects.bulk_create(
        StatusCallback(request=requests[i % len(requests)], url="https://kasir.example.test/dsr",
                       payload={"request_status": "pending", "request_reference": requests[i % len(requests)].reference},
                       **given)
        for i in range(count)
    )


def failed(request) -> StatusCallback:
    (callback,) = callbacks([request], 1, state=StatusCallback.State.FAILED, attempts=8, last_error="HTTP 503")
    return callback


def retry(client, callback, *, confirmed: bool):
    data = {"action": "retry", "_selected_action": [callback.pk]}
    if confirmed:
        data["confirmed"] = "yes"
    return client.post(LIST, data)


# -- who sees it ----------------------------------------------------------------------------------


def test_officers_and_the_auditor_see_the_list_a_user_without_the_permission_does_not(client, shop, officer, dpo, auditor):
    callback = failed(api_request(shop))
    for user in (officer, dpo, auditor):
        client.force_login(user)
        response = client.get(LIST)
        assert response.status_code == 200, user
        assert [row.pk for row in response.context["cl"].result_list] == [callback.pk]
    stranger = User.objects.create_user("kasir", "kasir@junopos.test", "pw", is_staff=True)
    client.force_login(stranger)
    assert client.get(LIST).status_code == 403


def test_a_row_says_request_client_status_state_and_times_in_jakarta(client, shop, officer):
    request = api_request(shop)
    callback = failed(request)
    client.force_login(officer)
    html = client.get(LIST).content.decode()
    page = reverse("admin:requests_portal_datasubjectrequest_change", args=[request.pk])
    assert f'<a href="{page}" class="dsr-nowrap">{request.reference}</a>' in html
    assert "JUNOPOS Kasir" in html and "pending" in html and "HTTP 503" in html
    assert f'<span class="callback-state-failed">{callback.get_state_display()}</span>' in html
    assert "admin/callbacks.css" in html
    assert ' style="' not in html.split('id="changelist"', 1)[1]  # the CSP: classes, never inline styles
    # no add, no change, no delete
    assert client.get(reverse("admin:requests_portal_statuscallback_add")).status_code == 403
    assert client.post(reverse("admin:requests_portal_statuscallback_delete", args=[callback.pk])).status_code == 403
    change = client.get(reverse("admin:requests_portal_statuscallback_change", args=[callback.pk]))
    assert change.status_code == 200 and b'name="_save"' not in change.content


def test_the_list_runs_the_same_queries_at_20_and_200_rows(client, shop, officer, django_assert_num_queries):
    requests = [api_request(shop), api_request(shop), api_request(shop, client_name="JUNOPOS Online")]
    callbacks(requests, 20)
    client.force_login(officer)
    client.get(LIST)  # the session's first read of the user's permissions is not the list's
    # session, user, the user's and the groups' permissions, the bounded count, the rows with their
    # request and client, the clients of the client filter
    with django_assert_num_queries(7):
        small = client.get(LIST, {"all": ""})
    assert len(small.context["cl"].result_list) == 20
    callbacks(requests, 180, state=StatusCallback.State.FAILED, last_error="HTTP 500")
    with django_assert_num_queries(7):
        large = client.get(LIST, {"all": ""})
    assert len(large.context["cl"].result_list) == 200


def test_search_by_reference_finds_the_request_s_callbacks_only(client, shop, officer):
    mine, other = api_request(shop), api_request(shop)
    wanted = callbacks([mine], 2)
    callbacks([other], 3)
    client.force_login(officer)
    found = client.get(LIST, {"q": f" {mine.reference.lower()} "}).context["cl"].result_list
    assert sorted(c.pk for c in found) == sorted(c.pk for c in wanted)
    # exact: a bare number, a part of a reference, another reference or any other text finds nothing
    for term in (str(mine.pk), "DSR-2026-", "DSR-2026-999999", "siti@example.test", "kasir"):
        assert list(client.get(LIST, {"q": term}).context["cl"].result_list) == [], term


def test_the_filters_by_state_and_by_client(client, shop, officer):
    kasir, online = api_request(shop), api_request(shop, client_name="JUNOPOS Online")
    sent = callbacks([kasir], 1)
    broken = failed(online)
    client.force_login(officer)
    assert [c.pk for c in client.get(LIST, {"state__exact": "failed"}).context["cl"].result_list] == [broken.pk]
    assert [c.pk for c in client.get(LIST, {"request__api_client__id__exact": kasir.api_client_id})
            .context["cl"].result_list] == [sent[0].pk]


# -- sending again --------------------------------------------------------------------------------


def test_kirim_ulang_asks_first_then_puts_the_callback_back_in_the_queue(
    client, shop, officer, django_capture_on_commit_callbacks
):
    callback = failed(api_request(shop))
    client.force_login(officer)
    confirm = retry(client, callback, confirmed=False)
    assert confirm.status_code == 200 and confirm.templates[0].name == "admin/confirm_action.html"
    assert b'name="confirmed" value="yes"' in confirm.content and b"HTTP 503" in confirm.content
    callback.refresh_from_db()
    assert callback.state == StatusCallback.State.FAILED  # nothing until confirmed

    with django_capture_on_commit_callbacks() as queued:
        response = retry(client, callback, confirmed=True)
    assert response.status_code == 302
    callback.refresh_from_db()
    assert (callback.state, callback.attempts, callback.last_error) == ("queued", 0, "HTTP 503")
    assert len(queued) == 1  # the send, queued once the transaction committed
    assert any("diantrikan" in str(m) for m in get_messages(response.wsgi_request))
    entry = LogEntry.objects.get(object_id=str(callback.pk))
    assert entry.user == officer


def test_kirim_ulang_needs_the_work_permission(client, shop, auditor):
    callback = failed(api_request(shop))
    client.force_login(auditor)
    listing = client.get(LIST)
    assert "retry" not in listing.context["cl"].model_admin.get_actions(listing.wsgi_request)
    assert b'name="action"' not in listing.content
    retry(client, callback, confirmed=True)
    callback.refresh_from_db()
    assert callback.state == StatusCallback.State.FAILED
    # the service checks too: the admin is not the only door
    with pytest.raises(NotPermitted):
        status_callback_retry(callback_id=callback.pk, actor=auditor)


def test_only_a_failed_callback_is_sent_again(shop, officer, django_capture_on_commit_callbacks):
    (sent,) = callbacks([api_request(shop)], 1)
    with django_capture_on_commit_callbacks() as queued, pytest.raises(RequestError):
        status_callback_retry(callback_id=sent.pk, actor=officer)
    sent.refresh_from_db()
    assert sent.state == StatusCallback.State.SENT and queued == []


def test_the_retried_callback_is_queued_to_the_send_task(shop, officer, django_capture_on_commit_callbacks, monkeypatch):
    from junoprivacy.celery import app

    callback = failed(api_request(shop))
    delayed = []
    monkeypatch.setattr(app.tasks[CALLBACK_TASK], "delay", lambda *args: delayed.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        status_callback_retry(callback_id=callback.pk, actor=officer)
    assert delayed == [(callback.pk,)]


# -- the request page ------------------------------------------------------------------------------


def test_the_request_page_lists_its_callbacks(client, shop, officer):
    request = api_request(shop)
    failed(request)
    client.force_login(officer)
    html = client.get(reverse("admin:requests_portal_datasubjectrequest_change", args=[request.pk])).content.decode()
    assert "Callback status ke klien API" in html and "pending \u2014 gagal" in html
