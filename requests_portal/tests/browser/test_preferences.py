"""The preference centre and the policy in a real browser: a shop's customer, on a 360 px phone,
opens the preference centre from the home page, proves her e-mail with the code from the outbox,
withdraws her marketing consent and sees the confirmation; the policy page and the unsubscribe
page fit a phone and a desktop."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from consent.models import Action, Channel, ConsentEvent
from consent.selectors import consent_check, purposes_by_key, purposes_forget
from consent.services import consent_record, marketing_message_queue, subject_ref
from messaging.models import OutboundMessage

pytestmark = pytest.mark.browser

SCROLL_WIDTH = "document.documentElement.scrollWidth"
SITI = "siti.rahayu@example.test"


@pytest.fixture(autouse=True)
def _fresh():
    cache.clear()  # codes and rate limits live on the test Redis
    purposes_forget()  # the live server's rows were flushed and seeded again
    yield
    cache.clear()
    purposes_forget()


def _fits(page) -> None:
    width = page.viewport_size["width"]
    assert page.evaluate(SCROLL_WIDTH) <= width, "the page is wider than the screen"


def test_a_customer_withdraws_marketing_on_a_phone(phone, server, shot):
    page = phone
    consent_record(subject=subject_ref(email=SITI), purpose="marketing", action=Action.GIVEN, channel=Channel.TILL)
    page.goto("/")
    page.get_by_role("link", name="Atur preferensi privasi").click()
    expect(page).to_have_url(f"{server.url}/preferensi/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pusat preferensi privasi")
    _fits(page)
    shot(page, "start")

    page.get_by_label("E-mail").fill(SITI)
    page.get_by_role("button", name="Kirim kode").click()
    expect(page).to_have_url(f"{server.url}/preferensi/kode/")
    expect(page.get_by_text("s•••@example.test")).to_be_visible()
    shot(page, "code")

    body = OutboundMessage.objects.filter(kind="preference_code", to_email=SITI).latest("pk").body
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", body).group(1)
    page.get_by_label("Kode 6 angka").fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="Lanjutkan").click()
    expect(page.get_by_role("alert")).to_contain_text("Kode salah. Sisa percobaan: 4.")
    shot(page, "code-wrong")
    page.get_by_label("Kode 6 angka").fill(code)
    page.get_by_role("button", name="Lanjutkan").click()

    expect(page).to_have_url(f"{server.url}/preferensi/pilihan/")
    expect(page.locator(".purpose")).to_have_count(10)
    marketing = page.locator("#purpose-marketing-card")
    expect(marketing).to_contain_text("Persetujuan")
    expect(marketing).to_contain_text("Anda setuju")
    expect(page.locator("#purpose-transactions-card")).to_contain_text("Tidak dapat dimatikan")
    expect(page.locator("#purpose-transactions-card input")).to_have_count(0)
    _fits(page)
    shot(page, "choices")

    page.get_by_label("Saya setuju").uncheck()
    page.get_by_role("button", name="Simpan pilihan").click()
    expect(page.get_by_role("status")).to_contain_text("Pilihan Anda telah disimpan (1 perubahan).")
    expect(page.locator("#purpose-marketing-card")).to_contain_text("Anda tidak setuju")
    _fits(page)
    shot(page, "saved")

    event = ConsentEvent.objects.latest("pk")
    assert (event.action, event.channel, event.purpose.key) == (Action.WITHDRAWN, Channel.PORTAL, "marketing")
    assert "Mozilla" in event.user_agent
    decision = consent_check(identifiers=[SITI], merchant_id=None, purpose=purposes_by_key()["marketing"])
    assert not decision.allowed


def test_the_policy_and_unsubscribe_pages_fit_a_phone_and_a_desktop(phone, desktop, server, shot):
    consent_record(subject=subject_ref(email=SITI), purpose="marketing", action=Action.GIVEN, channel=Channel.TILL)
    message = marketing_message_queue(to_email=SITI, subject="Diskon 20%", body="Diskon minggu ini.")
    token = re.fullmatch(r"<.+/berhenti/([^/]+)/>", message.headers["List-Unsubscribe"]).group(1)
    for name, page in (("phone", phone), ("desktop", desktop)):
        page.goto("/kebijakan/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Kebijakan Privasi JUNOPOS")
        expect(page.locator(".policy-text ol").first).to_be_visible()
        _fits(page)
        shot(page, f"policy-{name}")
        page.goto(f"/berhenti/{token}/")
        _fits(page)
        shot(page, f"unsubscribe-{name}")
    phone.get_by_role("button", name="Berhenti berlangganan").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Anda sudah berhenti berlangganan")
    _fits(phone)
    shot(phone, "unsubscribed-phone")
    assert ConsentEvent.objects.filter(action=Action.WITHDRAWN).count() == 1
    desktop.goto("/en/preferensi/")
    expect(desktop.locator("html")).to_have_attribute("lang", "en")
    shot(desktop, "preferences-en-desktop")
