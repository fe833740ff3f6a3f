"""The public pages: a form per right, the protections of every form (CSRF, honeypot, submission
key, rate limits), enumeration, the status page and its steps, the verification link."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext

from merchants.tests.factories import MerchantFactory
from messaging.models import OutboundMessage
from requests_portal import services
from requests_portal.models import (
    DataSubjectRequest, RequestAttachment, RequestMessage, Right, State, VerificationCode,
)
from requests_portal.notifications import request_from_token, status_token
from requests_portal.services.intake import MAX_ATTACHMENT_BYTES

from .conftest import code_sent

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _fresh_counters():
    # The rate limits count on the test Redis: every test starts with none.
    cache.clear()
    yield
    cache.clear()


def submission_key(html: str) -> str:
    return re.search(r'name="submission_key" value="([^"]+)"', html).group(1)


def form_data(right: str, **overrides) -> dict:
    data = {
        "subject_role": "customer", "shop_name": "Warung Bu Drajat", "requester_name": "Siti Rahayu",
        "email": "siti@example.test", "phone": "", "details": "", "website": "",
    }
    if right == Right.CORRECTION:
        data.update(wrong_data="Nama di struk: Siti Rahayo", correct_data="Siti Rahayu")
    if right in (Right.DELETION, Right.RESTRICTION):
        data["reason"] = "Saya tidak lagi berbelanja di sana."
    if right == Right.APPEAL:
        data["appeal_reference"] = "DSR-2026-000123"
    if right in (Right.WITHDRAWAL, Right.RESTRICTION, Right.OBJECTION):  # a legitimate interest: any of the three
        from consent.models import Purpose

        data["purposes"] = [Purpose.objects.get(key="service-improvement").pk]
    data.update(overrides)
    return data


def post_form(client: Client, right: str, *, prefix: str = "", key: str | None = None, **overrides):
    """Open the form as a person would (for its key), then send it."""
    if key is None:
        page = client.get(f"{prefix}/permintaan/{right}/")
        assert page.status_code == 200
        key = submission_key(page.content.decode())
    return client.post(f"{prefix}/permintaan/{right}/", {"submission_key": key, **form_data(right, **overrides)})


def outbox_of(request: DataSubjectRequest, kind: str | None = None):
    messages = OutboundMessage.objects.filter(
        pk__in=RequestMessage.objects.filter(request=request).values("message_id")
    )
    return messages.filter(kind=kind) if kind else messages


def status_path(request: DataSubjectRequest) -> str:
    # A new token each call (signed with the time): keep the one a test compares with.
    prefix = "/en" if request.language == "en" else ""
    return f"{prefix}/permintaan/status/{status_token(request)}/"


def messages_shown(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# -- the forms -------------------------------------------------------------------------------


@pytest.mark.parametrize("right", Right.values)
def test_each_right_makes_one_request_with_its_codes_queued(client, right):
    page = client.get(f"/permintaan/{right}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert str(Right(right).label) in html or right in html
    assert "3 x 24 jam" in html or "30 hari" in html  # how long it may take, from the deadline table
    assert "24 jam" in html  # open the code within 24 hours

    response = post_form(client, right, phone="0812-3456-7890")

    assert response.status_code == 303
    assert response["Location"] == "/permintaan/terkirim/"
    request = DataSubjectRequest.objects.get()
    assert (request.right, request.language, request.state) == (right, "id", State.SUBMITTED)
    assert request.email == "siti@example.test" and request.phone == "+6281234567890"
    codes = outbox_of(request, "request_code")
    assert sorted(codes.values_list("channel", flat=True)) == ["email", "whatsapp"]
    assert set(codes.values_list("language", flat=True)) == {"id"}
    assert "berlaku 24 jam" in codes.get(channel="email").body
    if right == Right.CORRECTION:
        assert (request.wrong_data, request.correct_data) == ("Nama di struk: Siti Rahayo", "Siti Rahayu")
    if right == Right.DELETION:
        assert request.reason == "Saya tidak lagi berbelanja di sana."


def test_the_sent_page_says_what_to_do(client):
    response = client.get("/permintaan/terkirim/")
    # Nothing about a request kept for this visitor: only the CSRF cookie of the language switch.
    assert set(response.cookies) <= {"csrftoken"}
    html = response.content.decode()
    assert "kode dan tautan ke setiap e-mail dan nomor ponsel" in html
    assert "24 jam" in html
    assert "folder spam" in html and 'href="#contact"' in html


def test_an_appeal_names_the_refused_request(client, make_request, officer):
    refused = make_request(step="in_review", by=officer)
    services.request_refuse(request_id=refused.pk, actor=officer, reason="unfounded", text="Permintaan berulang.")
    # The status page of the refused request links to the appeal form with its reference.
    page = client.get(status_path(refused))
    link = re.search(r'href="(/permintaan/appeal/\?ref=[^"]+)"', page.content.decode()).group(1)
    form = client.get(link).content.decode()
    assert f'value="{refused.reference}"' in form

    response = post_form(client, "appeal", appeal_reference=refused.reference, email="banding@example.test")
    assert response.status_code == 303
    appeal = DataSubjectRequest.objects.get(right="appeal")
    assert appeal.appeal_of_id == refused.pk


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"requester_name": ""}, "requester_name", "Tulis nama lengkap Anda."),
        ({"email": "", "phone": ""}, "email", "Isi alamat e-mail, nomor telepon, atau keduanya."),
        ({"email": "bukan-alamat"}, "email", "Alamat e-mail tidak valid."),
        ({"phone": "12"}, "phone", "Nomor telepon tidak valid."),
        ({"shop_name": ""}, "shop_name", "Sebutkan toko tempat Anda menjadi pelanggan."),
        ({"subject_role": ""}, "subject_role", "Pilih hubungan Anda dengan JUNOPOS."),
        ({"is_representative": "on"}, "subject_name", "Sebutkan nama orang yang Anda wakili."),
        ({"is_representative": "on", "subject_name": "Budi"}, "authorisation", "Unggah surat kuasa"),
    ],
)
def test_bad_input_is_shown_next_to_its_field_and_makes_nothing(client, overrides, field, message):
    response = post_form(client, "access", **overrides)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="error-summary"' in html
    assert f'href="#id_{field}"' in html  # the summary links to the field
    assert f'id="id_{field}_error"' in html and message in html  # the error next to it
    assert DataSubjectRequest.objects.count() == 0
    assert OutboundMessage.objects.count() == 0


def test_an_empty_form_shows_every_problem_at_once(client):
    response = post_form(
        client, "correction", subject_role="", shop_name="", requester_name="", email="", wrong_data="", correct_data="",
    )
    html = response.content.decode()
    for field in ("subject_role", "requester_name", "email", "wrong_data", "correct_data"):
        assert f'href="#id_{field}"' in html, field
    assert "Isi alamat e-mail, nomor telepon, atau keduanya." in html
    assert "violated" not in html and "melanggar" not in html  # no database constraint's wording
    assert DataSubjectRequest.objects.count() == 0


def test_a_correction_needs_what_is_wrong_and_what_is_right(client):
    response = post_form(client, "correction", wrong_data="", correct_data="")
    html = response.content.decode()
    assert "Sebutkan data mana yang salah." in html and "Sebutkan data yang benar." in html
    assert DataSubjectRequest.objects.count() == 0


def test_an_appeal_needs_a_reference(client):
    response = post_form(client, "appeal", appeal_reference="nomor saya")
    assert "DSR-2026-000123" in response.content.decode()
    assert 'id="id_appeal_reference_error"' in response.content.decode()
    assert DataSubjectRequest.objects.count() == 0


def test_a_representative_uploads_a_signed_letter(client):
    page = client.get("/permintaan/deletion/")
    key = submission_key(page.content.decode())
    letter = _file("surat-kuasa.pdf", PDF)
    response = client.post("/permintaan/deletion/", {
        "submission_key": key, **form_data("deletion", is_representative="on", subject_name="Ibu Sri"),
        "authorisation": letter,
    })
    assert response.status_code == 303
    request = DataSubjectRequest.objects.get()
    assert request.is_representative and request.subject_name == "Ibu Sri"
    attachment = request.attachments.get()
    assert (attachment.kind, attachment.content_type, attachment.filename) == (
        RequestAttachment.Kind.AUTHORISATION, "application/pdf", "surat-kuasa.pdf",
    )
    assert bytes(attachment.content) == PDF


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("surat.pdf", EXE, "Berkas harus PDF, PNG atau JPEG."),  # the name says PDF, the bytes do not
        ("surat.pdf", PDF + b"\x00" * MAX_ATTACHMENT_BYTES, "Berkas terlalu besar: paling besar 5 MB."),
    ],
)
def test_a_letter_of_the_wrong_type_or_size_is_refused(client, name, content, message):
    key = submission_key(client.get("/permintaan/access/").content.decode())
    response = client.post("/permintaan/access/", {
        "submission_key": key, **form_data("access", is_representative="on", subject_name="Ibu Sri"),
        "authorisation": _file(name, content),
    })
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html and 'id="id_authorisation_error"' in html
    assert "<details class=\"representative\" open>" in html  # the part with the error is open
    assert DataSubjectRequest.objects.count() == 0 and RequestAttachment.objects.count() == 0


def test_uploads_are_held_in_memory_up_to_the_limit_only(rf):
    from requests_portal.uploads import cap_uploads

    body = (
        b"--B\r\nContent-Disposition: form-data; name=\"authorisation\"; filename=\"a.pdf\"\r\n"
        b"Content-Type: application/pdf\r\n\r\n" + PDF + b"x" * 5000 + b"\r\n"
        b"--B\r\nContent-Disposition: form-data; name=\"other\"; filename=\"b.pdf\"\r\n"
        b"Content-Type: application/pdf\r\n\r\n" + PDF + b"\r\n--B--\r\n"
    )
    request = rf.generic("POST", "/", body, content_type="multipart/form-data; boundary=B")
    cap_uploads(request, fields=["authorisation"], limit=100)
    kept = request.FILES["authorisation"]
    assert kept.size == 101 and kept.read() == (PDF + b"x" * 5000)[:101]
    assert "other" not in request.FILES


# -- protections -----------------------------------------------------------------------------


def test_the_form_needs_the_csrf_token():
    client = Client(enforce_csrf_checks=True)
    key = submission_key(client.get("/permintaan/access/").content.decode())
    response = client.post("/permintaan/access/", {"submission_key": key, **form_data("access")})
    assert response.status_code == 403
    assert "Formulir tidak dapat dikirim" in response.content.decode()  # the portal's page, in Indonesian
    assert DataSubjectRequest.objects.count() == 0
    english = client.post("/en/permintaan/access/", {"submission_key": key, **form_data("access")})
    assert english.status_code == 403 and '<html lang="en">' in english.content.decode()


def test_the_honeypot_answers_as_a_success_and_makes_nothing(client):
    trap = post_form(client, "access", website="http://spam.example")
    assert DataSubjectRequest.objects.count() == 0 and OutboundMessage.objects.count() == 0
    real = post_form(client, "access")
    assert DataSubjectRequest.objects.count() == 1
    assert (trap.status_code, trap["Location"], trap.content) == (real.status_code, real["Location"], real.content)


def test_the_honeypot_is_hidden_and_labelled_leave_empty(client):
    html = client.get("/permintaan/access/").content.decode()
    assert re.search(r'<div class="hp">\s*<label for="id_website">Biarkan kolom ini kosong</label>', html)
    assert 'name="website"' in html and 'tabindex="-1"' in html


def test_a_double_submit_with_the_same_key_makes_one_request(client):
    key = submission_key(client.get("/permintaan/access/").content.decode())
    first = post_form(client, "access", key=key)
    second = post_form(client, "access", key=key)
    assert first.status_code == second.status_code == 303
    assert first["Location"] == second["Location"]
    assert DataSubjectRequest.objects.count() == 1
    assert OutboundMessage.objects.filter(kind="request_code").count() == 1


def test_a_forged_or_missing_key_is_refused_and_a_new_one_given(client):
    for key in ("forged-key", ""):
        response = post_form(client, "access", key=key)
        html = response.content.decode()
        assert response.status_code == 200
        assert "kirim sekali lagi" in html
        fresh = submission_key(html)
        assert fresh and fresh != key
    assert DataSubjectRequest.objects.count() == 0
    # The page it gave back can be sent as it is.
    assert post_form(client, "access", key=fresh).status_code == 303


def test_a_fixed_form_keeps_its_key(client):
    key = submission_key(client.get("/permintaan/access/").content.decode())
    wrong = post_form(client, "access", key=key, requester_name="")
    assert submission_key(wrong.content.decode()) == key
    assert post_form(client, "access", key=key).status_code == 303


def test_too_many_submissions_from_one_ip_get_a_429_and_make_nothing(client, settings):
    settings.RATELIMIT_SUBMIT_PER_IP = "2/h"
    for n in range(2):
        assert post_form(client, "access", email=f"orang{n}@example.test").status_code == 303
    response = post_form(client, "access", email="orang9@example.test")
    html = response.content.decode()
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 60
    assert "Terlalu banyak percobaan" in html and "Coba lagi setelah" in html and "WIB" in html
    assert DataSubjectRequest.objects.count() == 2
    assert not DataSubjectRequest.objects.filter(email="orang9@example.test").exists()
    # Another network is not limited.
    other = Client(REMOTE_ADDR="10.9.8.7")
    assert post_form(other, "access", email="lain@example.test").status_code == 303


def test_too_many_submissions_for_one_address_get_a_429_whatever_the_ip(settings):
    settings.RATELIMIT_SUBMIT_PER_ADDRESS = "1/h"
    assert post_form(Client(REMOTE_ADDR="10.0.0.1"), "access", email="Siti@Example.test").status_code == 303
    response = post_form(Client(REMOTE_ADDR="10.0.0.2"), "deletion", email="siti@example.TEST")
    assert response.status_code == 429
    assert post_form(Client(REMOTE_ADDR="10.0.0.3"), "access", email="", phone="0812 3456 7890").status_code == 303
    assert post_form(Client(REMOTE_ADDR="10.0.0.4"), "access", email="", phone="+62 812-3456-7890").status_code == 429
    assert DataSubjectRequest.objects.count() == 2


def test_a_cache_that_is_down_loses_no_request(client, monkeypatch, caplog):
    # Redis down while the form is posted: the limits cannot count, the request is still taken.
    import redis

    from requests_portal import ratelimits

    def down(*args, **kwargs):
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(ratelimits, "get_usage", down)
    response = post_form(client, "access", email="tetap@example.test")
    assert response.status_code == 303
    assert DataSubjectRequest.objects.filter(email="tetap@example.test").count() == 1
    assert "cache is unavailable" in caplog.text


def test_the_429_page_is_in_the_language_of_the_page(client, settings):
    settings.RATELIMIT_SUBMIT_PER_IP = "1/h"
    post_form(client, "access", prefix="/en")
    response = post_form(client, "access", prefix="/en", email="b@example.test")
    assert response.status_code == 429
    assert response["Content-Language"] == "en"
    assert '<html lang="en">' in response.content.decode()
    with translation.override("en"):
        assert gettext("Terlalu banyak percobaan") in response.content.decode()


def test_a_known_and_an_unknown_address_get_byte_identical_answers():
    merchant = MerchantFactory()
    answers = []
    for email in (merchant.owner_email, "tidak-dikenal@example.test"):
        client = Client(enforce_csrf_checks=True)
        page = client.get("/permintaan/deletion/")
        html = page.content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        response = client.post("/permintaan/deletion/", {
            "csrfmiddlewaretoken": token, "submission_key": submission_key(html),
            **form_data("deletion", subject_role="owner", shop_name="", email=email),
        })
        headers = {name: value for name, value in response.items() if name.lower() != "date"}
        answers.append((response.status_code, headers, response.cookies.output(), response.content))
    assert answers[0] == answers[1]
    assert answers[0][0] == 303 and answers[0][1]["Location"] == "/permintaan/terkirim/"
    assert answers[0][2] == ""  # no cookie set: nothing about the request in a session
    assert DataSubjectRequest.objects.count() == 2


# -- English ---------------------------------------------------------------------------------


def test_english_forms_make_english_requests(client):
    page = client.get("/en/permintaan/correction/")
    html = page.content.decode()
    assert page["Content-Language"] == "en" and '<html lang="en">' in html
    with translation.override("en"):
        for text in ("Perbaikan data", "Kirim permintaan", "Data mana yang salah?", "Cara kami menghubungi Anda"):
            assert gettext(text) in html
    response = post_form(client, "correction", prefix="/en")
    assert response.status_code == 303 and response["Location"] == "/en/permintaan/terkirim/"
    request = DataSubjectRequest.objects.get()
    assert request.language == "en"
    assert set(outbox_of(request, "request_code").values_list("language", flat=True)) == {"en"}
    sent = client.get(response["Location"])
    assert sent["Content-Language"] == "en"
    # The status page of an English request is in English.
    status = client.get(status_path(request))
    assert status.status_code == 200 and '<html lang="en">' in status.content.decode()


# -- the status page -------------------------------------------------------------------------


def test_a_bad_or_tampered_token_is_not_found(client, make_request):
    request = make_request(step="submitted")
    token = status_token(request)
    assert client.get(f"/permintaan/status/{token}/").status_code == 200
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in ("rubbish", tampered, str(request.public_id), request.reference):
        assert client.get(f"/permintaan/status/{bad}/").status_code == 404
        assert client.post(f"/permintaan/status/{bad}/batalkan/", {"confirm": "on"}).status_code == 404
    request.refresh_from_db()
    assert request.state == State.SUBMITTED


def test_the_status_page_of_a_new_request(client, make_request):
    request = make_request(step="submitted", phone="0812 3456 7890")
    path = status_path(request)
    html = client.get(path).content.decode()
    assert request.reference in html
    assert "Akses dan salinan data" in html and "Menunggu verifikasi identitas" in html
    assert "Permintaan diterima" in html and "WIB" in html
    # A code form and a re-send for each address still to prove, the address masked.
    assert html.count('action="' + path + 'kode/"') == 2
    assert html.count('action="' + path + 'kirim-ulang/"') == 2
    assert "s\u2022\u2022\u2022@example.test" in html and "siti@example.test" not in html
    assert "\u2022\u2022\u2022\u2022890" in html
    assert "Batalkan permintaan" in html


def test_the_right_code_verifies_and_starts_the_clock(client, make_request):
    request = make_request(step="submitted")
    path = status_path(request)
    response = client.post(path + "kode/", {"via": "email", "code": code_sent(request)})
    assert response.status_code == 303 and response["Location"] == path
    page = client.get(response["Location"])
    assert "identitas Anda terverifikasi" in " ".join(messages_shown(page))
    request.refresh_from_db()
    assert request.state == State.VERIFIED and request.due_at is not None
    html = page.content.decode()
    assert "Tenggat kami" in html and "sisa" in html
    assert 'kode/"' not in html  # nothing left to prove


def test_wrong_codes_count_five_tries(client, make_request):
    request = make_request(step="submitted")
    right = code_sent(request)
    wrong = "000000" if right != "000000" else "111111"
    shown = []
    for _try in range(5):
        response = client.post(status_path(request) + "kode/", {"via": "email", "code": wrong}, follow=True)
        shown += messages_shown(response)
    assert shown[0] == "Kode salah. Sisa percobaan: 4."
    assert shown[-1] == "Kode salah. Percobaan habis: minta kode baru."
    # Even the right code is refused now.
    response = client.post(status_path(request) + "kode/", {"via": "email", "code": right}, follow=True)
    assert messages_shown(response) == ["Terlalu banyak percobaan yang salah. Minta kode baru."]
    request.refresh_from_db()
    assert request.state == State.SUBMITTED
    assert VerificationCode.objects.get(request=request).failed_attempts == 5


def test_an_empty_code_is_a_message_not_an_error_page(client, make_request):
    request = make_request(step="submitted")
    response = client.post(status_path(request) + "kode/", {"via": "email", "code": ""}, follow=True)
    assert messages_shown(response) == ["Tulis kode yang kami kirim."]


def test_resend_waits_for_the_cool_down_then_sends_a_new_code(client, make_request):
    request = make_request(step="submitted")
    first = code_sent(request)
    response = client.post(status_path(request) + "kirim-ulang/", {"via": "email"}, follow=True)
    [message] = messages_shown(response)
    assert re.fullmatch(r"Tunggu \d+ detik sebelum meminta kode baru\.", message)
    assert outbox_of(request, "request_code").count() == 1

    VerificationCode.objects.filter(request=request).update(sent_at=timezone.now() - timedelta(minutes=5))
    response = client.post(status_path(request) + "kirim-ulang/", {"via": "email"}, follow=True)
    assert messages_shown(response) == ["Kode baru telah dikirim. Kode yang lama tidak berlaku lagi."]
    assert outbox_of(request, "request_code").count() == 2
    new = code_sent(request)
    assert client.post(status_path(request) + "kode/", {"via": "email", "code": new}).status_code == 303
    request.refresh_from_db()
    assert request.state == State.VERIFIED or first == new


def test_too_many_steps_on_one_request_get_a_429(client, make_request, settings):
    settings.RATELIMIT_STEP_PER_REQUEST = "2/h"
    request = make_request(step="submitted")
    for _try in range(2):
        assert client.post(status_path(request) + "kode/", {"via": "email", "code": "999999"}).status_code == 303
    response = Client(REMOTE_ADDR="10.1.1.1").post(status_path(request) + "kode/", {"via": "email", "code": "999999"})
    assert response.status_code == 429 and "Coba lagi setelah" in response.content.decode()
    assert VerificationCode.objects.get(request=request).failed_attempts <= 2


def test_the_verification_link_asks_before_it_verifies(client, make_request):
    request = make_request(step="submitted")
    body = outbox_of(request, "request_code").get(channel="email").body
    link = re.search(r"https?://[^/\s]+(/permintaan/verifikasi/[^/\s]+/)", body).group(1)

    page = client.get(link)  # what a mail scanner does
    assert page.status_code == 200 and "Ya, ini alamat saya" in page.content.decode()
    request.refresh_from_db()
    assert request.state == State.SUBMITTED

    response = client.post(link)
    assert response.status_code == 303
    token = re.fullmatch(r"/permintaan/status/([^/]+)/", response["Location"]).group(1)
    assert request_from_token(token) == request
    assert messages_shown(client.get(response["Location"])) == [
        "Terima kasih: identitas Anda terverifikasi. Tenggat kami mulai berjalan."
    ]
    request.refresh_from_db()
    assert request.state == State.VERIFIED
    # Used once only.
    again = client.post(link, follow=True)
    assert messages_shown(again) == ["Permintaan ini tidak menunggu verifikasi."]
    assert client.get("/permintaan/verifikasi/rubbish/").status_code == 404


def test_the_officers_question_is_answered_with_an_attachment(client, make_request, officer):
    request = make_request(step="in_review", by=officer, right="deletion")
    services.request_ask(request_id=request.pk, actor=officer, question="Dari toko mana data Anda?", about="reason")
    html = client.get(status_path(request)).content.decode()
    assert "Menunggu jawaban Anda" in html
    assert "Pertanyaan kami" in html and "Dari toko mana data Anda?" in html
    assert "Berhenti selama kami menunggu jawaban Anda." in html

    bad = client.post(status_path(request) + "jawab/", {"text": "Warung", "attachment": _file("bukti.png", EXE)}, follow=True)
    assert messages_shown(bad) == ["Berkas harus PDF, PNG atau JPEG."]
    request.refresh_from_db()
    assert request.state == State.AWAITING_REQUESTER and not request.attachments.exists()

    good = client.post(status_path(request) + "jawab/", {"text": "Warung Bu Drajat", "attachment": _file("bukti.png", PNG)}, follow=True)
    assert messages_shown(good) == ["Jawaban Anda telah kami terima. Tenggat kami berjalan kembali."]
    request.refresh_from_db()
    assert request.state == State.IN_REVIEW
    attachment = request.attachments.get(kind=RequestAttachment.Kind.ANSWER)
    assert attachment.content_type == "image/png" and attachment.event_id is not None
    html = good.content.decode()
    assert "Anda menjawab" in html and "Pertanyaan kami" not in html


def test_an_empty_answer_is_refused(client, make_request, officer):
    request = make_request(step="in_review", by=officer)
    services.request_ask(request_id=request.pk, actor=officer, question="Sejak kapan?")
    response = client.post(status_path(request) + "jawab/", {"text": " "}, follow=True)
    assert messages_shown(response) == ["Tulis jawaban Anda atau lampirkan berkas."]


def test_withdraw_needs_the_confirmation(client, make_request):
    request = make_request(step="verified")
    response = client.post(status_path(request) + "batalkan/", {}, follow=True)
    assert messages_shown(response) == ["Centang kotak konfirmasi untuk membatalkan permintaan."]
    request.refresh_from_db()
    assert request.state == State.VERIFIED

    response = client.post(status_path(request) + "batalkan/", {"confirm": "on"}, follow=True)
    assert messages_shown(response) == ["Permintaan Anda telah dibatalkan."]
    request.refresh_from_db()
    assert request.state == State.WITHDRAWN
    html = response.content.decode()
    assert "Dibatalkan oleh pemohon" in html and 'batalkan/"' not in html
    # Twice: the service's refusal, as a message.
    again = client.post(status_path(request) + "batalkan/", {"confirm": "on"}, follow=True)
    assert "tidak dapat membatalkan" in messages_shown(again)[0]


def test_the_timeline_never_shows_officers_notes_or_names(client, make_request, officer):
    request = make_request(step="in_review", by=officer)
    services.request_approve(request_id=request.pk, actor=officer, note="Catatan internal: dicek di kasir")
    html = client.get(status_path(request)).content.decode()
    assert "Petugas JUNOPOS" in html and "Anda" in html
    assert "officer1" not in html and "Catatan internal" not in html
    assert "Permintaan disetujui" in html  # what happened
    assert "telah disetujui dan akan kami laksanakan" in html  # what the requester was told
    assert 'batalkan/"' in html  # an approved request can still be withdrawn


def test_the_status_page_posts_need_csrf(make_request):
    request = make_request(step="verified")
    client = Client(enforce_csrf_checks=True)
    assert client.post(status_path(request) + "batalkan/", {"confirm": "on"}).status_code == 403
    assert client.post(status_path(request) + "jawab/", {"text": "x"}).status_code == 403
    request.refresh_from_db()
    assert request.state == State.VERIFIED


def test_an_unknown_right_is_not_found(client):
    assert client.get("/permintaan/information/").status_code == 404
    assert client.get("/permintaan/hapus-semua/").status_code == 404


def test_no_inline_style_or_script_on_the_public_pages(client, make_request, officer):
    request = make_request(step="in_review", by=officer)
    services.request_ask(request_id=request.pk, actor=officer, question="Sejak kapan?")
    pages = [f"/permintaan/{right}/" for right in Right.values] + [
        "/permintaan/terkirim/", status_path(request), status_path(make_request(step="submitted", email="b@example.test")),
    ]
    for path in pages:
        html = client.get(path).content.decode()
        assert "<script" not in html and "<style" not in html and " style=" not in html, path


def _file(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


# -- pages kept rendered ------------------------------------------------------------------------


def test_a_status_page_is_served_from_the_cache_with_the_visitors_own_csrf_token(
    client, make_request, django_assert_num_queries
):
    request = make_request()
    path = status_path(request)
    first = client.get(path)
    assert first.status_code == 200
    with django_assert_num_queries(0):
        again = Client().get(path)
    assert again.status_code == 200 and request.reference in again.content.decode()
    tokens = [re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', r.content.decode()) for r in (first, again)]
    assert tokens[1] and tokens[0][0] != tokens[1][0] and "\x00" not in again.content.decode()


def test_a_change_to_the_request_is_on_its_status_page_at_once(
    client, make_request, officer, django_capture_on_commit_callbacks
):
    from requests_portal import services

    request = make_request(step="in_review", by=officer)
    path = status_path(request)
    assert "Sedang ditinjau" in client.get(path).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        services.request_ask(request_id=request.pk, actor=officer, question="Outlet mana yang Anda maksud?")
    page = client.get(path).content.decode()
    assert "Menunggu jawaban Anda" in page and "Outlet mana yang Anda maksud?" in page


def test_a_cached_form_gives_each_visitor_a_fresh_submission_key(client):
    first = client.get("/permintaan/access/").content.decode()
    second = Client().get("/permintaan/access/").content.decode()
    assert submission_key(first) != submission_key(second)
    # Both keys work: two people, two requests.
    assert post_form(client, "access", key=submission_key(first), email="satu@example.test").status_code == 303
    other = Client()
    other.get("/permintaan/access/")
    assert post_form(other, "access", key=submission_key(second), email="dua@example.test").status_code == 303
    assert DataSubjectRequest.objects.count() == 2
