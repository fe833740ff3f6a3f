"""The workflow's services: every transition allowed and refused, codes, duplicates, four eyes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from messaging.models import OutboundMessage
from requests_portal import services
from requests_portal.exceptions import CodeRefused, NotPermitted, RequestError, TransitionRefused
from requests_portal.models import DataSubjectRequest, RequestMessage, State, VerificationCode
from requests_portal.services.intake import MAX_FAILED_ATTEMPTS, RESEND_COOLDOWN, Upload

from .conftest import code_sent, submit, verify

pytestmark = pytest.mark.django_db


def messages_of(request, kind=None):
    qs = OutboundMessage.objects.filter(pk__in=RequestMessage.objects.filter(request=request).values("message_id"))
    return qs.filter(kind=kind) if kind else qs


# -- intake ----------------------------------------------------------------------------------


def test_submit_sends_a_code_to_each_address_and_records_the_event():
    request = submit(email="Siti@Example.TEST", phone="0812-3456-7890")
    assert request.state == State.SUBMITTED
    assert request.email == "siti@example.test" and request.phone == "+6281234567890"
    assert request.reference.startswith(f"DSR-{timezone.now().year}-")
    codes = {c.via: c for c in request.codes.all()}
    assert set(codes) == {"email", "whatsapp"}
    sent = messages_of(request, "request_code")
    assert {m.channel for m in sent} == {"email", "whatsapp"}
    # Only keyed hashes are stored, never the code.
    for via in codes:
        code = code_sent(request, via)
        assert code not in codes[via].code_hash and len(codes[via].code_hash) == 64
    assert list(request.events.values_list("verb", flat=True)) == ["submitted"]


def test_the_same_submission_key_makes_one_request():
    first = submit(submission_key="same")
    again, created = services.request_submit(
        submission_key="same", right="access", subject_role="customer", requester_name="Siti",
        email="siti@example.test", shop_name="Warung", language="id",
    )
    assert not created and again.pk == first.pk
    assert DataSubjectRequest.objects.count() == 1
    assert messages_of(first, "request_code").count() == 1


@pytest.mark.parametrize(
    "given, field",
    [
        ({"email": "", "phone": ""}, "email"),
        ({"email": "not-an-address"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"subject_role": "customer", "shop_name": ""}, "shop_name"),
        ({"right": "correction", "wrong_data": "", "correct_data": "x"}, "wrong_data"),
        ({"right": "appeal", "appeal_reference": "nomor saya"}, "appeal_reference"),
        ({"is_representative": True, "subject_name": "Ibu Siti"}, "authorisation"),
    ],
)
def test_bad_input_is_named_and_changes_nothing(given, field):
    with pytest.raises(ValidationError) as caught:
        submit(**given)
    assert field in caught.value.message_dict
    assert DataSubjectRequest.objects.count() == 0 and OutboundMessage.objects.count() == 0


def test_a_representatives_letter_is_checked_by_its_content():
    with pytest.raises(ValidationError) as caught:
        submit(is_representative=True, subject_name="Ibu Siti", authorisation=Upload("surat.pdf", b"MZ\x90 not a pdf"))
    assert "authorisation" in caught.value.message_dict
    request = submit(is_representative=True, subject_name="Ibu Siti", authorisation=Upload("surat.pdf", b"%PDF-1.7 ..."))
    letter = request.attachments.get()
    assert letter.content_type == "application/pdf" and bytes(letter.content).startswith(b"%PDF")


# -- codes -----------------------------------------------------------------------------------


def test_the_right_code_verifies_and_starts_the_clock():
    request = submit()
    before = timezone.now()
    request = verify(request)
    assert request.state == State.VERIFIED
    assert request.verified_at >= before
    assert request.due_at == request.verified_at + timedelta(hours=72)
    assert messages_of(request, "request_update").count() == 1


def test_every_address_must_be_proven():
    request = submit(phone="081234567890")
    services.request_verify(request_id=request.pk, via="email", code=code_sent(request, "email"))
    request.refresh_from_db()
    assert request.state == State.SUBMITTED
    services.request_verify(request_id=request.pk, via="whatsapp", code=code_sent(request, "whatsapp"))
    request.refresh_from_db()
    assert request.state == State.VERIFIED


def test_a_code_is_single_use():
    request = submit()
    code = code_sent(request)
    services.request_verify(request_id=request.pk, via="email", code=code)
    with pytest.raises(CodeRefused):
        services.request_verify(request_id=request.pk, via="email", code=code)


def test_five_wrong_tries_then_the_right_code_is_refused_too():
    request = submit()
    right = code_sent(request)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    for attempt in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(CodeRefused):
            services.request_verify(request_id=request.pk, via="email", code=wrong)
    # The failed tries were committed although each step was refused.
    assert VerificationCode.objects.get(request=request).failed_attempts == MAX_FAILED_ATTEMPTS
    with pytest.raises(CodeRefused, match="Terlalu banyak"):
        services.request_verify(request_id=request.pk, via="email", code=right)
    request.refresh_from_db()
    assert request.state == State.SUBMITTED


def test_a_code_expires_after_24_hours():
    request = submit()
    VerificationCode.objects.filter(request=request).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(CodeRefused, match="kedaluwarsa"):
        services.request_verify(request_id=request.pk, via="email", code=code_sent(request))


def test_resend_waits_for_the_cool_down_and_replaces_the_code():
    request = submit()
    old = code_sent(request)
    with pytest.raises(CodeRefused, match="Tunggu"):
        services.request_code_resend(request_id=request.pk, via="email")
    VerificationCode.objects.filter(request=request).update(sent_at=timezone.now() - RESEND_COOLDOWN)
    services.request_code_resend(request_id=request.pk, via="email")
    new = code_sent(request)
    if new != old:  # one in a million: the same six digits again
        with pytest.raises(CodeRefused):
            services.request_verify(request_id=request.pk, via="email", code=old)
    services.request_verify(request_id=request.pk, via="email", code=new)
    request.refresh_from_db()
    assert request.state == State.VERIFIED


def test_the_link_secret_verifies_too():
    from requests_portal.notifications import read_verify_link

    request = submit()
    body = messages_of(request, "request_code").get().body
    token = body.split("/permintaan/verifikasi/")[1].split("/")[0]
    data = read_verify_link(token)
    services.request_verify(request_id=request.pk, via=data["v"], link_secret=data["s"])
    request.refresh_from_db()
    assert request.state == State.VERIFIED
    assert read_verify_link(token[:-2] + "xx") is None


# -- duplicates ------------------------------------------------------------------------------


def test_the_same_person_and_right_while_open_is_a_duplicate(make_request, officer):
    original = make_request(step="in_review", by=officer)
    again = verify(submit(email="SITI@example.test"))
    assert again.state == State.DUPLICATE and again.duplicate_of_id == original.pk
    assert again.closed_at is not None
    # Another right, or a closed original, is not a duplicate.
    other_right = verify(submit(right="deletion"))
    assert other_right.state == State.VERIFIED


# -- transitions -----------------------------------------------------------------------------


def test_assign_puts_a_verified_request_in_review(make_request, officer):
    request = make_request()
    request = services.request_assign(request_id=request.pk, actor=officer, assignee=officer)
    assert request.state == State.IN_REVIEW and request.assignee == officer


def test_an_auditor_can_take_no_step(make_request, auditor, officer):
    request = make_request()
    with pytest.raises(NotPermitted):
        services.request_assign(request_id=request.pk, actor=auditor, assignee=officer)
    for call in (
        lambda: services.request_ask(request_id=request.pk, actor=auditor, question="Mengapa?"),
        lambda: services.request_refuse(request_id=request.pk, actor=auditor, reason="unfounded", text="x"),
        lambda: services.request_extend(request_id=request.pk, actor=auditor, reason="x"),
        lambda: services.request_approve(request_id=request.pk, actor=auditor),
    ):
        with pytest.raises(NotPermitted):
            call()
    request.refresh_from_db()
    assert request.state == State.VERIFIED and request.event_count == 3  # submitted, address, verified


def test_ask_pauses_the_clock_and_the_answer_restarts_it(make_request, officer):
    request = make_request(step="in_review", by=officer)
    due = request.due_at
    request = services.request_ask(request_id=request.pk, actor=officer, question="Data mana yang dimaksud?")
    assert request.state == State.AWAITING_REQUESTER and request.paused_at is not None
    DataSubjectRequest.objects.filter(pk=request.pk).update(paused_at=timezone.now() - timedelta(hours=5))
    request = services.request_answer(request_id=request.pk, text="Nomor telepon saya.")
    assert request.state == State.IN_REVIEW and request.paused_at is None
    assert timedelta(hours=5) <= request.due_at - due < timedelta(hours=5, seconds=5)
    told = request.events.filter(verb="asked_information").get().told
    assert "Data mana yang dimaksud?" in told


def test_the_reason_may_be_asked_only_of_a_correction_or_deletion(make_request, officer):
    access = make_request(step="in_review", by=officer)
    with pytest.raises(TransitionRefused):
        services.request_ask(request_id=access.pk, actor=officer, question="Mengapa?", about="reason")
    deletion = make_request(step="in_review", by=officer, right="deletion", email="budi@example.test")
    services.request_ask(request_id=deletion.pk, actor=officer, question="Mengapa?", about="reason")


def test_answer_only_when_asked_and_with_a_checked_attachment(make_request, officer):
    request = make_request(step="in_review", by=officer)
    with pytest.raises(TransitionRefused):
        services.request_answer(request_id=request.pk, text="Halo")
    services.request_ask(request_id=request.pk, actor=officer, question="Kirim bukti.")
    with pytest.raises(ValidationError):
        services.request_answer(request_id=request.pk, text="Ini", attachment=Upload("x.exe", b"MZ"))
    request.refresh_from_db()
    assert request.state == State.AWAITING_REQUESTER
    services.request_answer(request_id=request.pk, text="Ini", attachment=Upload("ktp.png", b"\x89PNG\r\n\x1a\n..."))
    answer = request.events.get(verb="answered")
    assert request.attachments.get().event_id == answer.pk


def test_extend_once_with_the_rules_period(make_request, officer):
    request = make_request(step="in_review", by=officer)
    due = request.due_at
    request = services.request_extend(request_id=request.pk, actor=officer, reason="Data tersebar di 3 outlet.")
    assert request.due_at == due + timedelta(hours=72) and request.extension_reason
    with pytest.raises(TransitionRefused, match="sudah pernah"):
        services.request_extend(request_id=request.pk, actor=officer, reason="lagi")
    told = request.events.get(verb="extended").told
    assert "Data tersebar di 3 outlet." in told


def test_refuse_needs_a_reason_code_and_text(make_request, officer):
    request = make_request(step="in_review", by=officer)
    with pytest.raises(RequestError):
        services.request_refuse(request_id=request.pk, actor=officer, reason="because", text="x")
    with pytest.raises(RequestError):
        services.request_refuse(request_id=request.pk, actor=officer, reason="unfounded", text=" ")
    request = services.request_refuse(request_id=request.pk, actor=officer, reason="third_party", text="Data kasir lain.")
    assert request.state == State.REFUSED and request.closed_at and request.refusal_reason == "third_party"
    with pytest.raises(TransitionRefused):
        services.request_approve(request_id=request.pk, actor=officer)


def test_an_access_request_is_approved_by_one_officer(make_request, officer):
    request = make_request(step="in_review", by=officer)
    with pytest.raises(TransitionRefused):
        services.request_propose(request_id=request.pk, actor=officer)
    request = services.request_approve(request_id=request.pk, actor=officer)
    assert request.state == State.APPROVED


def test_four_eyes_on_a_deletion(make_request, officer, officer2, dpo):
    request = make_request(step="in_review", by=officer, right="deletion")
    with pytest.raises(TransitionRefused, match="diusulkan"):
        services.request_approve(request_id=request.pk, actor=dpo)
    services.request_propose(request_id=request.pk, actor=officer)
    with pytest.raises(TransitionRefused, match="orang lain"):
        services.request_approve(request_id=request.pk, actor=officer)
    with pytest.raises(NotPermitted):  # a second officer, but not of the DPO group
        services.request_approve(request_id=request.pk, actor=officer2)
    request = services.request_approve(request_id=request.pk, actor=dpo)
    assert request.state == State.APPROVED and request.prepared_by == officer


def test_a_dpo_who_prepared_cannot_approve_alone(make_request, dpo):
    request = make_request(step="in_review", by=dpo, right="restriction")
    services.request_propose(request_id=request.pk, actor=dpo)
    with pytest.raises(TransitionRefused):
        services.request_approve(request_id=request.pk, actor=dpo)


def test_withdraw_from_any_open_state_before_processing(make_request, officer):
    submitted = make_request(step="submitted", email="a@example.test")
    assert services.request_withdraw(request_id=submitted.pk).state == State.WITHDRAWN
    approved = make_request(step="in_review", by=officer, email="b@example.test")
    services.request_approve(request_id=approved.pk, actor=officer)
    services.request_start(request_id=approved.pk)
    with pytest.raises(TransitionRefused):
        services.request_withdraw(request_id=approved.pk)


def test_approved_waits_for_execution_then_completes(make_request, officer):
    request = make_request(step="in_review", by=officer)
    services.request_approve(request_id=request.pk, actor=officer)
    with pytest.raises(NotPermitted):
        services.request_start(request_id=request.pk, actor=User_without_rights())
    request = services.request_start(request_id=request.pk)
    assert request.state == State.PROCESSING
    request = services.request_complete(request_id=request.pk, result="Salinan data dikirim.")
    assert request.state == State.COMPLETED and request.closed_at


def User_without_rights():
    from django.contrib.auth.models import User

    return User.objects.create_user("nobody", "nobody@example.test", "x", is_staff=True)


def test_officers_steps_tell_the_requester_in_the_requesters_language(make_request, officer):
    from django.utils import translation

    request = make_request(step="in_review", by=officer, language="en")
    with translation.override("id"):  # the officer works in Indonesian
        services.request_ask(request_id=request.pk, actor=officer, question="Which outlet?")
    event = request.events.get(verb="asked_information")
    assert event.told.startswith("To process request")
    message = messages_of(request, "request_update").order_by("-pk").first()
    assert message.language == "en" and "Which outlet?" in message.body


def test_every_step_leaves_one_chained_event_and_history(make_request, officer):
    request = make_request(step="in_review", by=officer)
    services.request_approve(request_id=request.pk, actor=officer)
    events = list(request.events.order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(e.prev_hash == (events[i - 1].hash if i else "") for i, e in enumerate(events))
    request.refresh_from_db()
    assert request.head_hash == events[-1].hash and request.event_count == len(events)
    assert request.history.filter(state=State.APPROVED, history_user=officer).exists()


def test_a_submission_costs_a_fixed_number_of_queries(django_assert_num_queries):
    submit(email="warm@example.test")  # content types, deadline rows: nothing cached between requests anyway
    # The request, its history copy, its first event, the chain's head; per address a code,
    # its message and the message's link; and the savepoint pair of the idempotent insert.
    with django_assert_num_queries(12):
        submit(email="siti@example.test", phone="081234567890")
    with django_assert_num_queries(9):
        submit(email="budi@example.test")
