"""The policy pages, the preference centre (code, choices) and the one-click unsubscribe, through
the pages as a visitor uses them, on the real database and Redis; codes are read from the outbox."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from consent.models import Action, Channel, ConsentEvent, PolicyVersion, content_hash
from consent.selectors import Reason, consent_check, policy_current, purposes_by_key, purposes_forget
from consent.services import consent_record, marketing_message_queue, subject_ref
from merchants.tests.factories import MerchantFactory
from messaging.models import OutboundMessage
from requests_portal import services
from requests_portal.exceptions import CodeRefused
from requests_portal.services.preferences import PREFERENCE_CODE_LIFETIME, PreferenceError, ProvenAddress

pytestmark = pytest.mark.django_db

SITI = "siti@example.test"


@pytest.fixture(autouse=True)
def _fresh():
    # Codes and rate limits live on the test Redis; purposes are cached per process.
    cache.clear()
    purposes_forget()
    yield
    cache.clear()
    purposes_forget()


def last_code(*, email: str = "", phone: str = "") -> str:
    messages = OutboundMessage.objects.filter(kind="preference_code")
    messages = messages.filter(to_email=email) if email else messages.filter(to_phone=phone)
    message = messages.order_by("-pk").first()
    assert message is not None, "no code sent"
    return re.search(r"(?<!\d)(\d{6})(?!\d)", message.body).group(1)


def prove(client, *, email: str = SITI, shop: str = "") -> None:
    response = client.post("/preferensi/", {"email": email, "phone": "", "shop_name": shop})
    assert response.status_code == 303 and response["Location"] == "/preferensi/kode/"
    response = client.post("/preferensi/kode/", {"code": last_code(email=email)})
    assert response.status_code == 303 and response["Location"] == "/preferensi/pilihan/", response.content


def state(purpose: str, *, email: str = SITI, merchant_id=None):
    return consent_check(identifiers=[email], merchant_id=merchant_id, purpose=purposes_by_key()[purpose])


# -- the policy pages ------------------------------------------------------------------------


def test_the_policy_page_shows_the_current_version_its_hash_date_and_every_version(client):
    current = policy_current()
    page = client.get("/kebijakan/").content.decode()
    assert current.version in page and current.content_hash in page
    assert "WIB" in page and "berlaku sekarang" in page
    assert "<ol" in page and "Memproses segala transaksi" in page  # the numbered list kept
    assert f'href="/kebijakan/{current.version}/"' in page
    english = client.get("/en/kebijakan/").content.decode()
    assert 'lang="en"' in english and "is the company authorised" in english
    assert "Memproses segala transaksi" not in english


def test_an_older_version_stays_readable_drafts_and_unknown_ones_are_not_found(client):
    old = policy_current()
    text_id, text_en = "Versi baru\n\nTeks baru kebijakan.", "New version\n\nThe new policy text."
    newer = PolicyVersion.objects.create(
        version="2026.1", text_id=text_id, text_en=text_en, content_hash=content_hash(text_id, text_en),
        effective_at=timezone.now() - timedelta(days=1), published_at=timezone.now() - timedelta(days=2),
    )
    PolicyVersion.objects.create(version="2027.1-draft", text_id="draf", text_en="draft", effective_at=timezone.now())
    page = client.get("/kebijakan/").content.decode()
    assert "Teks baru kebijakan." in page and newer.content_hash in page
    older = client.get(f"/kebijakan/{old.version}/").content.decode()
    assert old.content_hash in older and "versi lama" in older and "/kebijakan/" in older
    assert client.get("/kebijakan/2027.1-draft/").status_code == 404
    assert client.get("/kebijakan/9999.9/").status_code == 404


# -- the code --------------------------------------------------------------------------------


def test_the_start_page_answers_the_same_for_a_known_and_an_unknown_address(client):
    MerchantFactory(owner_email="known@example.test")
    known = client.post("/preferensi/", {"email": "known@example.test"})
    other = client.__class__().post("/preferensi/", {"email": "nobody@example.test"})
    assert (known.status_code, known["Location"]) == (other.status_code, other["Location"]) == (303, "/preferensi/kode/")
    assert OutboundMessage.objects.filter(kind="preference_code").count() == 2


def test_a_wrong_code_counts_and_five_end_the_code(client):
    client.post("/preferensi/", {"email": SITI})
    right = last_code(email=SITI)
    wrong = "000000" if right != "000000" else "111111"
    page = client.post("/preferensi/kode/", {"code": wrong}).content.decode()
    assert "Kode salah. Sisa percobaan: 4." in page
    for _ in range(4):
        client.post("/preferensi/kode/", {"code": wrong})
    page = client.post("/preferensi/kode/", {"code": right}).content.decode()
    assert "Terlalu banyak percobaan" in page
    assert client.get("/preferensi/pilihan/").status_code == 303  # not proven


def test_a_code_is_single_use_and_expires():
    address = ProvenAddress("email", SITI)
    services.preference_code_send(address=address, language="id")
    code = last_code(email=SITI)
    later = timezone.now() + PREFERENCE_CODE_LIFETIME + timedelta(seconds=1)
    with pytest.raises(CodeRefused, match="kedaluwarsa"):
        services.preference_code_verify(address=address, code=code, now=later)
    services.preference_code_verify(address=address, code=code)
    with pytest.raises(CodeRefused):
        services.preference_code_verify(address=address, code=code)


def test_a_new_code_waits_for_the_cool_down_and_replaces_the_old_one():
    address = ProvenAddress("email", SITI)
    services.preference_code_send(address=address, language="id")
    old = last_code(email=SITI)
    with pytest.raises(CodeRefused, match="Tunggu"):
        services.preference_code_send(address=address, language="id")
    services.preference_code_send(address=address, language="id", now=timezone.now() + timedelta(seconds=61))
    new = last_code(email=SITI)
    if new != old:
        with pytest.raises(CodeRefused, match="salah"):
            services.preference_code_verify(address=address, code=old)
    services.preference_code_verify(address=address, code=new)


def test_a_phone_gets_its_code_through_the_phone_channel(client, settings):
    settings.PHONE_MESSAGE_CHANNEL = "whatsapp"
    client.post("/preferensi/", {"email": "", "phone": "0812 3456 7890"})
    message = OutboundMessage.objects.get(kind="preference_code")
    assert (message.channel, message.to_phone) == ("whatsapp", "+6281234567890")
    client.post("/preferensi/kode/", {"code": last_code(phone="+6281234567890")})
    assert "Promosi dan informasi pemasaran" in client.get("/preferensi/pilihan/").content.decode()


def test_sending_codes_is_rate_limited_per_address(client, settings):
    settings.RATELIMIT_SUBMIT_PER_ADDRESS = "2/h"
    for _ in range(2):
        client.post("/preferensi/", {"email": SITI})
    response = client.post("/preferensi/", {"email": SITI})
    assert response.status_code == 429 and "Coba lagi setelah" in response.content.decode()


# -- the choices -----------------------------------------------------------------------------


def test_the_choices_show_every_purpose_its_basis_and_what_it_uses(client):
    prove(client)
    page = client.get("/preferensi/pilihan/").content.decode()
    for purpose in purposes_by_key().values():
        assert purpose.name_id in page
    assert page.count('class="purpose ') == 10
    assert "Pelaksanaan perjanjian" in page and "Kewajiban hukum" in page and "Persetujuan" in page
    assert 'name="purpose-marketing"' in page and 'name="purpose-research"' in page
    assert 'name="purpose-transactions"' not in page and 'name="purpose-kyc"' not in page
    assert "undang-undang mewajibkan" in page


def test_giving_and_withdrawing_marketing_writes_one_event_each_with_its_evidence(client):
    prove(client)
    response = client.post("/preferensi/pilihan/", {"purpose-marketing": "on"}, HTTP_USER_AGENT="TestPhone/1")
    assert response.status_code == 303
    event = ConsentEvent.objects.get()
    assert (event.action, event.channel, event.email, event.user_agent) == (Action.GIVEN, Channel.PORTAL, SITI, "TestPhone/1")
    assert event.ip_address == "127.0.0.1" and "Promosi dan informasi pemasaran" in event.text_shown
    assert state("marketing").allowed
    page = client.get("/preferensi/pilihan/").content.decode()
    assert "Pilihan Anda telah disimpan (1 perubahan)." in page
    # The same choices again: nothing changed, nothing recorded.
    client.post("/preferensi/pilihan/", {"purpose-marketing": "on"})
    assert ConsentEvent.objects.count() == 1
    client.post("/preferensi/pilihan/", {})
    assert ConsentEvent.objects.count() == 2
    assert state("marketing").reason == Reason.CONSENT_WITHDRAWN


def test_an_objection_to_a_legitimate_interest_is_recorded_as_withdrawn_and_can_be_lifted(client):
    prove(client)
    client.post("/preferensi/pilihan/", {"purpose-research": "on"})
    event = ConsentEvent.objects.get()
    assert (event.purpose.key, event.action) == ("research", Action.WITHDRAWN)
    assert state("research").reason == Reason.OBJECTED
    page = client.get("/preferensi/pilihan/").content.decode()
    card = page.split('id="purpose-research-card"', 1)[1].split("</li>", 1)[0]
    assert 'name="purpose-research"' in card and " checked" in card
    assert "Anda keberatan" in card and "Keberatan Anda sudah tercatat" in card and "hapus centang" in card
    # The same page again: nothing changes.
    client.post("/preferensi/pilihan/", {"purpose-research": "on"})
    assert ConsentEvent.objects.count() == 1
    # The switch off: the objection is lifted, the purpose runs again.
    client.post("/preferensi/pilihan/", {}, HTTP_USER_AGENT="TestPhone/1")
    events = list(ConsentEvent.objects.filter(purpose__key="research").order_by("pk"))
    assert [(e.action, e.channel, e.reference) for e in events] == [
        (Action.WITHDRAWN, Channel.PORTAL, "preferences"), (Action.GIVEN, Channel.PORTAL, "preferences"),
    ]
    assert "Keberatan Anda sudah tercatat" in events[1].text_shown and events[1].user_agent == "TestPhone/1"
    assert state("research").allowed and state("research").reason == Reason.NOT_OBJECTED
    page = client.get("/preferensi/pilihan/").content.decode()
    card = page.split('id="purpose-research-card"', 1)[1].split("</li>", 1)[0]
    assert " checked" not in card and "Keberatan Anda sudah tercatat" not in card
    assert "Pilihan Anda telah disimpan (1 perubahan)." in page


def test_a_lifted_objection_is_recorded_through_the_service_and_a_contract_stays_refused():
    subject = subject_ref(email=SITI)
    services.preferences_save(subject=subject, wanted={"service-improvement": False}, texts={})
    assert state("service-improvement").reason == Reason.OBJECTED
    events = services.preferences_save(subject=subject, wanted={"service-improvement": True}, texts={})
    assert [(e.purpose.key, e.action) for e in events] == [("service-improvement", Action.GIVEN)]
    assert state("service-improvement").allowed
    with pytest.raises(PreferenceError):
        services.preferences_save(subject=subject, wanted={"kyc": False}, texts={})
    assert ConsentEvent.objects.count() == 2


def test_a_contract_purpose_cannot_be_switched_even_by_a_forged_post():
    client_subject = subject_ref(email=SITI)
    with pytest.raises(PreferenceError):
        services.preferences_save(subject=client_subject, wanted={"transactions": False, "marketing": True}, texts={})
    assert not ConsentEvent.objects.exists()


def test_a_forged_field_for_a_contract_purpose_records_nothing(client):
    prove(client)
    client.post("/preferensi/pilihan/", {"purpose-transactions": "on", "purpose-kyc": "on"})
    assert not ConsentEvent.objects.exists()
    assert state("transactions").allowed


def test_a_shops_marketing_is_switched_for_that_shop_only(client):
    shop = MerchantFactory(business_name="Warung Sari")
    consent_record(subject=subject_ref(email=SITI, merchant_id=shop.pk), purpose="marketing", action=Action.GIVEN, channel=Channel.TILL)
    prove(client, shop="warung sari")
    page = client.get("/preferensi/pilihan/").content.decode()
    assert "Warung Sari" in page and "Anda setuju" in page
    client.post("/preferensi/pilihan/", {})
    event = ConsentEvent.objects.order_by("-pk").first()
    assert (event.merchant_id, event.action) == (shop.pk, Action.WITHDRAWN)
    assert not state("marketing", merchant_id=shop.pk).allowed


def test_an_unknown_shop_is_said_on_the_form(client):
    page = client.post("/preferensi/", {"email": SITI, "shop_name": "Toko Tidak Ada"}).content.decode()
    assert "Kami tidak menemukan toko" in page
    assert not OutboundMessage.objects.exists()


def test_the_choices_close_when_the_session_time_is_over(client):
    prove(client)
    session = client.session
    session["preferences.proven"]["until"] = (timezone.now() - timedelta(seconds=1)).timestamp()
    session.save()
    response = client.post("/preferensi/pilihan/", {"purpose-marketing": "on"})
    assert response.status_code == 303 and response["Location"] == "/preferensi/"
    assert not ConsentEvent.objects.exists()


def test_english_pages_speak_english(client):
    client.post("/en/preferensi/", {"email": SITI})
    response = client.post("/en/preferensi/kode/", {"code": last_code(email=SITI)})
    assert response["Location"] == "/en/preferensi/pilihan/"
    page = client.get("/en/preferensi/pilihan/").content.decode()
    assert 'lang="en"' in page and "Promotions and marketing" in page and "Processing transactions" in page
    assert "Promosi dan informasi pemasaran" not in page
    assert 'lang="en"' in client.get("/en/preferensi/").content.decode()


# -- one-click unsubscribe -------------------------------------------------------------------


def _marketing_mail(merchant_id=None) -> OutboundMessage:
    consent_record(
        subject=subject_ref(email=SITI, merchant_id=merchant_id), purpose="marketing", action=Action.GIVEN,
        channel=Channel.TILL,
    )
    return marketing_message_queue(to_email=SITI, subject="Diskon 20%", body="Diskon minggu ini.", merchant_id=merchant_id)


def test_one_click_unsubscribe_from_the_headers_withdraws_once(client):
    message = _marketing_mail()
    url = re.fullmatch(r"<(.+)>", message.headers["List-Unsubscribe"]).group(1)
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert url in message.body
    path = url.split("://", 1)[1].split("/", 1)[1]
    # GET (a mail scanner) changes nothing.
    page = client.get("/" + path).content.decode()
    assert "Berhenti berlangganan" in page and not ConsentEvent.objects.filter(action=Action.WITHDRAWN).exists()
    response = client.post("/" + path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    event = ConsentEvent.objects.get(action=Action.WITHDRAWN)
    assert (event.channel, event.purpose.key, event.email) == (Channel.PORTAL, "marketing", SITI)
    assert "RFC 8058" in event.text_shown
    assert state("marketing").reason == Reason.CONSENT_WITHDRAWN
    client.post("/" + path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert ConsentEvent.objects.filter(action=Action.WITHDRAWN).count() == 1


def _token(message: OutboundMessage) -> str:
    return re.fullmatch(r"<.+/berhenti/([^/]+)/>", message.headers["List-Unsubscribe"]).group(1)


def test_the_unsubscribe_button_works_without_a_csrf_token(client):
    shop = MerchantFactory(business_name="Toko Maju")
    token = _token(_marketing_mail(merchant_id=shop.pk))
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    page = strict.post(f"/berhenti/{token}/", {"from": "page", "List-Unsubscribe": "One-Click"}).content.decode()
    assert "Toko Maju" in page and "tidak akan lagi menerima promosi" in page and "s•••@example.test" in page
    assert not state("marketing", merchant_id=shop.pk).allowed


def test_a_tampered_token_is_refused_in_the_visitors_language_and_records_nothing(client):
    token = _token(_marketing_mail())
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = client.post(f"/berhenti/{tampered}/", "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and "Tautan tidak berlaku" in response.content.decode()
    english = client.get(f"/en/berhenti/{tampered}/")
    assert english.status_code == 400 and 'lang="en"' in english.content.decode()
    assert not ConsentEvent.objects.filter(action=Action.WITHDRAWN).exists()


def test_the_link_names_no_address_the_page_finds_it_from_the_message(client):
    message = _marketing_mail()
    url = re.fullmatch(r"<(.+)>", message.headers["List-Unsubscribe"]).group(1)
    assert "siti" not in url and "example" not in url and "%40" not in url and "@" not in url
    page = client.get(f"/berhenti/{_token(message)}/").content.decode()
    assert "s•••@example.test" in page and SITI not in page


def test_a_link_whose_subject_was_erased_answers_as_a_used_one_and_records_nothing(client):
    from retention.services import subject_erase

    shop = MerchantFactory(business_name="Toko Maju")
    token = _token(_marketing_mail(merchant_id=shop.pk))
    subject_erase(email=SITI)
    events = ConsentEvent.objects.count()
    for response in (
        client.get(f"/berhenti/{token}/"),
        client.post(f"/berhenti/{token}/", "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"),
        client.post(f"/en/berhenti/{token}/", {"from": "page"}),
    ):
        page = response.content.decode()
        assert response.status_code == 200, page
        assert "Anda sudah berhenti berlangganan" in page or "unsubscribed" in page.lower()
        assert "Toko Maju" in page and "@" not in page.split("<main", 1)[-1].split("</main>", 1)[0]
    assert ConsentEvent.objects.count() == events
