"""Erasure notices: planned before a subject's erasure for the recipients of her allowed
disclosures (one each, once), sent through the outbox to each recipient's erasure contact,
confirmed by an officer, and still there (under keyed hashes only) after her erasure."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from consent.exceptions import ConsentError, NotPermitted
from consent.models import Disclosure, ErasureNotice
from consent.services import (
    disclosure_record, erasure_notice_acknowledge, erasure_notice_send, erasure_notices_plan, subject_ref,
)
from consent.tests.factories import RecipientFactory, record
from merchants.tests.factories import LoyaltyCustomerFactory
from messaging.models import OutboundMessage
from requests_portal.dossier import subject_dossier
from retention import services as retention
from retention.models import ErasureRun
from retention.pseudonyms import pseudonym

pytestmark = pytest.mark.django_db

EMAIL, PHONE, PHONE_E164 = "Rina.Wati@Contoh.co.id", "0812-3456-7890", "+6281234567890"
REFERENCE = "DSR-2026-000042"


def member_of(group, username):
    user = get_user_model().objects.create_user(username, password="x" * 12, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture(autouse=True)
def _phone_messages_in_tmp(settings, tmp_path):
    settings.PHONE_OUTBOX_DIR = tmp_path / "sms"


@pytest.fixture
def rina(shop):
    """A loyalty customer whose data went to three recipients (one by phone only, one already
    under her keyed hash), was refused to a fourth, and another person's went to a fifth."""
    LoyaltyCustomerFactory(merchant=shop, name="Rina Wati", email=EMAIL, phone=PHONE)
    record(email=EMAIL, phone=PHONE, merchant=shop, purpose="marketing", action="given")
    abroad = RecipientFactory(name="Mitra Singapura", purposes=["marketing"], country="SG")
    local = RecipientFactory(name="Mitra Bekasi", purposes=["marketing"])
    earlier = RecipientFactory(name="Mitra Lama", purposes=["marketing"])
    refused = RecipientFactory(name="Mitra Ditolak", purposes=["support"])
    bystanders = RecipientFactory(name="Mitra Lain", purposes=["marketing"])
    for recipient, subject in (
        (abroad, subject_ref(email=EMAIL, merchant_id=shop.pk)),
        (abroad, subject_ref(email=EMAIL, phone=PHONE, merchant_id=shop.pk)),
        (local, subject_ref(phone=PHONE, merchant_id=shop.pk)),
        (refused, subject_ref(email=EMAIL, merchant_id=shop.pk)),
    ):
        disclosure_record(recipient=recipient, purpose="marketing", categories=["contact", "identity"], subject=subject)
    record(email="orang.lain@contoh.co.id", merchant=shop, purpose="marketing", action="given")
    disclosure_record(
        recipient=bystanders, purpose="marketing", categories=["contact"],
        subject=subject_ref(email="orang.lain@contoh.co.id", merchant_id=shop.pk),
    )
    # A disclosure an earlier erasure (of her records at another shop) left under her keyed hash.
    Disclosure.objects.create(
        recipient=earlier, merchant=shop, email=pseudonym(EMAIL, kind="email"), categories=["marketing"],
        purpose_id=Disclosure.objects.first().purpose_id, basis="consent", occurred_at=timezone.now() - timedelta(days=40),
        outcome=Disclosure.Outcome.ALLOWED,
    )
    assert Disclosure.objects.get(recipient=refused).outcome == Disclosure.Outcome.REFUSED
    return {"abroad": abroad, "local": local, "earlier": earlier, "refused": refused, "bystanders": bystanders}


def plan(capture, **more):
    with capture(execute=True):
        return erasure_notices_plan(email=EMAIL, phone=PHONE, reference=REFERENCE, **more)


def test_planning_finds_the_recipients_of_her_allowed_disclosures_once_each(rina, django_capture_on_commit_callbacks):
    notices = plan(django_capture_on_commit_callbacks)

    assert [n.recipient.name for n in notices] == ["Mitra Bekasi", "Mitra Lama", "Mitra Singapura"]
    by_name = {n.recipient.name: n for n in notices}
    assert by_name["Mitra Singapura"].disclosures == 2 and by_name["Mitra Singapura"].language == "en"
    assert by_name["Mitra Bekasi"].language == "id"
    assert by_name["Mitra Singapura"].categories == ["identity", "contact"]  # in the policy's order
    for notice in notices:
        assert notice.reference == REFERENCE
        assert notice.email_hash == pseudonym(EMAIL, kind="email")
        assert notice.phone_hash == pseudonym(PHONE, kind="phone")

    # A second call (a retried execution) adds no notice and sends nothing more.
    mails = len(mail.outbox)
    again = plan(django_capture_on_commit_callbacks)
    assert [n.pk for n in again] == [n.pk for n in notices]
    assert ErasureNotice.objects.count() == 3
    assert OutboundMessage.objects.filter(kind="erasure_notice").count() == 3 and len(mail.outbox) == mails


def test_each_notice_sends_one_email_to_the_recipients_erasure_contact(rina, django_capture_on_commit_callbacks):
    notices = plan(django_capture_on_commit_callbacks)

    sent = {m.to[0]: m for m in mail.outbox}
    assert set(sent) == {n.recipient.erasure_contact for n in notices}
    for notice in notices:
        notice.refresh_from_db()
        message = sent[notice.recipient.erasure_contact]
        # The recipient must find her: the e-mail names her address, the reference and what was disclosed.
        assert REFERENCE in message.subject and REFERENCE in message.body
        assert EMAIL.lower() in message.body and PHONE_E164 in message.body
        assert notice.state == ErasureNotice.State.SENT and notice.sent_at is not None
        outbox = notice.message
        assert outbox.kind == "erasure_notice" and outbox.state == OutboundMessage.State.SENT
        assert outbox.language == notice.language
        # Once delivered, the outbox keeps the proof (to whom, when) but no longer her address.
        assert outbox.body == "" and EMAIL.lower() not in outbox.subject.lower()
    assert rina["refused"].erasure_contact not in sent and rina["bystanders"].erasure_contact not in sent

    # The task again, later: nothing changes, nothing is sent twice.
    assert erasure_notice_send(notice_id=notices[0].pk) == ErasureNotice.State.SENT
    assert len(mail.outbox) == 3


def test_a_recipient_without_a_usable_contact_fails_visibly(rina, django_capture_on_commit_callbacks):
    type(rina["local"]).objects.filter(pk=rina["local"].pk).update(erasure_contact="bukan-alamat")
    notices = plan(django_capture_on_commit_callbacks)
    failed = ErasureNotice.objects.get(recipient=rina["local"])
    assert failed.state == ErasureNotice.State.FAILED and failed.message is None and failed.error
    assert len(notices) == 3 and len(mail.outbox) == 2


def test_acknowledgement_needs_the_permission_and_records_who(rina, django_capture_on_commit_callbacks):
    notice = plan(django_capture_on_commit_callbacks)[0]
    auditor, officer = member_of("Auditor", "auditor"), member_of("Compliance officer", "petugas")

    for nobody in (None, auditor):
        with pytest.raises(NotPermitted):
            erasure_notice_acknowledge(notice_id=notice.pk, actor=nobody, note="dibalas")
    erasure_notice_acknowledge(notice_id=notice.pk, actor=officer, note="  Dibalas lewat e-mail 3 Des.  ")

    notice.refresh_from_db()
    assert notice.state == ErasureNotice.State.ACKNOWLEDGED and notice.acknowledged_by == officer
    assert notice.acknowledged_at is not None and notice.acknowledgement_note == "Dibalas lewat e-mail 3 Des."
    latest = notice.history.first()
    assert latest.state == "acknowledged" and latest.history_user == officer
    with pytest.raises(ConsentError):
        erasure_notice_acknowledge(notice_id=notice.pk, actor=officer)


def test_after_her_erasure_the_notices_remain_under_hashes_and_the_dossier_shows_them(
    rina, django_capture_on_commit_callbacks,
):
    notices = plan(django_capture_on_commit_callbacks)
    erasure_notice_acknowledge(
        notice_id=notices[0].pk, actor=member_of("Data protection officer", "dpo"), note="dikonfirmasi",
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = retention.subject_erase(email=EMAIL, phone=PHONE)
    assert run.state == ErasureRun.State.COMPLETED

    assert ErasureNotice.objects.count() == 3
    clear = (EMAIL.lower(), "rina.wati", PHONE_E164, "81234567890", "Rina Wati")
    rows = list(ErasureNotice.objects.values()) + list(ErasureNotice.history.values())
    rows += list(OutboundMessage.objects.filter(kind="erasure_notice").values())
    for value in clear:
        assert value.lower() not in str(rows).lower()

    dossier = subject_dossier(email=EMAIL, phone=PHONE)
    shown = {d.recipient: d.erasure_notified for d in dossier.disclosures}
    assert shown["Mitra Bekasi"].state == "acknowledged" and shown["Mitra Bekasi"].acknowledged_at is not None
    assert shown["Mitra Lama"].state == "sent" and shown["Mitra Lama"].sent_at is not None
    assert shown["Mitra Singapura"] and shown["Mitra Singapura"].reference == REFERENCE
    assert shown["Mitra Ditolak"] is None  # refused: nothing went there, no notice


# -- the admin --------------------------------------------------------------------------------


def _notices(n):
    recipients = [RecipientFactory() for _ in range(5)]
    ErasureNotice.objects.bulk_create(
        ErasureNotice(
            recipient=recipients[i % 5], reference=f"DSR-2026-{i:06d}", email_hash=pseudonym(f"s{i}@x.id", kind="email"),
            categories=["contact"], state=ErasureNotice.State.SENT if i % 2 else ErasureNotice.State.ACKNOWLEDGED,
            sent_at=timezone.now(), acknowledged_at=None if i % 2 else timezone.now(),
        )
        for i in range(n)
    )


def test_the_list_costs_the_same_queries_at_20_and_200_rows(client, django_assert_num_queries):
    client.force_login(member_of("Auditor", "auditor"))
    url = reverse("admin:consent_erasurenotice_changelist")
    _notices(20)
    with django_assert_num_queries(LIST_QUERIES):
        page = client.get(url)
    assert page.status_code == 200 and b"consent-notice-sent" in page.content and b"WIB" in page.content
    _notices(180)
    with django_assert_num_queries(LIST_QUERIES):
        assert client.get(url, {"state": "sent"}).status_code == 200


LIST_QUERIES = 8


def test_the_acknowledge_action_confirms_with_a_note(client, rina, django_capture_on_commit_callbacks):
    notice = plan(django_capture_on_commit_callbacks)[0]
    officer = member_of("Compliance officer", "petugas")
    client.force_login(officer)
    url = reverse("admin:consent_erasurenotice_changelist")
    assert b'value="acknowledge"' in client.get(url).content
    post = {"action": "acknowledge", "_selected_action": [notice.pk]}

    confirm = client.post(url, post)
    assert confirm.status_code == 200 and b'name="note"' in confirm.content
    notice.refresh_from_db()
    assert notice.state == ErasureNotice.State.SENT

    done = client.post(url, {**post, "confirmed": "yes", "note": "Balasan e-mail diterima"})
    assert done.status_code == 302
    notice.refresh_from_db()
    assert notice.state == ErasureNotice.State.ACKNOWLEDGED and notice.acknowledged_by == officer
    assert notice.acknowledgement_note == "Balasan e-mail diterima"

    # The auditor reads the list but has no action; no one edits a notice through a form.
    client.force_login(member_of("Auditor", "auditor"))
    page = client.get(url)
    assert page.status_code == 200 and b'value="acknowledge"' not in page.content
    assert client.post(reverse("admin:consent_erasurenotice_change", args=[notice.pk]), {}).status_code == 403
