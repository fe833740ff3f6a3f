"""A correction request carried out field by field: the selector, the three services, the admin section."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from merchants.models import LoyaltyCustomer, Merchant
from merchants.tests.factories import LoyaltyCustomerFactory, MerchantFactory, SaleFactory
from messaging.models import OutboundMessage
from requests_portal import services
from requests_portal.correction import correctable_fields
from requests_portal.exceptions import NotPermitted, RequestError, TransitionRefused
from requests_portal.models import CorrectionItem, DataSubjectRequest, RequestEvent, RequestMessage, State
from retention.registry import datamap

pytestmark = pytest.mark.django_db

SITI = "siti@example.test"
CUSTOMER = "merchants.LoyaltyCustomer"


@pytest.fixture
def shop(db):
    return MerchantFactory(business_name="Warung Bu Drajat")


@pytest.fixture
def siti(shop):
    return LoyaltyCustomerFactory(merchant=shop, name="Siti Rahau", email=SITI, phone="0857 1111 2222",
                                  phone_e164="+6285711112222")


@pytest.fixture
def bystander(shop):
    return LoyaltyCustomerFactory(merchant=shop, name="Budi", email="budi@example.test")


@pytest.fixture
def correction(make_request, officer, siti):
    return make_request(
        step="in_review", by=officer, right="correction", email=SITI, wrong_data="Nama: Siti Rahau",
        correct_data="Nama: Siti Rahayu; telepon 0812-3456-7890",
    )


def approve(request, officer):
    services.request_approve(request_id=request.pk, actor=officer)


def told_messages(request):
    return OutboundMessage.objects.filter(
        pk__in=RequestMessage.objects.filter(request=request).values("message_id"), kind="request_update"
    )


# -- the selector ------------------------------------------------------------------------------


def test_selector_finds_only_correctable_fields_of_her_rows(correction, siti, bystander):
    SaleFactory(merchant=siti.merchant, customer=siti)  # a sale of hers: no correctable field
    found = correctable_fields(correction)
    assert found, "her loyalty membership has correctable fields"
    assert {f.label for f in found} == {CUSTOMER}
    assert {f.pk for f in found} == {siti.pk}
    declared = {n for n, p in datamap.maps[CUSTOMER].personal.items() if p.correctable}
    assert {f.field for f in found} == declared
    assert "loyalty_card_number" not in declared and "points" not in declared
    name = next(f for f in found if f.field == "name")
    assert name.value == "Siti Rahau" and name.verbose_name and name.merchant_id == siti.merchant_id


def test_selector_finds_nothing_before_verification(make_request, siti):
    request = make_request(step="submitted", right="correction", email=SITI, wrong_data="x", correct_data="y")
    assert correctable_fields(request) == []


def test_selector_finds_an_owner_s_merchant_fields_by_her_phone(make_request, officer):
    merchant = MerchantFactory(owner_phone="0811 2222 3333", owner_phone_e164="+6281122223333")
    request = make_request(step="in_review", by=officer, right="correction", email="", phone="0811-2222-3333",
                           wrong_data="x", correct_data="y")
    labels = {(f.label, f.pk) for f in correctable_fields(request)}
    assert ("merchants.Merchant", merchant.pk) in labels
    assert all(label != CUSTOMER for label, _pk in labels)


# -- proposing -----------------------------------------------------------------------------------


def test_a_phone_typed_nationally_is_proposed_and_stored_in_e164(correction, officer, siti):
    [item] = services.correction_propose(
        request_id=correction.pk, items=[(CUSTOMER, siti.pk, "phone", "0812-3456-7890")], actor=officer
    )
    assert item.current_value == "0857 1111 2222"
    assert item.proposed_value == "+6281234567890"
    assert item.decision == CorrectionItem.Decision.PENDING
    event = RequestEvent.objects.filter(request=correction).order_by("-seq").first()
    assert event.verb == "correction_proposed" and "+6281234567890" in event.note


def test_another_person_s_row_is_refused_and_nothing_written(correction, officer, siti, bystander):
    with pytest.raises(RequestError) as refused:
        services.correction_propose(
            request_id=correction.pk,
            items=[(CUSTOMER, siti.pk, "name", "Siti Rahayu"), (CUSTOMER, bystander.pk, "name", "Siti")],
            actor=officer,
        )
    assert f"#{bystander.pk}" in refused.value.message
    assert not CorrectionItem.objects.exists()


def test_a_non_correctable_field_is_refused(correction, officer, siti):
    with pytest.raises(RequestError) as refused:
        services.correction_propose(
            request_id=correction.pk, items=[(CUSTOMER, siti.pk, "points", "9999")], actor=officer
        )
    assert "points" in refused.value.message
    with pytest.raises(RequestError):
        services.correction_propose(
            request_id=correction.pk, items=[("requests_portal.DataSubjectRequest", correction.pk, "email", "a@b.c")],
            actor=officer,
        )
    assert not CorrectionItem.objects.exists()


def test_an_invalid_value_refuses_the_whole_proposal(correction, officer, siti):
    with pytest.raises(RequestError) as refused:
        services.correction_propose(
            request_id=correction.pk,
            items=[(CUSTOMER, siti.pk, "name", "Siti Rahayu"), (CUSTOMER, siti.pk, "phone", "12")],
            actor=officer,
        )
    assert "12" in refused.value.message
    assert not CorrectionItem.objects.exists()


def test_only_a_correction_request_takes_proposals(make_request, officer, siti):
    access = make_request(step="in_review", by=officer, right="access", email=SITI)
    with pytest.raises(TransitionRefused):
        services.correction_propose(request_id=access.pk, items=[(CUSTOMER, siti.pk, "name", "X")], actor=officer)


# -- deciding ------------------------------------------------------------------------------------


def test_rejecting_needs_a_reason(correction, officer, siti):
    [item] = services.correction_propose(
        request_id=correction.pk, items=[(CUSTOMER, siti.pk, "name", "Siti Rahayu")], actor=officer
    )
    with pytest.raises(RequestError):
        services.correction_decide(item_id=item.pk, accept=False, reason="  ", actor=officer)
    item.refresh_from_db()
    assert item.decision == CorrectionItem.Decision.PENDING
    services.correction_decide(item_id=item.pk, accept=False, reason="Nama sesuai KTP yang dilampirkan", actor=officer)
    item.refresh_from_db()
    assert item.decision == CorrectionItem.Decision.REJECTED and item.decided_by == officer


# -- applying ------------------------------------------------------------------------------------


def _propose_three(correction, officer, siti):
    items = services.correction_propose(
        request_id=correction.pk,
        items=[
            (CUSTOMER, siti.pk, "name", "Siti Rahayu"),
            (CUSTOMER, siti.pk, "phone", "0812-3456-7890"),
            (CUSTOMER, siti.pk, "gender", "F"),
        ],
        actor=officer,
    )
    by_field = {i.field_name: i for i in items}
    services.correction_decide(item_id=by_field["name"].pk, accept=True, actor=officer)
    services.correction_decide(item_id=by_field["phone"].pk, accept=True, actor=officer)
    services.correction_decide(item_id=by_field["gender"].pk, accept=False, reason="Tidak ada bukti", actor=officer)
    return by_field


def test_apply_changes_exactly_the_accepted_fields_and_completes(correction, officer, siti, bystander,
                                                                django_capture_on_commit_callbacks):
    items = _propose_three(correction, officer, siti)
    approve(correction, officer)
    before_bystander = LoyaltyCustomer.objects.filter(pk=bystander.pk).values().get()
    sent_before = told_messages(correction).count()
    with django_capture_on_commit_callbacks(execute=False):
        request = services.correction_apply(request_id=correction.pk, actor=officer)
    assert request.state == State.COMPLETED and request.closed_at is not None
    siti.refresh_from_db()
    assert siti.name == "Siti Rahayu"
    assert siti.phone == "+6281234567890" and siti.phone_e164 == "+6281234567890"
    assert siti.gender == "M"  # rejected: unchanged
    assert LoyaltyCustomer.objects.filter(pk=bystander.pk).values().get() == before_bystander
    assert siti.history.first().history_user == officer  # the row's own history names the officer
    event = RequestEvent.objects.filter(request=correction).order_by("-seq").first()
    assert event.to_state == State.COMPLETED and event.actor == officer
    assert "Siti Rahau \u2192 Siti Rahayu" in event.note
    assert "0857 1111 2222 \u2192 +6281234567890" in event.note
    assert "Tidak ada bukti" in event.note
    assert "Siti Rahayu" in event.told and "Tidak ada bukti" in event.told
    applied = {i.field_name: i.applied_at for i in CorrectionItem.objects.filter(request=correction)}
    assert applied["name"] and applied["phone"] and applied["gender"] is None
    assert told_messages(correction).count() == sent_before + 1
    assert "Siti Rahayu" in told_messages(correction).order_by("-pk").first().body
    assert items  # all three were proposed


def test_the_requester_is_told_in_her_language(make_request, officer, siti):
    request = make_request(step="in_review", by=officer, right="correction", email=SITI, language="en",
                           wrong_data="x", correct_data="y")
    [item] = services.correction_propose(request_id=request.pk, items=[(CUSTOMER, siti.pk, "gender", "F")],
                                         actor=officer)
    services.correction_decide(item_id=item.pk, accept=False, reason="No proof", actor=officer)
    approve(request, officer)
    services.correction_apply(request_id=request.pk, actor=officer)
    told = RequestEvent.objects.filter(request=request).order_by("-seq").first().told
    assert "No proof" in told


def test_a_value_changed_since_the_proposal_refuses_the_apply(correction, officer, siti):
    _propose_three(correction, officer, siti)
    approve(correction, officer)
    LoyaltyCustomer.objects.filter(pk=siti.pk).update(phone="0857 9999 0000", phone_e164="+6285799990000")
    events_before = RequestEvent.objects.filter(request=correction).count()
    with pytest.raises(TransitionRefused) as refused:
        services.correction_apply(request_id=correction.pk, actor=officer)
    assert "Telepon" in refused.value.message or "phone" in refused.value.message
    siti.refresh_from_db()
    assert siti.name == "Siti Rahau" and siti.phone == "0857 9999 0000"  # nothing applied
    correction.refresh_from_db()
    assert correction.state == State.APPROVED
    assert RequestEvent.objects.filter(request=correction).count() == events_before
    assert not CorrectionItem.objects.filter(applied_at__isnull=False).exists()


def test_apply_waits_for_every_decision_and_for_approval(correction, officer, siti):
    services.correction_propose(request_id=correction.pk, items=[(CUSTOMER, siti.pk, "name", "Siti Rahayu")],
                                actor=officer)
    with pytest.raises(TransitionRefused):  # in review: not approved yet
        services.correction_apply(request_id=correction.pk, actor=officer)
    approve(correction, officer)
    with pytest.raises(TransitionRefused):  # pending item
        services.correction_apply(request_id=correction.pk, actor=officer)
    siti.refresh_from_db()
    assert siti.name == "Siti Rahau"


def test_an_officer_without_execute_request_cannot_apply(correction, officer, siti):
    _propose_three(correction, officer, siti)
    approve(correction, officer)
    worker = User.objects.create_user("worker", "worker@junopos.test", "pw", is_staff=True)
    worker.user_permissions.add(Permission.objects.get(codename="work_request"))
    worker = User.objects.get(pk=worker.pk)
    with pytest.raises(NotPermitted):
        services.correction_apply(request_id=correction.pk, actor=worker)
    siti.refresh_from_db()
    assert siti.name == "Siti Rahau"
    assert DataSubjectRequest.objects.get(pk=correction.pk).state == State.APPROVED


# -- the admin ---------------------------------------------------------------------------------


def _page(client, request):
    return client.get(reverse("admin:requests_portal_datasubjectrequest_change", args=[request.pk]))


def test_the_page_shows_current_and_proposed_values_in_bounded_queries(client, correction, officer, siti, shop):
    services.correction_propose(request_id=correction.pk, items=[(CUSTOMER, siti.pk, "phone", "0812-3456-7890")],
                                actor=officer)
    approve(correction, officer)
    client.force_login(officer)
    _page(client, correction)  # warm the caches (permissions, session)
    with CaptureQueriesContext(connection) as few:
        response = _page(client, correction)
    assert response.status_code == 200
    body = response.content.decode()
    assert "+6281234567890" in body and "0857 1111 2222" in body
    assert reverse("admin:requests_portal_datasubjectrequest_correction_apply", args=[correction.pk]) in body
    # More of her rows and more proposals: the same number of queries.
    other = LoyaltyCustomerFactory(merchant=MerchantFactory(), email=SITI)
    services.correction_propose(
        request_id=correction.pk,
        items=[(CUSTOMER, siti.pk, "name", "Siti Rahayu"), (CUSTOMER, other.pk, "name", "Siti R.")], actor=officer,
    )
    with CaptureQueriesContext(connection) as more:
        assert _page(client, correction).status_code == 200
    assert len(more) == len(few)


def test_the_admin_proposes_decides_and_applies_through_the_services(client, correction, officer, siti):
    client.force_login(officer)
    propose = reverse("admin:requests_portal_datasubjectrequest_correction_propose", args=[correction.pk])
    response = client.post(propose, {f"new:{CUSTOMER}:{siti.pk}:name": "Siti Rahayu",
                                     f"new:{CUSTOMER}:{siti.pk}:email": ""})
    assert response.status_code == 302
    item = CorrectionItem.objects.get()
    assert item.field_name == "name"
    decide = reverse("admin:requests_portal_datasubjectrequest_correction_decide", args=[correction.pk, item.pk])
    client.post(decide, {"decision": "reject", "reason": ""})
    item.refresh_from_db()
    assert item.decision == CorrectionItem.Decision.PENDING  # no reason: refused, shown
    client.post(decide, {"decision": "accept"})
    item.refresh_from_db()
    assert item.decision == CorrectionItem.Decision.ACCEPTED
    approve(correction, officer)
    apply = reverse("admin:requests_portal_datasubjectrequest_correction_apply", args=[correction.pk])
    confirm = client.get(apply)
    assert confirm.status_code == 200 and "Siti Rahayu" in confirm.content.decode()
    siti.refresh_from_db()
    assert siti.name == "Siti Rahau"  # the confirmation page changes nothing
    assert client.post(apply).status_code == 302
    siti.refresh_from_db()
    assert siti.name == "Siti Rahayu"
    assert DataSubjectRequest.objects.get(pk=correction.pk).state == State.COMPLETED


def test_the_apply_page_is_refused_without_execute_request(client, correction, officer, siti):
    worker = User.objects.create_user("worker", "worker@junopos.test", "pw", is_staff=True)
    worker.user_permissions.add(*Permission.objects.filter(codename__in=["work_request", "view_datasubjectrequest"]))
    client.force_login(worker)
    apply = reverse("admin:requests_portal_datasubjectrequest_correction_apply", args=[correction.pk])
    assert client.post(apply).status_code == 403
    assert Merchant.objects.filter(pk=siti.merchant_id).exists()
