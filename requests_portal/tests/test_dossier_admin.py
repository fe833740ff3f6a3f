"""The regulator's view in the admin (requests_portal/admin/dossier.py): the page for a live
subject and a purged merchant, its CSV of the steps, who may look, and the log of each look-up."""

import csv
import io

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from consent.models import ErasureNotice
from requests_portal.admin.dossier import _notice_state
from requests_portal.dossier import ErasureNotified

from requests_portal.admin.dossier import CSV_COLUMNS, LOOKUP
from requests_portal.dossier import merchant_dossier, subject_dossier
from retention import services as retention
from retention.pseudonyms import pseudonym
from retention.tests.conftest import build_shop, warned_schedule

from .conftest import submit, verify
from .test_dossier import EMAIL, PHONE, PHONE_E164, _phone_messages_in_tmp, dewi  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

PAGE = "admin:requests_portal_dossier"
# The page's queries beyond the dossier's own (bounded by the data map, test_dossier.py): the
# session, the user, the permissions (the user's and the groups'), the log entry.
ADMIN_QUERIES = 5
CSV_URL = "admin:requests_portal_dossier_csv"


@pytest.fixture(autouse=True)
def _no_second_factor(settings):
    settings.ADMIN_REQUIRE_OTP = False


def _selector_queries(selector, **arguments) -> int:
    with CaptureQueriesContext(connection) as captured:
        selector(**arguments)
    return len(captured.captured_queries)


def _rows(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_form_and_the_link_in_the_app_list(client, officer):
    client.force_login(officer)
    page = client.get(reverse(PAGE))
    assert page.status_code == 200
    assert "Dosir regulator" in page.content.decode() and 'name="tax_number"' in page.content.decode()
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse(PAGE) in index


def test_a_live_subject(client, officer, dewi, django_assert_max_num_queries):  # noqa: F811
    client.force_login(officer)
    with django_assert_max_num_queries(_selector_queries(subject_dossier, email=EMAIL, phone=PHONE) + ADMIN_QUERIES):
        page = client.post(reverse(PAGE), {"email": EMAIL.upper(), "phone": PHONE})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Dosir subjek data" in html
    assert dewi["request"].reference in html and "WIB" in html
    assert "identitas terverifikasi" in html  # the step, by its label
    assert "utuh" in html and dewi["partner"].name in html and "tidak ada pemberitahuan penghapusan yang tercatat" in html
    assert "Pelanggan loyalitas" in html or "pelanggan" in html.lower()
    assert pseudonym(EMAIL, kind="email") in html
    assert 'href="/static/admin/dossier.css"' in html and "style=" not in html.split("<body", 1)[1]


def test_the_same_subject_erased_the_csv_parses_and_names_her_nowhere(client, auditor, dewi):  # noqa: F811
    run = retention.subject_erase(email=EMAIL, phone=PHONE)
    client.force_login(auditor)  # read-only, and may look
    html = client.post(reverse(PAGE), {"email": EMAIL, "phone": PHONE}).content.decode()
    assert dewi["request"].reference in html and f"#{run.pk}" in html and "tax-records" in html
    assert "tidak ada pemberitahuan penghapusan yang tercatat" in html  # her disclosure was refused: none owed

    response = client.post(reverse(CSV_URL), {"email": EMAIL, "phone": PHONE})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "dewi" not in response["Content-Disposition"].lower()
    raw = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(raw)))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    events = [r for r in rows if r["record"] == "request_event"]
    assert [int(r["seq"]) for r in events] == list(range(1, dewi["request"].event_count + 1))
    assert all(r["reference"] == dewi["request"].reference and r["at"].endswith("+07:00") for r in events)
    assert events[0]["verb"] == "submitted" and events[-1]["to_state"] == "verified"
    [run_row] = [r for r in rows if r["record"] == "erasure_run"]
    assert run_row["reference"] == f"RUN-{run.pk}" and run_row["to_state"] == "completed"
    counts = {(r["table"], r["action"]): r for r in rows if r["record"] == "erasure_count"}
    assert counts[("merchants_loyaltycustomer", "deleted")]["rows"] == "1"
    assert counts[("merchants_sale", "anonymised")]["rule"] == "tax-records"
    for value in (EMAIL, "dewi.lestari", PHONE, PHONE_E164, "81377778888", "Dewi Lestari"):
        assert value.lower() not in raw.lower()


def test_a_purged_merchant_by_its_tax_number(client, dpo, django_assert_max_num_queries):
    shop = build_shop()
    tax_number, owner_email = shop.tax_number, shop.owner_email
    owner_request = verify(submit(right="access", requester_name=shop.owner_name, email=owner_email,
                                  subject_role="owner", merchant_id=shop.pk))
    purge = retention.merchant_purge(schedule_id=warned_schedule(shop).pk)

    client.force_login(dpo)
    with django_assert_max_num_queries(_selector_queries(merchant_dossier, tax_number=tax_number) + ADMIN_QUERIES):
        page = client.post(reverse(PAGE), {"tax_number": tax_number})
    html = page.content.decode()
    assert page.status_code == 200
    assert f"Dosir merchant {shop.pk}" in html and "nisan" in html
    assert "merchant-churn" in html and "merchant-tombstone" in html and "tax-records" in html
    assert f"#{purge.pk}" in html and owner_request.reference in html
    assert tax_number not in html.split("dossier-head", 1)[1] and owner_email not in html

    rows = _rows(client.post(reverse(CSV_URL), {"merchant": shop.pk}))
    assert {r["reference"] for r in rows if r["record"] == "request_event"} == {owner_request.reference}
    assert any(r["record"] == "erasure_run" and r["verb"] == "merchant_purge" and r["rule"] == "merchant-churn"
               for r in rows)

    entries = list(LogEntry.objects.filter(action_flag=LOOKUP).order_by("pk"))
    assert [e.change_message for e in entries] == ["dossier page", "dossier csv"]
    assert entries[0].object_repr == f"dossier:merchant {shop.pk} tax_number={pseudonym(tax_number, kind='text')}"
    assert all(tax_number not in e.object_repr for e in entries)


def test_each_look_up_is_logged_by_keyed_hash(client, officer, dewi):  # noqa: F811
    client.force_login(officer)
    client.post(reverse(PAGE), {"email": EMAIL, "phone": PHONE})
    [entry] = LogEntry.objects.filter(action_flag=LOOKUP)
    assert entry.user == officer and entry.change_message == "dossier page"
    assert pseudonym(EMAIL, kind="email") in entry.object_repr and pseudonym(PHONE, kind="phone") in entry.object_repr
    for value in (EMAIL, "dewi", PHONE, PHONE_E164, "81377778888"):
        assert value not in entry.object_repr and value not in entry.change_message


def test_without_the_permission_403(client):
    staff = User.objects.create_user("staff-only", "s@junopos.test", "pw", is_staff=True)
    client.force_login(staff)
    assert client.get(reverse(PAGE)).status_code == 403
    assert client.post(reverse(PAGE), {"email": EMAIL}).status_code == 403
    assert client.post(reverse(CSV_URL), {"email": EMAIL}).status_code == 403
    assert reverse(PAGE) not in client.get(reverse("admin:index")).content.decode()
    assert not LogEntry.objects.filter(action_flag=LOOKUP).exists()


@pytest.mark.parametrize("data, message", [
    ({}, "salah satu, bukan keduanya"),
    ({"email": "a@b.id", "merchant": "3"}, "salah satu, bukan keduanya"),
    ({"merchant": "3", "tax_number": "01.111.111.1-111.000"}, "bukan keduanya"),
    ({"email": "bukan-email"}, "tidak valid"),
    ({"phone": "abc"}, "tidak valid"),
    ({"merchant": "x"}, "bilangan"),
    ({"tax_number": "00.000.000.0-000.000"}, "Tidak ada merchant dengan NPWP ini"),
])
def test_bad_input_is_told_and_logs_nothing(client, officer, data, message):
    client.force_login(officer)
    page = client.post(reverse(PAGE), data)
    assert page.status_code == 200 and message in page.content.decode()
    assert "dossier-head" not in page.content.decode()
    assert client.post(reverse(CSV_URL), data).status_code == 400
    assert not LogEntry.objects.filter(action_flag=LOOKUP).exists()


def test_in_english(client, officer):
    client.force_login(officer)
    page = client.post("/en" + reverse(PAGE), {})
    assert page.status_code == 200


def test_the_csv_is_a_post(client, officer):
    client.force_login(officer)
    assert client.get(reverse(CSV_URL), {"email": EMAIL}).status_code == 405


def test_the_erasure_notice_as_the_dossier_gives_it():
    sent = timezone.now()
    notice = ErasureNotified("EN-7", ErasureNotice.State.SENT, sent, sent, None)
    text = _notice_state(notice)
    assert str(ErasureNotice.State.SENT.label) in text and "EN-7" in text and "WIB" in text
    acknowledged = _notice_state(ErasureNotified("EN-7", ErasureNotice.State.ACKNOWLEDGED, sent, sent, sent))
    assert str(ErasureNotice.State.ACKNOWLEDGED.label) in acknowledged and "dikonfirmasi" in acknowledged
