"""The officers' admin: the queue, the request page and its buttons, entering a request, the
audit export, attachments, the day's work and the audit chain's state.

Requests are made through the services (conftest.make_request) except where a test needs
hundreds of rows or a time in the past: then rows are written directly, as setup only."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from requests_portal import services
from requests_portal.admin.chain import CACHE_KEY
from requests_portal.models import (
    DataSubjectRequest, DeadlineRule, RequestAttachment, RequestEvent, State,
)
from requests_portal.selectors import _today, available_actions

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:requests_portal_datasubjectrequest_changelist")
ADD = reverse("admin:requests_portal_datasubjectrequest_add")
EXPORT = reverse("admin:requests_portal_datasubjectrequest_export")
VERIFY_CHAIN = reverse("admin:requests_portal_datasubjectrequest_verify_chain")


def page_url(request) -> str:
    return reverse("admin:requests_portal_datasubjectrequest_change", args=[request.pk])


def action_url(request, action: str) -> str:
    return reverse("admin:requests_portal_datasubjectrequest_action", args=[request.pk, action])


def buttons(response) -> set[str]:
    return set(re.findall(r'class="button dsr-action-([a-z_]+)"', response.content.decode()))


def said(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def shown(response) -> list[int]:
    return [r.pk for r in response.context["cl"].result_list]


@pytest.fixture(autouse=True)
def _no_chain_result():
    cache.delete(CACHE_KEY)
    yield
    cache.delete(CACHE_KEY)


def rows(count: int, *, start: int = 0, **fields) -> list[DataSubjectRequest]:
    """Requests written directly (setup for lists): various states, due times and officers."""
    now = timezone.now()
    officers = list(User.objects.filter(is_staff=True)[:3]) or [None]
    states = [State.VERIFIED, State.IN_REVIEW, State.AWAITING_REQUESTER, State.APPROVED, State.COMPLETED]
    made = []
    for i in range(start, start + count):
        state = states[i % len(states)]
        values = {
            "right": ["access", "deletion", "correction"][i % 3], "subject_role": "customer",
            "requester_name": f"Pemohon {i}", "email": f"orang{i}@contoh.test", "state": state,
            "channel": ["web", "email", "whatsapp"][i % 3], "verified_at": now - timedelta(hours=10),
            "due_at": now + timedelta(hours=(i % 7) * 10 - 20), "assignee": officers[i % len(officers)],
            "paused_at": now - timedelta(hours=1) if state == State.AWAITING_REQUESTER else None,
            "closed_at": now if state == State.COMPLETED else None,
        }
        values.update(fields)
        made.append(DataSubjectRequest(**values))
    return DataSubjectRequest.objects.bulk_create(made)


# -- the queue ----------------------------------------------------------------------------------


def test_queue_runs_the_same_queries_at_20_and_200_rows(client, officer, dpo, django_assert_num_queries):
    rows(20)
    client.force_login(officer)
    client.get(QUEUE)  # the session's first read of the user's permissions is not the list's
    # session, user, the user's and the groups' permissions, the bounded count, the rows with
    # their officer, the officers of the assignee filter
    with django_assert_num_queries(7):
        small = client.get(QUEUE, {"all": "", "state": "all"})
    assert len(small.context["cl"].result_list) == 20
    rows(180, start=20)
    with django_assert_num_queries(7):
        large = client.get(QUEUE, {"all": "", "state": "all"})
    assert len(large.context["cl"].result_list) == 200
    assert large.context["cl"].paginator.__class__.__name__ == "EstimatedCountPaginator"


def test_queue_sorts_what_is_due_first_and_marks_the_late_in_red(client, officer):
    now = timezone.now()
    later, late, no_due = rows(3)
    DataSubjectRequest.objects.filter(pk=later.pk).update(due_at=now + timedelta(hours=5), state=State.IN_REVIEW, paused_at=None)
    DataSubjectRequest.objects.filter(pk=late.pk).update(due_at=now - timedelta(hours=3), state=State.IN_REVIEW, paused_at=None)
    DataSubjectRequest.objects.filter(pk=no_due.pk).update(due_at=None, state=State.SUBMITTED, paused_at=None)
    client.force_login(officer)
    response = client.get(QUEUE)
    assert shown(response) == [late.pk, later.pk, no_due.pk]
    html = response.content.decode()
    assert re.search(r'<span class="dsr-late">-3 jam( \d+ menit)? <strong>terlambat</strong>', html)
    assert html.count('class="dsr-late"') == 1
    assert late.reference in html and "WIB" in html


def test_queue_filters(client, officer, officer2):
    now = timezone.now()
    start, end = _today(now)
    made = rows(6, assignee=None)
    late, today, mine, deletion, whatsapp, awaiting = made
    DataSubjectRequest.objects.filter(pk__in=[r.pk for r in made]).update(
        state=State.IN_REVIEW, right="access", channel="web", due_at=end + timedelta(days=2), paused_at=None,
    )
    DataSubjectRequest.objects.filter(pk=late.pk).update(due_at=start - timedelta(hours=1))  # due yesterday
    DataSubjectRequest.objects.filter(pk=today.pk).update(due_at=now + (end - now) / 2)
    DataSubjectRequest.objects.filter(pk=mine.pk).update(assignee=officer)
    DataSubjectRequest.objects.filter(pk=deletion.pk).update(right="deletion", assignee=officer2)
    DataSubjectRequest.objects.filter(pk=whatsapp.pk).update(channel="whatsapp")
    DataSubjectRequest.objects.filter(pk=awaiting.pk).update(state=State.AWAITING_REQUESTER, paused_at=now)
    client.force_login(officer)

    assert shown(client.get(QUEUE, {"late": "yes"})) == [late.pk]
    assert late.pk not in shown(client.get(QUEUE, {"late": "no"}))
    assert shown(client.get(QUEUE, {"due_today": "yes"})) == [today.pk]
    assert shown(client.get(QUEUE, {"assignee": "me"})) == [mine.pk]
    assert shown(client.get(QUEUE, {"assignee": str(officer2.pk)})) == [deletion.pk]
    assert set(shown(client.get(QUEUE, {"assignee": "none"}))) == {late.pk, today.pk, whatsapp.pk, awaiting.pk}
    assert shown(client.get(QUEUE, {"right__exact": "deletion"})) == [deletion.pk]
    assert shown(client.get(QUEUE, {"channel__exact": "whatsapp"})) == [whatsapp.pk]
    assert shown(client.get(QUEUE, {"state": "awaiting_requester"})) == [awaiting.pk]
    assert len(shown(client.get(QUEUE, {"state": "open"}))) == 6
    assert shown(client.get(QUEUE, {"state": "closed"})) == []


def test_search_by_reference_email_in_any_case_and_phone_as_typed(client, officer, make_request):
    by_email = make_request(email="Siti.Rahayu@Contoh.test")
    by_phone = make_request(email="", phone="+62 812-3456-7890")
    other = make_request(email="budi@contoh.test", phone="081299999999")
    client.force_login(officer)

    assert shown(client.get(QUEUE, {"q": by_email.reference})) == [by_email.pk]
    assert shown(client.get(QUEUE, {"q": by_email.reference.lower()})) == [by_email.pk]
    assert shown(client.get(QUEUE, {"q": "SITI.RAHAYU@contoh.TEST"})) == [by_email.pk]
    assert shown(client.get(QUEUE, {"q": "0812-3456-7890"})) == [by_phone.pk]
    assert shown(client.get(QUEUE, {"q": "081234567890"})) == [by_phone.pk]
    assert shown(client.get(QUEUE, {"q": "+6281234567890"})) == [by_phone.pk]
    # no partial matches: a search is an exact, normalised identity
    assert shown(client.get(QUEUE, {"q": "siti"})) == []
    assert other.pk not in shown(client.get(QUEUE, {"q": "0812"}))


# -- the request page ---------------------------------------------------------------------------


def test_the_page_shows_the_request_timeline_messages_deadline_and_what_the_data_map_finds(client, officer, make_request):
    from merchants.tests.factories import LoyaltyCustomerFactory, MerchantFactory
    from retention import services as retention_services

    shop = MerchantFactory(business_name="Warung Bu Drajat")
    LoyaltyCustomerFactory(merchant=shop, email="siti@example.test", phone="081234567890")
    request = make_request(step="in_review", by=officer, right="deletion", phone="0812 3456 7890")
    retention_services.hold_place(
        actor=officer, reason="dispute", detail="Sengketa pembayaran", merchant_id=None,
        subject_email="siti@example.test", subject_phone="", ends_at=None,
    )
    twin = make_request(step="submitted", right="deletion")
    client.force_login(officer)
    response = client.get(page_url(request))
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        request.reference, "Siti Rahayu", "siti@example.test", "+6281234567890", "Penghapusan data",
        "ditugaskan", "identitas terverifikasi",  # the timeline
        "Sedang ditinjau",  # from -> to of the assignment
        "request_code",  # the messages sent, with their state
        "Warung Bu Drajat", "Kontak",  # the data map, per merchant and category
        "Sengketa", "atas orang ini",  # the hold on this person
        twin.reference,  # the other request of the same person and right
        "Tenggat (WIB)", "Sisa waktu",
    ):
        assert text in html, text
    assert "<form" not in html.split('id="content-main"')[1].split("dsr-actions")[0]
    assert client.post(page_url(request), {"state": "approved"}).status_code == 405
    request.refresh_from_db()
    assert request.state == State.IN_REVIEW


def test_buttons_are_exactly_the_steps_each_person_may_take(client, officer, dpo, auditor, make_request):
    request = make_request(step="in_review", by=officer, right="deletion")
    expected = {
        officer: {"assign", "ask", "extend", "refuse", "propose", "duplicate"},
        dpo: {"assign", "ask", "extend", "refuse", "propose", "duplicate"},
        auditor: set(),
    }
    for user, actions in expected.items():
        client.force_login(user)
        response = client.get(page_url(request))
        assert buttons(response) == actions == set(available_actions(request, user)), user
    client.force_login(auditor)
    assert "Tidak ada langkah yang dapat Anda ambil" in client.get(page_url(request)).content.decode()

    services.request_propose(request_id=request.pk, actor=officer)
    request.refresh_from_db()
    client.force_login(officer)
    response = client.get(page_url(request))
    assert buttons(response) == {"assign", "ask", "extend", "refuse", "duplicate"}
    assert "Menunggu persetujuan DPO (diusulkan oleh officer1)" in response.content.decode()
    client.force_login(dpo)
    assert "approve" in buttons(client.get(page_url(request)))


@pytest.mark.parametrize(
    ("action", "data", "check"),
    [
        ("ask", {"about": "reason", "question": "Mengapa data ini perlu dihapus?"},
         lambda r: r.state == State.AWAITING_REQUESTER and r.paused_at is not None),
        ("extend", {"reason": "Data tersebar di banyak toko."}, lambda r: r.extended_at is not None),
        ("refuse", {"reason": "legal_hold", "text": "Data Anda dalam penahanan hukum."},
         lambda r: r.state == State.REFUSED and r.refusal_reason == "legal_hold"),
        ("propose", {"note": "Sudah dicek"}, lambda r: r.prepared_by is not None and r.state == State.IN_REVIEW),
    ],
)
def test_posting_an_action_calls_its_service(client, officer, make_request, action, data, check):
    request = make_request(step="in_review", by=officer, right="deletion")
    events = RequestEvent.objects.filter(request=request).count()
    client.force_login(officer)
    assert client.get(action_url(request, action)).status_code == 200
    response = client.post(action_url(request, action), data)
    assert response.status_code == 302 and response["Location"] == page_url(request)
    request.refresh_from_db()
    assert check(request)
    assert RequestEvent.objects.filter(request=request).count() == events + 1
    assert said(response)


def test_assign_defaults_to_me_and_moves_a_verified_request_into_review(client, officer, officer2, make_request):
    request = make_request(step="verified")
    client.force_login(officer)
    form = client.get(action_url(request, "assign")).context["form"]
    assert form["assignee"].initial == officer.pk
    client.post(action_url(request, "assign"), {"assignee": officer2.pk})
    request.refresh_from_db()
    assert request.state == State.IN_REVIEW and request.assignee == officer2
    assert RequestEvent.objects.filter(request=request, verb="assigned", actor=officer).exists()


def test_approve_and_duplicate_through_the_admin(client, officer, make_request):
    access = make_request(step="in_review", by=officer, right="access")
    client.force_login(officer)
    client.post(action_url(access, "approve"), {"note": ""})
    access.refresh_from_db()
    assert access.state == State.APPROVED

    original = make_request(step="in_review", by=officer, right="correction", email="a@contoh.test",
                            wrong_data="nama", correct_data="Nama")
    repeat = make_request(step="in_review", by=officer, right="correction", email="a.lain@contoh.test",
                          wrong_data="nama", correct_data="Nama")
    client.post(action_url(repeat, "duplicate"), {"original": original.reference})
    repeat.refresh_from_db()
    assert repeat.state == State.DUPLICATE and repeat.duplicate_of_id == original.pk


def test_a_refused_action_shows_why_and_changes_nothing(client, officer, make_request):
    request = make_request(step="in_review", by=officer, right="access")
    client.force_login(officer)
    client.post(action_url(request, "extend"), {"reason": "Banyak data."})
    request.refresh_from_db()
    before = (request.due_at, request.event_count)

    response = client.post(action_url(request, "extend"), {"reason": "Lagi."})
    assert response.status_code == 200  # the form again, with what was typed
    assert "Tenggat permintaan ini sudah pernah diperpanjang." in said(response)
    request.refresh_from_db()
    assert (request.due_at, request.event_count) == before

    # a form left empty: the form says so, the service is not called
    response = client.post(action_url(request, "refuse"), {"reason": "legal_hold", "text": ""})
    assert response.context["form"].errors["text"]
    request.refresh_from_db()
    assert request.state == State.IN_REVIEW

    # a step not open now: the page does not offer it
    response = client.get(action_url(request, "extend"))
    assert response.status_code == 302 and response["Location"] == page_url(request)


def test_four_eyes_through_the_admin(client, officer, dpo, make_request):
    request = make_request(step="in_review", by=officer, right="deletion")
    client.force_login(officer)
    client.post(action_url(request, "propose"), {"note": "Identitas dan data sudah dicek."})
    request.refresh_from_db()
    assert request.prepared_by == officer

    # the officer who proposed cannot approve, even by posting the form directly
    response = client.post(action_url(request, "approve"), {"note": ""})
    assert "Persetujuan harus diberikan oleh orang lain, bukan yang mengusulkan." in said(response)
    request.refresh_from_db()
    assert request.state == State.IN_REVIEW

    client.force_login(dpo)
    response = client.get(action_url(request, "approve"))
    assert "diusulkan oleh officer1" in response.content.decode()
    response = client.post(action_url(request, "approve"), {"note": "Disetujui."})
    request.refresh_from_db()
    assert request.state == State.APPROVED
    assert RequestEvent.objects.filter(request=request, verb="approved", actor=dpo).exists()


def test_an_auditor_sees_but_cannot_act(client, auditor, officer, make_request):
    request = make_request(step="in_review", by=officer, right="access")
    client.force_login(auditor)
    assert client.get(QUEUE).status_code == 200
    assert client.get(page_url(request)).status_code == 200
    for action, data in (("approve", {"note": ""}), ("refuse", {"reason": "unfounded", "text": "x"})):
        assert client.get(action_url(request, action)).status_code == 403
        assert client.post(action_url(request, action), data).status_code == 403
    assert client.get(ADD).status_code == 403
    request.refresh_from_db()
    assert request.state == State.IN_REVIEW
    assert 'class="addlink"' not in client.get(QUEUE).content.decode()


# -- entering a request that came by e-mail or WhatsApp -----------------------------------------


ENTERED = {
    "channel": "whatsapp", "original_message": "Halo, tolong hapus data saya di Warung Bu Drajat. Siti",
    "identity_method": "Nomor WhatsApp sama dengan nomor pelanggan terdaftar; dikonfirmasi lewat panggilan.",
    "right": "deletion", "jurisdiction": "ID", "language": "id", "subject_role": "customer",
    "shop_name": "Warung Bu Drajat", "requester_name": "Siti Rahayu", "email": "", "phone": "0812 3456 7890",
    "details": "", "wrong_data": "", "correct_data": "", "reason": "", "appeal_reference": "", "note": "",
}


def test_entering_a_whatsapp_request(client, officer):
    client.force_login(officer)
    assert client.get(ADD).status_code == 200
    response = client.post(ADD, ENTERED)
    request = DataSubjectRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == page_url(request)
    assert (request.channel, request.state, request.phone) == ("whatsapp", State.VERIFIED, "+6281234567890")
    assert request.due_at is not None and request.identity_method.startswith("Nomor WhatsApp")
    event = RequestEvent.objects.get(request=request)
    assert (event.verb, event.actor) == ("entered", officer)


def test_entering_needs_the_original_message_and_a_valid_address(client, officer):
    client.force_login(officer)
    response = client.post(ADD, {**ENTERED, "original_message": "", "phone": "12"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "original_message" in errors
    response = client.post(ADD, {**ENTERED, "phone": "12"})
    assert "phone" in response.context["adminform"].form.errors
    response = client.post(ADD, {**ENTERED, "channel": "web"})
    assert "channel" in response.context["adminform"].form.errors
    assert not DataSubjectRequest.objects.exists()


# -- attachments, the export, the index ----------------------------------------------------------


def test_an_attachment_is_downloaded_by_staff_who_may_see_the_request(client, officer, auditor, make_request):
    request = make_request()
    pdf = b"%PDF-1.4 surat kuasa"
    attachment = RequestAttachment.objects.create(
        request=request, kind="authorisation", filename="surat kuasa.pdf", content_type="application/pdf",
        size=len(pdf), sha256="0" * 64, content=pdf,
    )
    url = reverse("admin:requests_portal_datasubjectrequest_attachment", args=[request.pk, attachment.pk])
    client.force_login(officer)
    assert 'download>surat kuasa.pdf</a>' in client.get(page_url(request)).content.decode()
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == pdf
    assert response["Content-Disposition"].startswith("attachment;")
    assert "surat" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"

    client.force_login(auditor)
    assert client.get(url).status_code == 200
    # Each read is a step on personal data: recorded in the trail, with who read it.
    reads = request.events.filter(verb="attachment_read").order_by("seq")
    assert [e.actor for e in reads] == [officer, auditor] and reads[0].note == str(attachment.pk)
    # staff without the request's view permission; and the wrong request's id
    client.force_login(User.objects.create_user("kasir", password="x" * 12, is_staff=True))
    assert client.get(url).status_code == 403
    client.force_login(officer)
    other = make_request(email="lain@contoh.test")
    assert client.get(reverse("admin:requests_portal_datasubjectrequest_attachment", args=[other.pk, attachment.pk])).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_the_audit_export_has_the_period_s_requests_and_no_contact_data(client, auditor, officer, make_request):
    inside = make_request(step="in_review", by=officer, right="deletion", email="siti@example.test", phone="081234567890")
    services.request_refuse(request_id=inside.pk, actor=officer, reason="legal_hold", text="Penahanan.")
    old = make_request(email="lama@contoh.test")
    DataSubjectRequest.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))
    today = timezone.localdate()
    client.force_login(auditor)
    assert client.get(EXPORT).status_code == 200  # the period form
    response = client.get(EXPORT, {"start": (today - timedelta(days=1)).isoformat(), "end": today.isoformat()})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = list(csv.DictReader(io.StringIO(text)))
    assert [line["reference"] for line in lines] == [inside.reference]
    line = lines[0]
    inside.refresh_from_db()
    assert line["right"] == "deletion" and line["state"] == "refused" and line["refusal_reason"] == "legal_hold"
    assert line["channel"] == "web" and line["jurisdiction"] == "ID" and line["assignee"] == "officer1"
    assert line["event_count"] == str(inside.event_count) and line["created_at"].endswith("+07:00")
    assert line["verified_at"] and line["due_at"] and line["closed_at"] and not line["extended_at"]
    for secret in ("siti@example.test", "6281234567890", "Siti Rahayu"):
        assert secret not in text

    response = client.get(EXPORT, {"start": today.isoformat(), "end": (today - timedelta(days=3)).isoformat()})
    assert response.status_code == 200 and not response.streaming  # the form again, with the error
    client.force_login(User.objects.create_user("kasir", password="x" * 12, is_staff=True))
    assert client.get(EXPORT, {"start": today.isoformat(), "end": today.isoformat()}).status_code == 403


def test_the_index_shows_the_day_s_work_with_links_to_the_queue(client, officer):
    rows(10)
    client.force_login(officer)
    response = client.get(reverse("admin:index"))
    html = response.content.decode()
    assert "pekerjaan hari ini" in html
    for link in ("?state=open", "?due_today=yes", "?late=yes", "?state=awaiting_requester",
                 "?state=completed&amp;closed=this_month", "right__exact=deletion", "channel__exact=whatsapp"):
        assert link in html, link
    assert EXPORT in html
    assert "Jejak audit: belum diperiksa." in html

    client.force_login(User.objects.create_user("kasir", password="x" * 12, is_staff=True))
    assert "pekerjaan hari ini" not in client.get(reverse("admin:index")).content.decode()


def test_the_day_s_figures(client, officer):
    now = timezone.now()
    start, end = _today(now)
    made = rows(6, assignee=None)
    late, today, later, awaiting, completed, old = made
    DataSubjectRequest.objects.filter(pk__in=[r.pk for r in made]).update(
        state=State.IN_REVIEW, due_at=end + timedelta(days=2), paused_at=None, closed_at=None,
    )
    DataSubjectRequest.objects.filter(pk=late.pk).update(due_at=start - timedelta(hours=1))
    DataSubjectRequest.objects.filter(pk=today.pk).update(due_at=now + (end - now) / 2)
    DataSubjectRequest.objects.filter(pk=awaiting.pk).update(state=State.AWAITING_REQUESTER, paused_at=now)
    DataSubjectRequest.objects.filter(pk=completed.pk).update(
        state=State.COMPLETED, verified_at=now - timedelta(hours=30), closed_at=now, due_at=None)
    DataSubjectRequest.objects.filter(pk=old.pk).update(
        state=State.COMPLETED, verified_at=now - timedelta(days=400), closed_at=now - timedelta(days=390), due_at=None)
    client.force_login(officer)
    context = client.get(reverse("admin:index")).context
    figures = {key: figure["value"] for key, figure in context["figures"].items()}
    assert figures == {"open": 4, "due_today": 1, "late": 1, "awaiting": 1, "completed_month": 1}
    assert context["median_hours"] == 30.0
    assert sum(row["open"] for row in context["by_right"]) == 4


def test_verify_now_checks_the_chain_and_the_index_and_queue_show_it(client, officer, make_request):
    make_request(step="in_review", by=officer)
    client.force_login(officer)
    assert client.get(VERIFY_CHAIN).status_code == 405
    response = client.post(VERIFY_CHAIN, {"next": QUEUE})
    assert response["Location"] == QUEUE
    assert any("Jejak audit utuh" in m for m in said(response))
    assert "Jejak audit: <strong>utuh</strong>" in client.get(reverse("admin:index")).content.decode()
    assert "Jejak audit: <strong>utuh</strong>" in client.get(QUEUE).content.decode()

    RequestEvent.objects.filter(seq=2).update(note="diubah")
    client.post(VERIFY_CHAIN, {"next": "https://elsewhere.example/"})
    html = client.get(QUEUE).content.decode()
    assert "Jejak audit: <strong>RUSAK</strong> di DSR-" in html


# -- the registers -------------------------------------------------------------------------------


def test_deadline_rules_are_corrected_by_the_dpo_with_history(client, dpo, officer):
    rule = DeadlineRule.objects.get(right="access", jurisdiction="ID")
    url = reverse("admin:requests_portal_deadlinerule_change", args=[rule.pk])
    client.force_login(officer)
    assert client.get(url).context["has_change_permission"] is False
    client.force_login(dpo)
    response = client.post(url, {
        "period": "48", "unit": "hours", "extension_period": "72", "extension_unit": "hours",
        "legal_basis": rule.legal_basis, "notes": "dikoreksi",
    })
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.period == 48
    assert rule.history.first().history_user == dpo
    assert client.get(reverse("admin:requests_portal_deadlinerule_history", args=[rule.pk])).status_code == 200


def test_events_and_anchors_are_read_only_registers(client, auditor, officer, make_request, django_assert_max_num_queries):
    from requests_portal.audit import audit_anchor

    request = make_request(step="in_review", by=officer)
    audit_anchor()
    client.force_login(auditor)
    events = reverse("admin:requests_portal_requestevent_changelist")
    response = client.get(events, {"q": request.reference})
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == request.event_count
    assert client.get(reverse("admin:requests_portal_auditanchor_changelist")).status_code == 200
    event = RequestEvent.objects.filter(request=request).first()
    change = client.get(reverse("admin:requests_portal_requestevent_change", args=[event.pk]))
    assert change.context["has_change_permission"] is False
    assert client.post(reverse("admin:requests_portal_requestevent_delete", args=[event.pk])).status_code == 403


def test_history_and_the_english_admin_load(client, officer, make_request):
    request = make_request(step="in_review", by=officer)
    client.force_login(officer)
    history = client.get(reverse("admin:requests_portal_datasubjectrequest_history", args=[request.pk]))
    assert history.status_code == 200
    assert client.get("/en" + page_url(request)).status_code == 200
    assert client.get("/en" + QUEUE).status_code == 200


def test_the_queue_opens_on_open_requests_and_a_search_looks_everywhere(client, officer):
    open_one, closed_one = rows(2)
    DataSubjectRequest.objects.filter(pk=open_one.pk).update(state=State.IN_REVIEW)
    DataSubjectRequest.objects.filter(pk=closed_one.pk).update(state=State.COMPLETED)
    client.force_login(officer)
    shown = {r.pk for r in client.get(QUEUE).context["cl"].result_list}
    assert shown == {open_one.pk}
    shown = {r.pk for r in client.get(QUEUE, {"state": "all"}).context["cl"].result_list}
    assert shown == {open_one.pk, closed_one.pk}
    found = client.get(QUEUE, {"q": closed_one.reference}).context["cl"].result_list
    assert [r.pk for r in found] == [closed_one.pk]
