"""A request in a real browser: a shop's customer asks for deletion in Indonesian on a phone,
proves her address with the mailed code, answers the officer's question and sees the state
change; and every public page, on a phone and a desktop, fits and is styled."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from playwright.sync_api import expect

from messaging.models import OutboundMessage
from requests_portal import services
from requests_portal.models import DataSubjectRequest, RequestMessage, Right, State
from requests_portal.notifications import status_token

pytestmark = pytest.mark.browser

SCROLL_WIDTH = "document.documentElement.scrollWidth"


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()  # rate limits count on the test Redis
    yield
    cache.clear()


@pytest.fixture
def portal_links(settings, server):
    """The links in the portal's messages point at the live server."""
    settings.PORTAL_URL = server.url


def _officer() -> User:
    user = User.objects.create_user("petugas", "petugas@junopos.test", "petugas-demo-2026", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="work_request"))
    return User.objects.get(pk=user.pk)  # permissions are cached on the instance


def _code_mail(request: DataSubjectRequest) -> str:
    message = OutboundMessage.objects.filter(
        pk__in=RequestMessage.objects.filter(request=request).values("message_id"), kind="request_code",
        channel="email",
    ).latest("pk")
    return message.body


def test_a_customer_asks_for_deletion_on_a_phone(phone, server, portal_links, shot):
    page = phone
    page.goto("/")
    page.get_by_role("link", name=re.compile(r"Ajukan permintaan\s*:\s*Penghapusan data")).click()
    expect(page).to_have_url(f"{server.url}/permintaan/deletion/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Penghapusan data")
    shot(page, "form")

    # Sent empty first: the summary at the top, each error next to its field.
    page.get_by_role("button", name="Kirim permintaan").click()
    expect(page.get_by_role("alert")).to_contain_text("Ada yang perlu diperbaiki")
    expect(page.get_by_text("Tulis nama lengkap Anda.").first).to_be_visible()
    assert DataSubjectRequest.objects.count() == 0
    shot(page, "form-errors")

    page.get_by_label("Pelanggan sebuah toko pengguna JUNOPOS").check()
    page.get_by_label("Nama toko").fill("Warung Bu Drajat")
    page.get_by_label("Nama lengkap Anda").fill("Siti Rahayu")
    page.get_by_label("E-mail").fill("siti.rahayu@example.test")
    page.get_by_label("Alasan Anda").fill("Saya tidak lagi berbelanja di warung itu.")
    shot(page, "form-filled")
    page.get_by_role("button", name="Kirim permintaan").click()

    expect(page).to_have_url(f"{server.url}/permintaan/terkirim/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Periksa e-mail atau ponsel Anda")
    shot(page, "sent")
    request = DataSubjectRequest.objects.get()
    assert (request.right, request.language, request.state) == (Right.DELETION, "id", State.SUBMITTED)

    # The mail: its status link, and its code typed on the status page.
    mail = _code_mail(request)
    code = re.search(r"(?<![\w-])(\d{6})(?![\w-])", mail).group(1)
    status_link = re.search(r"(https?://\S+/permintaan/status/\S+/)", mail).group(1)
    page.goto(status_link)
    expect(page.locator(".state")).to_have_text("Menunggu verifikasi identitas")
    shot(page, "status-submitted")
    page.get_by_label("Kode 6 angka").fill(code)
    page.get_by_role("button", name="Buktikan").click()
    expect(page.get_by_role("status")).to_contain_text("identitas Anda terverifikasi")
    expect(page.locator(".state")).to_have_text("Identitas terverifikasi")
    expect(page.get_by_text("Tenggat kami", exact=True)).to_be_visible()
    shot(page, "status-verified")

    # An officer asks why; the customer reads the question on her status page.
    officer = _officer()
    services.request_assign(request_id=request.pk, actor=officer, assignee=officer)
    services.request_ask(
        request_id=request.pk, actor=officer, about="reason",
        question="Apakah Anda juga ingin kartu loyalitas Anda di Warung Bu Drajat ditutup?",
    )
    page.reload()
    expect(page.locator(".state")).to_have_text("Menunggu jawaban Anda")
    expect(page.get_by_text("kartu loyalitas Anda di Warung Bu Drajat ditutup?").first).to_be_visible()
    expect(page.get_by_text("Berhenti selama kami menunggu jawaban Anda.")).to_be_visible()
    assert page.evaluate(SCROLL_WIDTH) <= 360, "the status page scrolls sideways on a 360 px phone"
    shot(page, "question")

    page.get_by_label("Jawaban Anda").fill("Ya, tutup juga kartu loyalitas saya.")
    page.get_by_role("button", name="Kirim jawaban").click()
    expect(page.get_by_role("status")).to_contain_text("Jawaban Anda telah kami terima")
    expect(page.locator(".state")).to_have_text("Sedang ditinjau")
    expect(page.locator(".timeline__what", has_text="Anda menjawab")).to_be_visible()
    expect(page.get_by_text("Pertanyaan kami", exact=True)).to_have_count(0)
    # The officer is "Petugas JUNOPOS", never a username.
    expect(page.get_by_text("petugas", exact=True)).to_have_count(0)
    shot(page, "answered")
    request.refresh_from_db()
    assert request.state == State.IN_REVIEW

    assert [url for url in page.requested if not url.startswith(server.url + "/")] == []


def _every_page(server) -> list[tuple[str, str]]:
    """(name, path) of each public page in a state worth seeing."""
    submitted, _ = services.request_submit(
        submission_key="browser-submitted", right="access", subject_role="owner", requester_name="Budi Santoso",
        email="budi@example.test", phone="0812 3456 7890", shop_name="Kopi Budi", language="id",
    )
    officer = _officer()
    refused, _ = services.request_submit(
        submission_key="browser-refused", right="correction", subject_role="staff", requester_name="Dewi",
        email="dewi@example.test", wrong_data="Jabatan: kasir", correct_data="Jabatan: kepala toko",
        language="en",
    )
    code = re.search(r"(?<![\w-])(\d{6})(?![\w-])", _code_mail(refused)).group(1)
    services.request_verify(request_id=refused.pk, via="email", code=code)
    services.request_assign(request_id=refused.pk, actor=officer, assignee=officer)
    services.request_refuse(
        request_id=refused.pk, actor=officer, reason="third_party",
        text="The position is recorded by the shop owner, who must change it.",
    )
    verify_link = re.search(r"https?://[^/\s]+(/permintaan/verifikasi/\S+/)", _code_mail(submitted)).group(1)
    return [
        ("form-correction", "/permintaan/correction/"),
        ("form-appeal-en", "/en/permintaan/appeal/?ref=DSR-2026-000123"),
        ("sent", "/permintaan/terkirim/"),
        ("status-two-addresses", f"/permintaan/status/{status_token(submitted)}/"),
        ("verify-link", verify_link),
        ("status-refused-en", f"/en/permintaan/status/{status_token(refused)}/"),
    ]


@pytest.mark.parametrize("device, width", [("phone", 360), ("desktop", 1280)])
def test_every_public_page_fits_and_is_styled(request, device, width, server, shot, settings):
    page = request.getfixturevalue(device)
    for name, path in _every_page(server):
        page.goto(path)
        expect(page.locator("body")).to_have_css("background-color", "rgb(243, 245, 248)")
        assert page.evaluate(SCROLL_WIDTH) <= width, f"{name} scrolls sideways at {width} px"
        shot(page, name)
    # The withdrawal's confirmation opens without JavaScript (a <details>).
    page.goto(_path_of_status(page))
    page.locator("summary", has_text="Batalkan permintaan ini").click()
    expect(page.get_by_label(re.compile("saya ingin membatalkan"))).to_be_visible()
    shot(page, "withdraw-open")
    # Too many tries: the page says when to try again.
    settings.RATELIMIT_STEP_PER_REQUEST = "0/h"
    page.get_by_role("button", name="Kirim ulang kode").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Terlalu banyak percobaan")
    shot(page, "rate-limited")
    assert [url for url in page.requested if not url.startswith(server.url + "/")] == []


def _path_of_status(page) -> str:
    submitted = DataSubjectRequest.objects.get(right="access")
    return f"/permintaan/status/{status_token(submitted)}/"
