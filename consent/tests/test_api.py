"""The JSON API for JUNOPOS (/api/v1/): every answer validated against the served OpenAPI document
(consent/tests/openapi.py), on the real PostgreSQL and Redis."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from consent.api import auth
from consent.models import (
    ApiClient, ConsentEvent, ConsentState, Disclosure, IdempotencyKey, PolicyAcceptance, Recipient,
)
from consent.selectors import purpose_get
from consent.services import api_client_create, api_client_revoke, api_client_rotate, consent_record, subject_ref
from consent.tests.openapi import ApiCaller, openapi_document
from merchants.tests.factories import MerchantFactory
from retention.models import ChurnEvent, PurgeSchedule

ALL_SCOPES = ApiClient.Scope.values
CHECK = "/api/v1/consent/check"
BATCH = "/api/v1/consent/check-batch"
EVENTS = "/api/v1/consent/events"
DISCLOSURES = "/api/v1/disclosures"
SITI = "siti@pelanggan.id"


@pytest.fixture
def api():
    return ApiCaller(Client())


@pytest.fixture
def make_client(db):
    def make(*, scopes=ALL_SCOPES, merchants=(), all_merchants=False, rate_limit=None, name="Kasir JUNOPOS"):
        client, token = api_client_create(
            name=name, scopes=scopes, merchant_ids=[m.pk for m in merchants], all_merchants=all_merchants,
            rate_limit=rate_limit,
        )
        return client, token

    return make


@pytest.fixture
def shop_token(make_client, shop):
    return make_client(merchants=[shop])[1]


@pytest.fixture
def junopos_token(make_client):
    return make_client(all_merchants=True, name="JUNOPOS back office")[1]


@pytest.fixture
def partner(db):
    recipient = Recipient.objects.create(
        name="Mitra Promo Nusantara", kind=Recipient.Kind.AFFILIATE, country="SG",
        categories=["identity", "contact"], erasure_contact="privasi@mitrapromo.sg",
    )
    recipient.purposes.add(purpose_get("marketing"))
    return recipient


def ledger_counts():
    return (ConsentEvent.objects.count(), ConsentState.objects.count(), IdempotencyKey.objects.count(),
            Disclosure.objects.count())


def record(action, purpose="marketing", *, merchant=None, email=SITI, at=None):
    return consent_record(
        subject=subject_ref(email=email, merchant_id=merchant.pk if merchant else None), purpose=purpose,
        action=action, channel="till", occurred_at=at,
    )


# -- the document ---------------------------------------------------------------------------


def test_the_openapi_document_is_served_valid_and_declares_every_error(api):
    document = openapi_document()  # validated by openapi-spec-validator on load
    assert document["info"] == {"title": "JUNO Privacy API", "version": "1", "description": document["info"]["description"]}
    assert "/api/v1/consent/check" in document["paths"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert "401" in operation["responses"], (method, path)
            assert "429" in operation["responses"], (method, path)
            error = operation["responses"]["401"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorOut"}
    # No docs page (Swagger comes from a CDN the CSP forbids): a JSON 404 like any unknown path.
    response = api.get("/api/v1/docs")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


# -- who calls ------------------------------------------------------------------------------


def test_no_token_a_wrong_one_or_another_scheme_is_401(api, shop_token):
    body = {"email": SITI, "purpose": "marketing"}
    for headers in ({}, {"Authorization": "Bearer jp_not-a-token"}, {"Authorization": f"Basic {shop_token}"}):
        response = api.post(CHECK, body, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthenticated"
        assert response["WWW-Authenticate"] == "Bearer"
    assert api.post(CHECK, body, token=shop_token).status_code == 200


def test_a_revoked_token_is_refused_on_the_very_next_call(api, make_client, shop):
    client, token = make_client(merchants=[shop])
    body = {"email": SITI, "purpose": "marketing", "merchant_id": shop.pk}
    assert api.post(CHECK, body, token=token).status_code == 200
    api_client_revoke(client_id=client.pk)
    response = api.post(CHECK, body, token=token)
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthenticated"


def test_last_use_is_written_at_most_once_a_minute(api, make_client):
    client, token = make_client(all_merchants=True)
    api.post(CHECK, {"email": SITI, "purpose": "marketing"}, token=token)
    first = ApiClient.objects.get(pk=client.pk).last_used_at
    assert first is not None
    api.post(CHECK, {"email": SITI, "purpose": "marketing"}, token=token)
    assert ApiClient.objects.get(pk=client.pk).last_used_at == first
    ApiClient.objects.filter(pk=client.pk).update(last_used_at=first - timedelta(minutes=2))
    auth._known.clear()  # another process, or this one once its copy of the client (30 s) ran out
    api.post(CHECK, {"email": SITI, "purpose": "marketing"}, token=token)
    assert ApiClient.objects.get(pk=client.pk).last_used_at > first


def test_a_client_kept_by_the_process_is_refused_at_once_when_revoked_or_rotated(api, make_client):
    """The process keeps the client it read (no query per call), yet a revocation or a rotation is
    seen at the very next call: the rate limit's Redis round trip reads the client's change mark."""
    client, token = make_client(all_merchants=True)
    body = {"email": SITI, "purpose": "marketing"}
    assert api.post(CHECK, body, token=token).status_code == 200
    _rotated, new_token = api_client_rotate(client_id=client.pk)
    assert api.post(CHECK, body, token=token).status_code == 401
    assert api.post(CHECK, body, token=new_token).status_code == 200
    api_client_revoke(client_id=client.pk)
    assert api.post(CHECK, body, token=new_token).status_code == 401


def test_a_single_check_is_the_tokens_query_and_the_checks_query(api, make_client, shop, django_assert_num_queries):
    client, token = make_client(merchants=[shop])
    ApiClient.objects.filter(pk=client.pk).update(last_used_at=timezone.now())
    purpose_get("marketing")  # the purposes are cached per process
    with django_assert_num_queries(2):
        response = api.post(CHECK, {"email": SITI, "purpose": "marketing", "merchant_id": shop.pk}, token=token)
    assert response.status_code == 200


def test_each_endpoint_needs_its_scope(api, make_client, shop, partner):
    token = make_client(scopes=[ApiClient.Scope.CONSENT_READ], all_merchants=True)[1]
    calls = [
        (EVENTS, {"email": SITI, "purpose": "marketing", "action": "given"}),
        (DISCLOSURES, {"recipient_id": partner.pk, "purpose": "marketing", "categories": ["contact"], "email": SITI}),
        (f"/api/v1/merchants/{shop.pk}/churn", {}),
        (f"/api/v1/merchants/{shop.pk}/reactivation", {}),
        ("/api/v1/policy/acceptances", {"merchant_id": shop.pk, "version": "2023.1"}),
    ]
    before = ledger_counts()
    for path, body in calls:
        response = api.post(path, body, token=token)
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "scope_missing", path
    assert ledger_counts() == before
    assert not ChurnEvent.objects.exists() and not PolicyAcceptance.objects.exists()
    reader_only = make_client(scopes=[ApiClient.Scope.CONSENT_WRITE], all_merchants=True)[1]
    assert api.post(CHECK, {"email": SITI, "purpose": "marketing"}, token=reader_only).json()["error"]["code"] == "scope_missing"


def test_a_client_acts_only_for_its_merchants(api, shop, other_shop, shop_token):
    before = ledger_counts()
    denied = [
        (CHECK, {"email": SITI, "purpose": "marketing", "merchant_id": other_shop.pk}, "merchant_id"),
        (BATCH, {"checks": [{"email": SITI, "purpose": "marketing", "merchant_id": shop.pk},
                            {"email": SITI, "purpose": "marketing", "merchant_id": other_shop.pk}]},
         "checks.1.merchant_id"),
        (EVENTS, {"email": SITI, "purpose": "marketing", "action": "given", "merchant_id": other_shop.pk}, "merchant_id"),
        # Writing JUNOPOS's own consent (no merchant) is for a client of all merchants.
        (EVENTS, {"email": SITI, "purpose": "marketing", "action": "given"}, "merchant_id"),
        (f"/api/v1/merchants/{other_shop.pk}/churn", {}, "merchant_id"),
        ("/api/v1/policy/acceptances", {"merchant_id": other_shop.pk, "version": "2023.1"}, "merchant_id"),
    ]
    for path, body, field in denied:
        response = api.post(path, body, token=shop_token)
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "merchant_not_allowed", path
        assert response.json()["error"]["field"] == field, path
    assert ledger_counts() == before
    assert not ChurnEvent.objects.exists()
    other_shop.refresh_from_db()
    assert other_shop.churned_at is None
    ok = api.post(EVENTS, {"email": SITI, "purpose": "marketing", "action": "given", "merchant_id": shop.pk}, token=shop_token)
    assert ok.status_code == 201


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, status, code, field", [
    ("{not json", 400, "malformed_json", None),
    ('{"email": "siti@pelanggan.id", "action": "given"}', 422, "invalid", "purpose"),
    ('{"email": "siti@pelanggan.id", "purpose": "marketing", "action": "given", "colour": "red"}', 422, "invalid", "colour"),
    ('{"email": "siti@pelanggan.id", "purpose": "marketing", "action": "maybe"}', 422, "invalid", "action"),
    ('{"email": "siti@pelanggan.id", "purpose": "marketing", "action": "given", "merchant_id": "x"}', 422, "invalid", "merchant_id"),
    ('{"email": "siti@pelanggan.id", "purpose": "astrology", "action": "given"}', 422, "unknown_purpose", "purpose"),
    ('{"email": "not an address", "purpose": "marketing", "action": "given"}', 422, "invalid_email", "email"),
    ('{"purpose": "marketing", "action": "given"}', 422, "no_subject", "email"),
    ('{"email": "siti@pelanggan.id", "purpose": "transactions", "action": "given"}', 422, "basis_not_consent", "purpose"),
    ('{"email": "siti@pelanggan.id", "purpose": "marketing", "action": "given", "occurred_at": "2099-01-01T00:00:00+07:00"}',
     422, "future_time", "occurred_at"),
    ('{"email": "siti@pelanggan.id", "purpose": "marketing", "action": "given", "occurred_at": "2025-01-01T00:00:00"}',
     422, "naive_time", "occurred_at"),
    ('{"email": "siti@pelanggan.id", "purpose": "marketing", "action": "given", "policy_version": "1999.9"}',
     422, "unknown_policy_version", "policy_version"),
    ('{"email": "siti@pelanggan.id", "purpose": "marketing", "action": "given", "ip_address": "999.1.1.1"}',
     422, "invalid", "ip_address"),
    ('{"email": "siti@pelanggan.id", "purpose": "marketing", "action": "given", "merchant_id": 999999999}',
     422, "unknown_merchant", "merchant_id"),
])
def test_bad_input_gets_the_error_shape_and_changes_nothing(api, junopos_token, raw, status, code, field):
    before = ledger_counts()
    response = api.post(EVENTS, raw=raw, token=junopos_token, headers={"Idempotency-Key": "bad-1"})
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    if code == "invalid":
        assert error["details"] and error["details"][0]["field"] == field
    assert ledger_counts() == before


def test_bad_input_in_the_other_endpoints(api, junopos_token, shop, partner):
    before = ledger_counts()
    cases = [
        (CHECK, {"email": SITI}, "invalid", "purpose"),
        (CHECK, {"phone": "12", "purpose": "marketing"}, "invalid_phone", "phone"),
        (BATCH, {"checks": [{"email": SITI, "purpose": "marketing"}, {"email": SITI, "purpose": "nope"}]},
         "unknown_purpose", "checks.1.purpose"),
        (BATCH, {"checks": []}, "invalid", "checks"),
        (DISCLOSURES, {"recipient_id": 999999, "purpose": "marketing", "categories": ["contact"], "email": SITI},
         "unknown_recipient", "recipient_id"),
        (DISCLOSURES, {"recipient_id": partner.pk, "purpose": "marketing", "categories": ["horoscope"], "email": SITI},
         "unknown_category", "categories"),
        (f"/api/v1/merchants/{shop.pk}/churn", {"churned_at": "2099-01-01T00:00:00+07:00"}, "future_time", "churned_at"),
        ("/api/v1/policy/acceptances", {"merchant_id": shop.pk, "version": "1999.9"}, "unknown_policy_version", "version"),
    ]
    for path, body, code, field in cases:
        response = api.post(path, body, token=junopos_token)
        assert response.status_code == 422, (path, response.content)
        assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (code, field), path
    assert ledger_counts() == before
    assert not ChurnEvent.objects.exists() and not PolicyAcceptance.objects.exists()


def test_messages_follow_accept_language_and_the_shape_holds(api, shop_token):
    indonesian = api.post(CHECK, {"email": "x", "purpose": "marketing"}, token=shop_token)
    english = api.post(CHECK, {"email": "x", "purpose": "marketing"}, token=shop_token, language="en")
    assert english["Content-Language"] == "en" and indonesian["Content-Language"] == "id"
    assert english.json()["error"]["code"] == indonesian.json()["error"]["code"] == "invalid_email"
    unauthenticated = api.post(CHECK, {"email": SITI, "purpose": "marketing"}, language="en")
    assert unauthenticated.json()["error"]["code"] == "unauthenticated"


# -- idempotency ----------------------------------------------------------------------------


def test_a_retried_event_is_recorded_once_and_answered_the_same(api, junopos_token):
    body = {"email": SITI, "purpose": "marketing", "action": "given", "channel": "till", "reference": "STRUK-1"}
    first = api.post(EVENTS, body, token=junopos_token, headers={"Idempotency-Key": "till-7-0001"})
    assert first.status_code == 201 and not first.has_header("Idempotent-Replayed")
    again = api.post(EVENTS, body, token=junopos_token, headers={"Idempotency-Key": "till-7-0001"})
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert ConsentEvent.objects.count() == 1 and IdempotencyKey.objects.count() == 1
    stored = IdempotencyKey.objects.get()
    assert (stored.subject_email, stored.status_code) == (SITI, 201)
    # Without a key, each call is its own.
    api.post(EVENTS, body, token=junopos_token)
    assert ConsentEvent.objects.count() == 2


def test_a_key_reused_for_another_body_or_endpoint_is_409(api, junopos_token, partner):
    body = {"email": SITI, "purpose": "marketing", "action": "given"}
    api.post(EVENTS, body, token=junopos_token, headers={"Idempotency-Key": "k-1"})
    other_body = api.post(EVENTS, {**body, "action": "withdrawn"}, token=junopos_token, headers={"Idempotency-Key": "k-1"})
    assert other_body.status_code == 409 and other_body.json()["error"]["code"] == "idempotency_conflict"
    other_endpoint = api.post(
        DISCLOSURES, {"recipient_id": partner.pk, "purpose": "marketing", "categories": ["contact"], "email": SITI},
        token=junopos_token, headers={"Idempotency-Key": "k-1"},
    )
    assert other_endpoint.status_code == 409
    assert ConsentEvent.objects.count() == 1 and not Disclosure.objects.exists()
    # The same body with its keys in another order is the same call.
    reordered = api.post(EVENTS, raw='{"action": "given", "purpose": "marketing", "email": "siti@pelanggan.id"}',
                         token=junopos_token, headers={"Idempotency-Key": "k-1"})
    assert reordered.status_code == 201 and reordered["Idempotent-Replayed"] == "true"


def test_keys_are_per_client(api, make_client):
    one, two = make_client(all_merchants=True)[1], make_client(all_merchants=True, name="Aplikasi")[1]
    body = {"email": SITI, "purpose": "marketing", "action": "given"}
    api.post(EVENTS, body, token=one, headers={"Idempotency-Key": "same"})
    assert api.post(EVENTS, body, token=two, headers={"Idempotency-Key": "same"}).status_code == 201
    assert ConsentEvent.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_calls_with_one_key_record_once(seeded, make_client):
    token = make_client(all_merchants=True)[1]
    body = {"email": SITI, "purpose": "marketing", "action": "given"}
    barrier, statuses = threading.Barrier(4), []

    def call():
        try:
            barrier.wait()
            response = ApiCaller(Client()).post(EVENTS, body, token=token, headers={"Idempotency-Key": "race"})
            statuses.append((response.status_code, response.json()["id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == 4
    assert {status for status, _id in statuses} == {201}
    assert len({event_id for _status, event_id in statuses}) == 1
    assert ConsentEvent.objects.count() == 1 and IdempotencyKey.objects.count() == 1


# -- rate limit -----------------------------------------------------------------------------


def test_a_client_over_its_rate_is_429_with_retry_after(api, make_client, shop):
    token = make_client(all_merchants=True, rate_limit=3)[1]
    body = {"email": SITI, "purpose": "marketing"}
    assert [api.post(CHECK, body, token=token).status_code for _ in range(3)] == [200, 200, 200]
    response = api.post(CHECK, body, token=token)
    assert response.status_code == 429 and response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    # Another client is counted apart.
    assert api.post(CHECK, body, token=make_client(all_merchants=True)[1]).status_code == 200


def test_calls_go_through_when_redis_is_down(api, make_client, settings, caplog):
    token = make_client(all_merchants=True, rate_limit=1)[1]
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    for _ in range(3):
        assert api.post(CHECK, {"email": SITI, "purpose": "marketing"}, token=token).status_code == 200
    assert "Redis is unavailable" in caplog.text


# -- the check ------------------------------------------------------------------------------


def check(api, token, purpose, **subject):
    response = api.post(CHECK, {"email": SITI, "purpose": purpose, **subject}, token=token)
    assert response.status_code == 200, response.content
    return response.json()


def test_answers_for_each_legal_basis(api, junopos_token, shop):
    assert check(api, junopos_token, "marketing") | {"decided_at": None} == {
        "allowed": False, "purpose": "marketing", "basis": "consent", "reason": "no_consent", "event_id": None,
        "decided_at": None,
    }
    given = record("given")
    answer = check(api, junopos_token, "marketing")
    assert (answer["allowed"], answer["reason"], answer["event_id"]) == (True, "consent_given", given.pk)
    assert answer["decided_at"].endswith("+07:00")
    withdrawn = record("withdrawn")
    answer = check(api, junopos_token, "marketing")
    assert (answer["allowed"], answer["reason"], answer["event_id"]) == (False, "consent_withdrawn", withdrawn.pk)

    answer = check(api, junopos_token, "service-improvement")
    assert (answer["allowed"], answer["basis"], answer["reason"]) == (True, "legitimate_interest", "not_objected")
    objection = record("withdrawn", "service-improvement")
    answer = check(api, junopos_token, "service-improvement")
    assert (answer["allowed"], answer["reason"], answer["event_id"]) == (False, "objected", objection.pk)
    lifted = record("given", "service-improvement")  # the objection lifted
    answer = check(api, junopos_token, "service-improvement")
    assert (answer["allowed"], answer["reason"], answer["event_id"]) == (True, "not_objected", lifted.pk)

    answer = check(api, junopos_token, "transactions")
    assert (answer["allowed"], answer["basis"], answer["reason"]) == (True, "contract", "basis")
    restriction = record("restricted", "transactions", merchant=shop)
    answer = check(api, junopos_token, "transactions", merchant_id=shop.pk)
    assert (answer["allowed"], answer["reason"], answer["event_id"]) == (False, "restricted", restriction.pk)
    record("unrestricted", "transactions", merchant=shop)
    assert check(api, junopos_token, "transactions", merchant_id=shop.pk)["reason"] == "basis"
    assert check(api, junopos_token, "kyc")["basis"] == "legal_obligation"


def test_a_batch_of_1000_is_answered_in_order_and_1001_refused(api, junopos_token, django_assert_max_num_queries):
    record("given", email="ayu@pelanggan.id")
    checks = [{"email": "ayu@pelanggan.id" if i % 2 else f"p{i}@pelanggan.id", "purpose": "marketing"} for i in range(1000)]
    with django_assert_max_num_queries(3):  # the token, (its last use), the checks
        response = api.post(BATCH, {"checks": checks}, token=junopos_token)
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 1000
    assert [r["allowed"] for r in results[:4]] == [False, True, False, True]
    too_many = api.post(BATCH, {"checks": checks + [checks[0]]}, token=junopos_token)
    assert too_many.status_code == 422
    assert too_many.json()["error"]["code"] == "invalid" and too_many.json()["error"]["field"] == "checks"


# -- disclosures, merchants, policy ---------------------------------------------------------


def test_a_refused_disclosure_is_recorded_and_answered_403(api, junopos_token, partner):
    body = {"recipient_id": partner.pk, "purpose": "marketing", "categories": ["contact"], "email": SITI}
    refused = api.post(DISCLOSURES, body, token=junopos_token, headers={"Idempotency-Key": "d-1"})
    assert refused.status_code == 403
    data = refused.json()
    assert data["error"]["code"] == "disclosure_refused"
    assert data["error"]["details"][0]["code"] == "no_consent"
    disclosure = Disclosure.objects.get()
    assert data["disclosure"]["id"] == disclosure.pk
    assert (disclosure.outcome, disclosure.refusal, disclosure.email) == ("refused", "no_consent", SITI)
    assert disclosure.client.name == "JUNOPOS back office" and disclosure.transfer_abroad
    replay = api.post(DISCLOSURES, body, token=junopos_token, headers={"Idempotency-Key": "d-1"})
    assert replay.status_code == 403 and replay.json() == data and Disclosure.objects.count() == 1

    record("given")
    allowed = api.post(DISCLOSURES, body, token=junopos_token)
    assert allowed.status_code == 201
    assert (allowed.json()["outcome"], allowed.json()["refusal"]) == ("allowed", None)
    assert Disclosure.objects.filter(outcome="allowed").count() == 1


def test_churn_and_reactivation_reach_retention(api, shop, shop_token, junopos_token):
    churned_at = (timezone.now() - timedelta(days=2)).isoformat()
    response = api.post(f"/api/v1/merchants/{shop.pk}/churn", {"churned_at": churned_at}, token=shop_token)
    assert response.status_code == 200
    schedule = PurgeSchedule.objects.get(merchant=shop)
    assert schedule.state == PurgeSchedule.State.SCHEDULED
    assert response.json()["purge_state"] == "scheduled"
    event = ChurnEvent.objects.get(merchant=shop)
    assert (event.kind, event.source) == (ChurnEvent.Kind.CHURNED, ChurnEvent.Source.JUNOPOS)
    # Reported twice: nothing new.
    assert api.post(f"/api/v1/merchants/{shop.pk}/churn", {"churned_at": churned_at}, token=shop_token).status_code == 200
    assert ChurnEvent.objects.filter(merchant=shop).count() == 1

    response = api.post(f"/api/v1/merchants/{shop.pk}/reactivation", token=shop_token)
    assert response.status_code == 200 and response.json()["churned_at"] is None
    schedule.refresh_from_db()
    shop.refresh_from_db()
    assert schedule.state == PurgeSchedule.State.CANCELLED and shop.churned_at is None
    assert ChurnEvent.objects.filter(merchant=shop, kind=ChurnEvent.Kind.REACTIVATED).count() == 1

    assert api.post("/api/v1/merchants/999999999/churn", {}, token=junopos_token).status_code == 404
    PurgeSchedule.objects.filter(pk=schedule.pk).update(state=PurgeSchedule.State.PURGED)
    conflict = api.post(f"/api/v1/merchants/{shop.pk}/churn", {}, token=shop_token)
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "merchant_state_conflict"


def test_policy_acceptance_is_recorded_once(api, shop, shop_token):
    current = api.get("/api/v1/policy/current", token=shop_token)
    assert current.status_code == 200
    version = current.json()["version"]
    assert current.json()["url"].endswith(f"/kebijakan/{version}/")
    body = {"merchant_id": shop.pk, "version": version}
    first = api.post("/api/v1/policy/acceptances", body, token=shop_token)
    assert first.status_code == 201 and first.json()["created"] is True
    second = api.post("/api/v1/policy/acceptances", body, token=shop_token)
    assert second.status_code == 200 and second.json()["created"] is False
    acceptance = PolicyAcceptance.objects.get()
    assert (acceptance.merchant_id, acceptance.version.version, acceptance.channel) == (shop.pk, version, "api")
    assert api.get("/api/v1/policy/current").status_code == 401


def test_an_unknown_path_under_the_api_is_a_json_404(api):
    response = api.get("/api/v1/nothing/here")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
