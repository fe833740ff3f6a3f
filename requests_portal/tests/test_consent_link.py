"""A withdrawal, objection or restriction completed through the request workflow lands in the
consent ledger, in the completion's transaction, and the consent check honours it."""

import pytest

from consent.models import ConsentEvent
from consent.selectors import Reason, consent_check, purpose_get
from consent.services import consent_state_rebuild
from consent.tests.factories import record
from merchants.tests.factories import MerchantFactory
from requests_portal import services
from requests_portal.exceptions import TransitionRefused
from requests_portal.forms import RequestForm
from requests_portal.models import State

pytestmark = pytest.mark.django_db

EMAIL, PHONE = "siti@example.test", "+6281234567890"


def _processing(make_request, officer, dpo, *, right, purposes, **more):
    request = make_request(
        step="in_review", by=officer, right=right, purposes=[purpose_get(k) for k in purposes], **more
    )
    if right == "restriction":  # four eyes
        services.request_propose(request_id=request.pk, actor=officer)
        services.request_approve(request_id=request.pk, actor=dpo)
    else:
        services.request_approve(request_id=request.pk, actor=officer)
    services.request_start(request_id=request.pk, actor=officer)
    return request


def _check(purpose, *, merchant_id=None, identifiers=(EMAIL,)):
    return consent_check(identifiers=list(identifiers), merchant_id=merchant_id, purpose=purpose_get(purpose))


def test_a_completed_restriction_restricts_the_named_purposes_only(make_request, officer, dpo):
    shop = MerchantFactory()
    request = _processing(
        make_request, officer, dpo, right="restriction", purposes=["research"], phone="0812 3456 7890",
        merchant_id=shop.pk,
    )
    assert _check("research", merchant_id=shop.pk).reason == Reason.NOT_OBJECTED

    services.request_complete(request_id=request.pk, actor=officer, result="Pemrosesan dibatasi.")

    for identifiers in ((EMAIL,), (PHONE,)):
        decision = _check("research", merchant_id=shop.pk, identifiers=identifiers)
        assert (decision.allowed, decision.reason) == (False, Reason.RESTRICTED)
    assert _check("product-features", merchant_id=shop.pk).allowed
    assert _check("service-improvement", merchant_id=shop.pk).allowed
    event = ConsentEvent.objects.get()
    assert (event.action, event.channel, event.reference, event.merchant_id) == (
        "restricted", "portal", request.reference, shop.pk,
    )
    assert (event.email, event.phone) == (EMAIL, PHONE)
    assert decision.event_id == event.pk
    assert consent_state_rebuild().clean


def test_a_completed_withdrawal_of_marketing_withdraws_it(make_request, officer, dpo):
    record(email=EMAIL, purpose="marketing", action="given")
    assert _check("marketing").allowed
    request = _processing(make_request, officer, dpo, right="withdrawal", purposes=["marketing"])

    services.request_complete(request_id=request.pk, actor=officer, result="Persetujuan ditarik.")

    decision = _check("marketing")
    assert (decision.allowed, decision.reason) == (False, Reason.CONSENT_WITHDRAWN)
    event = ConsentEvent.objects.get(pk=decision.event_id)
    assert (event.action, event.reference, event.purpose.key) == ("withdrawn", request.reference, "marketing")


def test_an_objection_withdraws_a_legitimate_interest(make_request, officer, dpo):
    request = _processing(make_request, officer, dpo, right="objection", purposes=["service-improvement"])
    services.request_complete(request_id=request.pk, actor=officer, result="Keberatan diterima.")
    assert _check("service-improvement").reason == Reason.OBJECTED


@pytest.mark.parametrize(
    "right, purposes",
    [("withdrawal", ["marketing", "kyc"]), ("withdrawal", ["transactions"]), ("objection", ["marketing"]),
     ("restriction", ["law-enforcement"]), ("withdrawal", [])],
)
def test_a_purpose_the_right_cannot_name_refuses_the_completion_and_records_nothing(
    make_request, officer, dpo, right, purposes,
):
    request = _processing(make_request, officer, dpo, right=right, purposes=purposes)
    with pytest.raises(TransitionRefused) as refused:
        services.request_complete(request_id=request.pk, actor=officer, result="Selesai.")
    if purposes:
        named = [purpose_get(k).name_id for k in purposes if k != "marketing" or right == "objection"]
        assert named[0] in str(refused.value)
    assert not ConsentEvent.objects.exists()
    request.refresh_from_db()
    assert request.state == State.PROCESSING


def test_an_officer_entered_withdrawal_is_recorded_as_the_officers(officer):
    request = services.request_enter(
        actor=officer, channel="whatsapp", right="withdrawal", subject_role="customer", requester_name="Budi",
        phone="081298765432", shop_name="Toko Maju", language="id", original_message="Stop promo ya",
        identity_method="Nomor WhatsApp yang sama",
    )
    request.purposes.set([purpose_get("marketing")])
    services.request_assign(request_id=request.pk, actor=officer, assignee=officer)
    services.request_approve(request_id=request.pk, actor=officer)
    services.request_start(request_id=request.pk)
    services.request_complete(request_id=request.pk, result="Promo dihentikan.")
    event = ConsentEvent.objects.get()
    assert (event.channel, event.entered_by, event.phone) == ("admin", officer, "+6281298765432")
    assert _check("marketing", identifiers=["+6281298765432"]).reason == Reason.CONSENT_WITHDRAWN


def test_the_public_form_asks_for_the_purposes_the_right_can_name():
    keys = lambda form: [p.key for p in form.fields["purposes"].queryset]  # noqa: E731
    assert keys(RequestForm(right="withdrawal")) == [
        "service-improvement", "product-features", "research", "marketing",
    ]
    assert keys(RequestForm(right="objection")) == ["service-improvement", "product-features", "research"]
    assert "kyc" not in keys(RequestForm(right="restriction"))
    assert "purposes" not in RequestForm(right="access").fields
    form = RequestForm(right="withdrawal", data={"subject_role": "customer"})
    assert not form.is_valid() and "purposes" in form.errors


def test_the_public_form_saves_the_purposes_on_the_request(client):
    from django.core.cache import cache

    from requests_portal.models import DataSubjectRequest

    from .test_views import post_form

    cache.clear()
    marketing, research = purpose_get("marketing"), purpose_get("research")
    refused = post_form(client, "withdrawal", purposes=[])
    assert refused.status_code == 200 and "Pilih paling sedikit satu tujuan pemrosesan." in refused.content.decode()
    assert b'name="purposes"' in refused.content and b"Promosi dan informasi pemasaran" in refused.content
    assert not DataSubjectRequest.objects.exists()
    kyc = post_form(client, "withdrawal", purposes=[purpose_get("kyc").pk])
    assert kyc.status_code == 200 and not DataSubjectRequest.objects.exists()

    sent = post_form(client, "withdrawal", purposes=[marketing.pk, research.pk])
    assert sent.status_code == 303
    request = DataSubjectRequest.objects.get()
    assert set(request.purposes.all()) == {marketing, research}
    cache.clear()


# -- carried out from the admin by the execution task (one step: ledger, record and completion) --


def _approved(make_request, officer, dpo, *, right, purposes, **more):
    request = make_request(
        step="in_review", by=officer, right=right, purposes=[purpose_get(k) for k in purposes], **more
    )
    if right == "restriction":
        services.request_propose(request_id=request.pk, actor=officer)
        services.request_approve(request_id=request.pk, actor=dpo)
    else:
        services.request_approve(request_id=request.pk, actor=officer)
    request.refresh_from_db()
    assert request.state == State.APPROVED
    return request


def test_an_approved_withdrawal_is_carried_out_from_the_admin_and_she_is_told_in_her_language(
    make_request, officer, dpo, client, django_capture_on_commit_callbacks,
):
    from django.core import mail
    from django.urls import reverse

    from requests_portal.models import RequestExecution

    record(email=EMAIL, purpose="marketing", action="given")
    request = _approved(make_request, officer, dpo, right="withdrawal", purposes=["research", "marketing"],
                        language="en")
    client.force_login(officer)
    page = client.get(reverse("admin:requests_portal_datasubjectrequest_change", args=[request.pk]))
    execute_url = reverse("admin:requests_portal_datasubjectrequest_execute", args=[request.pk])
    assert execute_url in page.content.decode()  # the button
    preview = client.get(execute_url).content.decode()
    assert purpose_get("marketing").name_id in preview  # what will be recorded, in the officer's language
    assert "recorded as withdrawn" in preview  # and the message she will get, in hers
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(execute_url, {"confirm": "on"}).status_code == 302

    execution = RequestExecution.objects.get(request=request)
    assert (execution.mode, execution.state) == ("consent", "completed")
    assert execution.steps["ledger"]["purposes"] == ["research", "marketing"]
    request.refresh_from_db()
    assert request.state == State.COMPLETED
    assert _check("marketing").reason == Reason.CONSENT_WITHDRAWN
    events = ConsentEvent.objects.filter(reference=request.reference).order_by("purpose__number")
    assert [(e.purpose.key, e.action) for e in events] == [("research", "withdrawn"), ("marketing", "withdrawn")]
    [told] = [m for m in mail.outbox if request.reference in m.body]
    assert purpose_get("marketing").name_en in told.body and "withdrawn" in told.body.casefold()
    assert purpose_get("marketing").name_id not in told.body
    verbs = list(request.events.order_by("seq").values_list("verb", flat=True))
    assert verbs[-2:] == ["processing", "completed"]


def test_a_restriction_carried_out_by_the_task_is_honoured_by_the_check(make_request, officer, dpo):
    shop = MerchantFactory()
    request = _approved(make_request, officer, dpo, right="restriction", purposes=["research"], merchant_id=shop.pk)
    execution = services.request_execute(request_id=request.pk, actor=officer)
    assert execution.state == "completed", execution.error
    decision = _check("research", merchant_id=shop.pk)
    assert (decision.allowed, decision.reason) == (False, Reason.RESTRICTED)
    assert _check("product-features", merchant_id=shop.pk).allowed


def test_a_purpose_the_right_cannot_name_fails_the_step_named_and_records_nothing(make_request, officer, dpo):
    request = _approved(make_request, officer, dpo, right="objection", purposes=["marketing"])  # a consent purpose
    execution = services.request_execute(request_id=request.pk, actor=officer)
    assert execution.state == "failed" and execution.step == "ledger"
    assert purpose_get("marketing").name_id in execution.error
    assert not ConsentEvent.objects.exists()
    request.refresh_from_db()
    assert request.state == State.PROCESSING
    assert request.events.filter(verb="execution_failed").count() == 1
