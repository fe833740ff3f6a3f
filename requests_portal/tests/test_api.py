"""Data-subject requests through the JUNOPOS API (OpenDSR shape), and their signed status callbacks.

Every answer is validated against the served OpenAPI document (consent/tests/openapi.py). The
callbacks go to a real HTTP server started in a thread; the task runs in process, its retries too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from consent.models import ApiClient
from consent.services import api_client_create
from consent.services.clients import callback_key
from consent.tests.openapi import ApiCaller
from merchants.tests.factories import MerchantFactory
from messaging.models import OutboundMessage
from requests_portal import services
from requests_portal.models import Channel, DataSubjectRequest, RequestEvent, State, StatusCallback

from .conftest import code_sent, verify

pytestmark = pytest.mark.django_db

URL = "/api/v1/requests"


@pytest.fixture
def shop(db):
    return MerchantFactory(business_name="Warung Sari", owner_email="pemilik@warungsari.id")


@pytest.fixture
def other_shop(db):
    return MerchantFactory(business_name="Toko Maju", owner_email="pemilik@tokomaju.id")


@pytest.fixture
def token_for(shop):
    def make(*, scopes=(ApiClient.Scope.REQUEST_WRITE,), merchants=None, name="JUNOPOS Kasir") -> tuple[ApiClient, str]:
        return api_client_create(name=name, scopes=scopes, merchant_ids=[m.pk for m in (merchants or [shop])])

    return make


@pytest.fixture
def junopos(token_for):
    return token_for()


@pytest.fixture
def api():
    return ApiCaller()


def body(shop, **overrides) -> dict:
    given = {
        "subject_request_id": "kasir-0001",
        "subject_request_type": "access",
        "subject_identities": [{"identity_type": "email", "identity_value": "Siti@Example.TEST", "identity_format": "raw"}],
        "merchant_id": shop.pk,
    }
    given.update(overrides)
    return given


def request_of(external_id="kasir-0001") -> DataSubjectRequest:
    return DataSubjectRequest.objects.get(external_id=external_id)


# -- submit ---------------------------------------------------------------------------------------


def test_a_forwarded_request_is_an_intake_request_of_the_shops_customer(api, shop, junopos, client, officer):
    api_client, token = junopos
    before = timezone.now()
    response = api.post(URL, body(shop, details="Minta salinan riwayat belanja"), token=token)
    assert response.status_code == 201, response.json()
    answer = response.json()
    request = request_of()
    assert answer["subject_request_id"] == "kasir-0001"
    assert answer["request_reference"] == request.reference and answer["request_reference"].startswith("DSR-")
    assert answer["request_status"] == "pending" and answer["state"] == State.SUBMITTED
    assert answer["status_url"].endswith(f"{URL}/kasir-0001")
    # Not verified yet: the legal period from now (UU PDP: 3 x 24 hours), said to be an estimate.
    expected = parse_datetime(answer["expected_completion_time"])
    assert answer["expected_completion_is_estimate"] is True
    assert before + timedelta(hours=72) <= expected <= timezone.now() + timedelta(hours=72)
    assert answer["expected_completion_time"].endswith("+07:00")
    assert [item["state"] for item in answer["timeline"]] == [State.SUBMITTED]

    assert request.channel == Channel.API and request.api_client == api_client and request.merchant == shop
    assert request.subject_role == "customer" and request.shop_name == "Warung Sari"
    assert request.email == "siti@example.test" and request.state == State.SUBMITTED
    # The subject proves her identity by the code sent to her, as on the portal.
    assert len(code_sent(request)) == 6
    # In the officers' table.
    client.force_login(officer)
    page = client.get("/admin/requests_portal/datasubjectrequest/")
    assert page.status_code == 200 and request.reference in page.content.decode()


def test_a_retry_with_the_same_id_returns_the_same_request(api, shop, junopos):
    _client, token = junopos
    first = api.post(URL, body(shop), token=token)
    again = api.post(URL, body(shop, subject_request_type="erasure"), token=token)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["request_reference"] == first.json()["request_reference"]
    assert DataSubjectRequest.objects.count() == 1
    assert OutboundMessage.objects.filter(kind="request_code").count() == 1


def test_the_same_id_from_another_client_is_another_request(api, shop, token_for):
    _a, token_a = token_for(name="Kasir A")
    _b, token_b = token_for(name="Kasir B")
    assert api.post(URL, body(shop), token=token_a).status_code == 201
    assert api.post(URL, body(shop), token=token_b).status_code == 201
    assert DataSubjectRequest.objects.count() == 2


def test_a_withdrawal_names_its_purposes(api, shop, junopos):
    _client, token = junopos
    response = api.post(URL, body(shop, subject_request_type="withdrawal", purposes=["marketing"]), token=token)
    assert response.status_code == 201, response.json()
    assert list(request_of().purposes.values_list("key", flat=True)) == ["marketing"]


@pytest.mark.parametrize(
    "change, status, code, field",
    [
        ({"subject_request_type": "delete_everything"}, 422, "invalid", "subject_request_type"),
        ({"subject_identities": []}, 422, "invalid", "subject_identities"),
        ({"subject_identities": [{"identity_type": "email", "identity_value": "bukan-alamat"}]}, 422, "invalid",
         "subject_identities"),
        ({"subject_identities": [{"identity_type": "phone_number", "identity_value": "12"}]}, 422, "invalid",
         "subject_identities"),
        ({"status_callback_urls": ["http://kasir.example.test/cb"]}, 422, "invalid_callback_url",
         "status_callback_urls"),
        ({"status_callback_urls": ["https://a.example.test/cb", "https://b.example.test/cb"]}, 422, "invalid",
         "status_callback_urls"),
        ({"purposes": ["marketing"]}, 422, "invalid", "purposes"),
        ({"subject_request_type": "withdrawal", "purposes": ["tidak-ada"]}, 422, "unknown_purpose", "purposes"),
        ({"subject_request_type": "rectification"}, 422, "invalid", "wrong_data"),
    ],
)
def test_bad_input_is_refused_in_the_error_shape_and_creates_nothing(api, shop, junopos, change, status, code, field):
    _client, token = junopos
    response = api.post(URL, body(shop, **change), token=token)
    assert response.status_code == status, response.json()
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field) and error["message"]
    assert DataSubjectRequest.objects.count() == 0 and OutboundMessage.objects.count() == 0


def test_a_shop_outside_the_clients_scope_is_refused(api, shop, other_shop, junopos):
    _client, token = junopos
    response = api.post(URL, body(other_shop), token=token)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "merchant_not_allowed"
    assert DataSubjectRequest.objects.count() == 0


def test_a_token_without_request_write_is_refused(api, shop, token_for):
    _client, token = token_for(scopes=[ApiClient.Scope.CONSENT_READ])
    response = api.post(URL, body(shop), token=token)
    assert response.status_code == 403 and response.json()["error"]["code"] == "scope_missing"
    assert api.get(f"{URL}/kasir-0001", token=token).status_code == 403
    assert DataSubjectRequest.objects.count() == 0
    assert api.post(URL, body(shop)).status_code == 401


# -- status ---------------------------------------------------------------------------------------


def status_of(api, token, external_id="kasir-0001") -> dict:
    response = api.get(f"{URL}/{external_id}", token=token)
    assert response.status_code == 200, response.json()
    return response.json()


def test_the_status_follows_the_request_through_its_states(api, shop, junopos, officer):
    _client, token = junopos
    api.post(URL, body(shop), token=token)
    request = verify(request_of())
    answer = status_of(api, token)
    assert answer["request_status"] == "pending" and answer["expected_completion_is_estimate"] is False
    assert abs(parse_datetime(answer["expected_completion_time"]) - request.due_at) < timedelta(milliseconds=1)
    services.request_assign(request_id=request.pk, actor=officer, assignee=officer)
    services.request_approve(request_id=request.pk, actor=officer)
    assert status_of(api, token)["request_status"] == "pending"
    services.request_start(request_id=request.pk)
    assert status_of(api, token)["request_status"] == "in_progress"
    services.request_complete(request_id=request.pk, result="Salinan data dikirim.")
    answer = status_of(api, token)
    assert answer["request_status"] == "completed" and answer["denial_reason"] is None
    assert [item["state"] for item in answer["timeline"]] == [
        State.SUBMITTED, State.VERIFIED, State.IN_REVIEW, State.APPROVED, State.PROCESSING, State.COMPLETED,
    ]
    # No officer names, no notes.
    text = json.dumps(answer)
    assert "officer1" not in text and "Salinan data dikirim" not in text


def test_a_refused_request_is_denied_with_its_reason_code(api, shop, junopos, officer):
    _client, token = junopos
    api.post(URL, body(shop), token=token)
    request = verify(request_of())
    services.request_assign(request_id=request.pk, actor=officer, assignee=officer)
    services.request_refuse(request_id=request.pk, actor=officer, reason="unfounded", text="Permintaan berulang.")
    answer = status_of(api, token)
    assert (answer["request_status"], answer["denial_reason"]) == ("denied", "unfounded")
    assert "Permintaan berulang" not in json.dumps(answer)


def test_another_clients_request_is_not_found(api, shop, token_for):
    _a, token_a = token_for(name="Kasir A")
    _b, token_b = token_for(name="Kasir B")
    api.post(URL, body(shop), token=token_a)
    response = api.get(f"{URL}/kasir-0001", token=token_b)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


# -- cancel ---------------------------------------------------------------------------------------


def test_a_pending_request_is_cancelled_as_the_requesters_withdrawal(api, shop, junopos):
    api_client, token = junopos
    api.post(URL, body(shop), token=token)
    response = api.call("DELETE", f"{URL}/kasir-0001", token=token)
    assert response.status_code == 200, response.json()
    assert response.json()["request_status"] == "cancelled"
    request = request_of()
    assert request.state == State.WITHDRAWN
    event = request.events.get(verb="withdrawn")
    assert event.actor_kind == "requester" and event.actor is None and str(api_client.public_id) in event.note
    # A retried DELETE gets the same answer.
    assert api.call("DELETE", f"{URL}/kasir-0001", token=token).status_code == 200
    assert RequestEvent.objects.filter(request=request, verb="withdrawn").count() == 1


def test_an_approved_request_is_not_cancellable(api, shop, junopos, officer):
    _client, token = junopos
    api.post(URL, body(shop), token=token)
    request = verify(request_of())
    services.request_assign(request_id=request.pk, actor=officer, assignee=officer)
    services.request_approve(request_id=request.pk, actor=officer)
    response = api.call("DELETE", f"{URL}/kasir-0001", token=token)
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_cancellable"
    assert request_of().state == State.APPROVED


# -- status callbacks -----------------------------------------------------------------------------


class Receiver:
    """A tiny HTTP server in a thread: records each POST, answers the statuses it is given in turn."""

    def __init__(self, answers=(200,)):
        self.answers = list(answers)
        self.received: list[tuple[object, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((self.headers, raw))
                status = receiver.answers.pop(0) if len(receiver.answers) > 1 else receiver.answers[0]
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/juno/callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _callbacks_to_this_machine(settings):
    # The receivers below listen on 127.0.0.1, which production refuses (API_CALLBACK_ALLOW_PRIVATE).
    settings.API_CALLBACK_ALLOW_PRIVATE = True


def signature_valid(api_client, headers, raw: bytes) -> bool:
    parts = dict(part.split("=", 1) for part in headers["X-JUNO-Signature"].split(","))
    expected = hmac.new(callback_key(api_client).encode(), f"{parts['t']}.".encode() + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(parts["v1"], expected)


def test_each_state_change_is_called_back_signed(api, shop, junopos, settings, django_capture_on_commit_callbacks):
    settings.DEBUG = True  # the receiver speaks plain HTTP
    api_client, token = junopos
    with Receiver() as receiver:
        with django_capture_on_commit_callbacks(execute=True):
            api.post(URL, body(shop, status_callback_urls=[receiver.url]), token=token)
        assert receiver.received == []  # submission is not a change of state
        with django_capture_on_commit_callbacks(execute=True):
            request = verify(request_of())
        with django_capture_on_commit_callbacks(execute=True):
            api.call("DELETE", f"{URL}/kasir-0001", token=token)
    assert len(receiver.received) == 2
    payloads = []
    for headers, raw in receiver.received:
        assert signature_valid(api_client, headers, raw)
        assert headers["Content-Type"] == "application/json"
        payloads.append(json.loads(raw))
    assert set(payloads[0]) == {
        "subject_request_id", "request_reference", "request_status", "expected_completion_time", "status_callback_time",
    }
    assert payloads[0]["request_reference"] == request.reference and payloads[0]["subject_request_id"] == "kasir-0001"
    assert [p["request_status"] for p in payloads] == ["pending", "cancelled"]
    assert parse_datetime(payloads[0]["expected_completion_time"]) == request.due_at
    callbacks = StatusCallback.objects.filter(request=request).order_by("pk")
    assert [(c.state, c.attempts) for c in callbacks] == [("sent", 1), ("sent", 1)]
    assert all(c.sent_at for c in callbacks)


@pytest.fixture
def eager_retries():
    """In process, a task's retry runs at once (its back-off skipped) unless errors propagate."""
    from junoprivacy.celery import app

    previous = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = previous


def test_a_receiver_answering_500_is_tried_again_and_a_4xx_is_final(
    api, shop, junopos, settings, django_capture_on_commit_callbacks, eager_retries
):
    settings.DEBUG = True
    api_client, token = junopos
    with Receiver(answers=[500, 200]) as receiver:
        api.post(URL, body(shop, status_callback_urls=[receiver.url]), token=token)
        with django_capture_on_commit_callbacks(execute=True):
            request = verify(request_of())
    callback = StatusCallback.objects.get(request=request)
    assert (callback.state, callback.attempts, callback.last_error) == ("sent", 2, "")
    assert len(receiver.received) == 2 and all(signature_valid(api_client, h, raw) for h, raw in receiver.received)

    with Receiver(answers=[410]) as gone:
        api.post(URL, body(shop, subject_request_id="kasir-0002", status_callback_urls=[gone.url]), token=token)
        with django_capture_on_commit_callbacks(execute=True):
            verify(request_of("kasir-0002"))
    callback = StatusCallback.objects.get(request__external_id="kasir-0002")
    assert (callback.state, callback.attempts, callback.last_error) == ("failed", 1, "HTTP 410")
    assert len(gone.received) == 1


def test_a_receiver_that_is_down_never_blocks_the_workflow(api, shop, junopos, settings, django_capture_on_commit_callbacks):
    settings.DEBUG = True
    _client, token = junopos
    with Receiver() as receiver:
        dead_url = receiver.url
    api.post(URL, body(shop, status_callback_urls=[dead_url]), token=token)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        request = verify(request_of())
    assert request.state == State.VERIFIED
    callback = StatusCallback.objects.get(request=request)
    assert callback.state == "queued" and callback.payload["request_status"] == "pending"
    # The service alone: a refused connection is a retry, recorded without the body.
    with pytest.raises(services.api.CallbackRetry):
        services.status_callback_send(callback_id=callback.pk)
    callback.refresh_from_db()
    assert (callback.state, callback.attempts) == ("queued", 1) and "Connection" in callback.last_error
    assert queued  # the task was queued on commit, not run inside the transaction


def test_an_expired_request_is_called_back_cancelled(api, shop, junopos, settings, django_capture_on_commit_callbacks):
    settings.DEBUG = True
    _client, token = junopos
    with Receiver() as receiver:
        api.post(URL, body(shop, status_callback_urls=[receiver.url]), token=token)
        with django_capture_on_commit_callbacks(execute=True):
            services.request_expire(request_id=request_of().pk, now=timezone.now() + timedelta(days=8))
    assert [json.loads(raw)["request_status"] for _h, raw in receiver.received] == ["cancelled"]
    assert status_of(api, token)["request_status"] == "cancelled"


def test_a_callback_whose_task_was_lost_is_queued_again_and_sent_once(
    api, shop, junopos, settings, django_capture_on_commit_callbacks
):
    settings.DEBUG = True
    _client, token = junopos
    with Receiver() as receiver:
        api.post(URL, body(shop, status_callback_urls=[receiver.url]), token=token)
        with django_capture_on_commit_callbacks(execute=False):
            request = verify(request_of())  # the broker lost the task
        callback = StatusCallback.objects.get(request=request)
        assert services.status_callbacks_resume_stalled() == []  # not yet: it may still be on its way
        with django_capture_on_commit_callbacks(execute=True):
            assert services.status_callbacks_resume_stalled(now=timezone.now() + timedelta(minutes=16)) == [callback.pk]
        # A second copy of the task finds it sent and does nothing.
        assert services.status_callback_send(callback_id=callback.pk) is None
    callback.refresh_from_db()
    assert (callback.state, callback.attempts, len(receiver.received)) == ("sent", 1, 1)


def test_an_idempotency_key_replays_the_first_answer(api, shop, junopos):
    _client, token = junopos
    first = api.post(URL, body(shop), token=token, headers={"Idempotency-Key": "k-1"})
    again = api.post(URL, body(shop), token=token, headers={"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 201) and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() and DataSubjectRequest.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_racing_submissions_with_one_id_make_one_request(seeded, shop, junopos):
    from django.db import connection

    api_client, _token = junopos
    barrier, made, failures = threading.Barrier(2), [], []

    def submit_once():
        try:
            barrier.wait(timeout=10)
            made.append(services.request_api_submit(
                client=api_client, subject_request_id="kasir-race", subject_request_type="access",
                subject_identities=[{"identity_type": "email", "identity_value": "siti@example.test"}],
                merchant_id=shop.pk,
            ))
        except Exception as exc:  # noqa: BLE001  (reported below)
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures, failures
    assert sorted(created for _request, created in made) == [False, True]
    assert len({request.pk for request, _created in made}) == 1
    assert DataSubjectRequest.objects.filter(external_id="kasir-race").count() == 1


@pytest.mark.parametrize("url", ["https://127.0.0.1:9/cb", "https://10.1.2.3/cb", "https://[::1]/cb", "https://169.254.169.254/latest"])
def test_a_callback_to_a_private_address_is_refused_without_being_called(api, shop, junopos, settings, url):
    """A token holder must not make the portal call into its own network (SSRF)."""
    from requests_portal.models import StatusCallback
    from requests_portal.services.api import status_callback_send

    settings.API_CALLBACK_ALLOW_PRIVATE = False
    settings.DEBUG = True  # http/https both accepted at submission; the address is what is refused
    assert api.post("/api/v1/requests", body(shop, status_callback_urls=[url]), token=junopos[1]).status_code == 201
    request = request_of()
    callback = StatusCallback.objects.create(request=request, url=url, payload={"request_status": "pending"})
    sent = status_callback_send(callback_id=callback.pk)
    assert sent.state == StatusCallback.State.FAILED and sent.last_error.startswith("refused")
