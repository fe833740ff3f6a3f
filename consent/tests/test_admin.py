"""The consent admin as officers, the DPO and the auditor use it: each list opens for whoever may
read it, lists cost the same queries at 20 and 200 rows, publishing and the API's clients go
through the services, a token is shown once and a revoked one is refused."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from consent.models import (
    Action, ApiClient, Channel, ConsentEvent, ConsentState, Disclosure, PolicyNotice, PolicyVersion, Purpose,
    Recipient,
)
from consent.selectors import purpose_get
from consent.services import api_client_create, consent_record, disclosure_record, subject_ref
from consent.services.clients import callback_key, token_hash
from merchants.tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db

LISTS = ("purpose", "policyversion", "policynotice", "consentevent", "consentstate", "recipient", "disclosure",
         "apiclient")


def member_of(group, username):
    user = get_user_model().objects.create_user(username, password="x" * 12, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def officer():
    return member_of("Compliance officer", "petugas")


@pytest.fixture
def dpo():
    return member_of("Data protection officer", "dpo")


@pytest.fixture
def auditor():
    return member_of("Auditor", "auditor")


def url(model, view="changelist", *args):
    return reverse(f"admin:consent_{model}_{view}", args=args)


def token_accepted(token: str) -> bool:
    """What the API asks of a bearer token: an active client with its hash."""
    return ApiClient.objects.filter(token_hash=token_hash(token), revoked_at__isnull=True).exists()


@pytest.fixture
def recipient():
    r = Recipient.objects.create(
        name="Kurir Kilat", kind=Recipient.Kind.DELIVERY, country="ID", categories=["identity", "contact"],
        erasure_contact="privasi@kurirkilat.id",
    )
    r.purposes.add(purpose_get("transactions"), purpose_get("marketing"))
    return r


def ledger_rows(n, shop):
    for i in range(n):
        consent_record(
            subject=subject_ref(email=f"pelanggan{i}@contoh.co.id", phone=f"0812{i:08d}", merchant_id=shop.pk),
            purpose="marketing", action=Action.GIVEN, channel=Channel.TILL,
        )


def disclosure_rows(n, shop, recipient):
    for i in range(n):
        disclosure_record(
            recipient=recipient, purpose="marketing" if i % 2 else "transactions", categories=["contact"],
            subject=subject_ref(email=f"pelanggan{i}@contoh.co.id", merchant_id=shop.pk),
        )


# -- who opens what --------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["officer", "dpo", "auditor"])
def test_every_list_opens_for_the_officer_the_dpo_and_the_auditor(request, client, who, shop, recipient):
    ledger_rows(2, shop)
    disclosure_rows(2, shop, recipient)
    client.force_login(request.getfixturevalue(who))
    for model in LISTS:
        response = client.get(url(model))
        assert response.status_code == 200, model
        assert ' style="' not in response.content.decode(), model  # the CSP refuses inline styles
    event = ConsentEvent.objects.first()
    assert client.get(url("consentevent", "change", event.pk)).status_code == 200
    assert client.get(url("disclosure", "change", Disclosure.objects.first().pk)).status_code == 200
    assert client.get(url("recipient", "change", recipient.pk)).status_code == 200
    assert client.get(url("purpose", "change", purpose_get("marketing").pk)).status_code == 200


def test_the_auditor_cannot_publish_add_record_or_revoke(client, auditor, dpo):
    draft = PolicyVersion.objects.create(version="2027.1", text_id="Teks", text_en="Text", effective_at=timezone.now())
    made, token = api_client_create(name="Kasir", scopes=["consent:read"], all_merchants=True, actor=dpo)
    client.force_login(auditor)
    assert client.get(url("policyversion", "publish", draft.pk)).status_code == 403
    assert client.post(url("policyversion", "publish", draft.pk), {"confirmed": "yes"}).status_code == 403
    assert client.get(url("consentevent", "add")).status_code == 403
    assert client.get(url("apiclient", "add")).status_code == 403
    assert client.get(url("recipient", "add")).status_code == 403
    page = client.get(url("policyversion", "change", draft.pk))
    assert page.context["has_change_permission"] is False and not page.context["can_publish"]
    response = client.post(url("apiclient"), {"action": "revoke", "_selected_action": [made.pk], "confirmed": "yes"})
    assert response.status_code in (200, 302)
    assert token_accepted(token)
    draft.refresh_from_db()
    assert not draft.is_published


def test_the_ledger_is_never_changed_or_deleted_in_the_admin(client, dpo, shop):
    ledger_rows(1, shop)
    event = ConsentEvent.objects.get()
    client.force_login(dpo)
    page = client.get(url("consentevent", "change", event.pk))
    assert page.context["has_change_permission"] is False and page.context["has_delete_permission"] is False
    assert client.post(url("consentevent", "change", event.pk), {"action": "withdrawn"}).status_code == 403
    assert client.post(url("consentevent", "delete", event.pk), {"post": "yes"}).status_code == 403
    assert ConsentEvent.objects.get().action == Action.GIVEN


# -- query counts ------------------------------------------------------------------------------


# Session, user, permissions, the page's rows and its bounded count, filters' choices: never a query per row.
LIST_QUERIES = {"consentevent": 7, "disclosure": 8, "recipient": 8, "apiclient": 7, "consentstate": 7}


@pytest.mark.parametrize("model", ["consentevent", "disclosure", "recipient", "apiclient", "consentstate"])
def test_lists_cost_the_same_queries_at_20_and_200_rows(client, dpo, shop, recipient, model, django_assert_num_queries):
    def grow(n):
        if model in ("consentevent", "consentstate"):
            ledger_rows(n, shop)
        elif model == "disclosure":
            disclosure_rows(n, shop, recipient)
        elif model == "recipient":
            for i in range(n):
                r = Recipient.objects.create(
                    name=f"Penerima {model} {Recipient.objects.count()}", kind="storage", country="SG",
                    categories=["technical"], erasure_contact="dpo@contoh.sg",
                )
                r.purposes.add(purpose_get("service-improvement"))
                Disclosure.objects.create(
                    recipient=r, purpose=purpose_get("transactions"), categories=["contact"], basis="contract",
                    occurred_at=timezone.now(), outcome="allowed", merchant=shop,
                )
        else:
            merchants = [MerchantFactory() for _ in range(2)]
            for i in range(n):
                api_client_create(
                    name=f"Klien {ApiClient.objects.count()}", scopes=["consent:read"],
                    merchant_ids=[m.pk for m in merchants], actor=dpo,
                )

    client.force_login(dpo)
    path = url(model) + "?all="
    grow(19 if model == "recipient" else 20)  # the fixture's recipient is the twentieth
    with django_assert_num_queries(LIST_QUERIES[model]):
        assert client.get(path).status_code == 200
    grow(180)
    with django_assert_num_queries(LIST_QUERIES[model]):
        response = client.get(path)
    assert response.status_code == 200
    # 200 rows on the page (a full page of 100 where the list grew past the admin's show-all limit)
    assert len(response.context["cl"].result_list) >= 100


# -- searching the ledger: normalised identifiers, exactly ----------------------------------


def test_the_ledger_and_state_are_searched_by_the_normalised_identifier(client, officer, shop):
    ledger_rows(3, shop)
    client.force_login(officer)
    by_phone = client.get(url("consentevent"), {"q": "+62 812-0000-0001"})
    assert [e.phone for e in by_phone.context["cl"].result_list] == ["+6281200000001"]
    by_email = client.get(url("consentevent"), {"q": "  PELANGGAN2@Contoh.co.id "})
    assert [e.email for e in by_email.context["cl"].result_list] == ["pelanggan2@contoh.co.id"]
    assert list(client.get(url("consentevent"), {"q": "pelanggan"}).context["cl"].result_list) == []
    state = client.get(url("consentstate"), {"q": "081200000002"})
    assert [s.identifier for s in state.context["cl"].result_list] == ["+6281200000002"]


# -- entering an event from a paper form -------------------------------------------------------


def test_an_officer_records_a_withdrawal_from_a_paper_form_through_the_service(client, officer, shop):
    client.force_login(officer)
    assert client.get(url("consentevent", "add")).status_code == 200
    marketing = purpose_get("marketing")
    when = timezone.localtime() - timedelta(days=1)
    response = client.post(url("consentevent", "add"), {
        "email": "Ani@Contoh.co.id", "phone": "", "merchant": shop.pk, "purpose": marketing.pk,
        "action": Action.WITHDRAWN, "occurred_at_0": when.strftime("%Y-%m-%d"), "occurred_at_1": when.strftime("%H:%M:%S"),
        "policy_version": "", "text_shown": "Saya tidak ingin menerima promosi lagi.", "reference": "FORM-0042",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    event = ConsentEvent.objects.get()
    assert (event.email, event.channel, event.entered_by, event.reference) == (
        "ani@contoh.co.id", Channel.ADMIN, officer, "FORM-0042",
    )
    assert event.text_shown == "Saya tidak ingin menerima promosi lagi."
    assert ConsentState.objects.get(identifier="ani@contoh.co.id").consented is False


def test_the_entry_form_shows_the_services_refusal_and_records_nothing(client, officer):
    client.force_login(officer)
    when = timezone.localtime()
    response = client.post(url("consentevent", "add"), {
        "email": "ani@contoh.co.id", "purpose": purpose_get("transactions").pk, "action": Action.WITHDRAWN,
        "occurred_at_0": when.strftime("%Y-%m-%d"), "occurred_at_1": when.strftime("%H:%M:%S"),
        "text_shown": "x", "reference": "TEL-1",
    })
    assert response.status_code == 200
    assert "tidak dapat ditarik" in str(response.context["adminform"].form.errors)
    assert not ConsentEvent.objects.exists()


# -- purposes and recipients ---------------------------------------------------------------------


def test_the_dpo_corrects_a_purpose_with_history_and_the_cache_forgets(client, dpo):
    marketing = purpose_get("marketing")
    client.force_login(dpo)
    response = client.post(url("purpose", "change", marketing.pk), {
        "basis": marketing.basis, "name_id": "Promosi dan pemasaran", "name_en": marketing.name_en,
        "description_id": marketing.description_id, "description_en": marketing.description_en,
        "categories": ["contact", "marketing"], "marketing": "on",
    })
    assert response.status_code == 302
    assert purpose_get("marketing").name_id == "Promosi dan pemasaran"
    assert purpose_get("marketing").categories == ["contact", "marketing"]
    assert Purpose.history.filter(id=marketing.pk).count() >= 1
    assert client.get(url("purpose", "add")).status_code == 403


def test_a_recipient_is_validated_on_the_form_and_kept_with_history(client, officer):
    client.force_login(officer)
    form = {
        "name": "Awan Simpan Pte", "kind": "storage", "country": "sgp", "categories": ["technical", "rahasia"],
        "purposes": [purpose_get("service-improvement").pk], "erasure_contact": "dpo@awan.sg", "active": "on",
    }
    refused = client.post(url("recipient", "add"), form)
    errors = refused.context["adminform"].form.errors
    assert set(errors) == {"country", "categories"}
    created = client.post(url("recipient", "add"), {**form, "country": "sg", "categories": ["technical"]})
    assert created.status_code == 302
    recipient = Recipient.objects.get(name="Awan Simpan Pte")
    assert recipient.country == "SG" and recipient.abroad and recipient.history.count() >= 1
    listed = client.get(url("recipient"))
    assert "Awan Simpan Pte" in listed.content.decode()


def test_disclosures_show_the_refusal_reason_and_filter_by_it(client, auditor, shop, recipient):
    disclosure_rows(2, shop, recipient)  # marketing without consent: refused
    client.force_login(auditor)
    refused = client.get(url("disclosure"), {"refusal": "no_consent"})
    rows = refused.context["cl"].result_list
    assert len(rows) == 1 and rows[0].outcome == Disclosure.Outcome.REFUSED
    assert str(Disclosure.Refusal.NO_CONSENT.label) in refused.content.decode()
    found = client.get(url("disclosure"), {"q": "PELANGGAN0@contoh.co.id"})
    assert len(found.context["cl"].result_list) == 1


# -- policy versions -----------------------------------------------------------------------------


def test_the_dpo_publishes_a_draft_after_seeing_its_hash_and_the_merchants_told(
    client, dpo, django_capture_on_commit_callbacks
):
    MerchantFactory.create_batch(3)
    MerchantFactory(churned_at=timezone.now() - timedelta(days=3))
    draft = PolicyVersion.objects.create(
        version="2027.1", text_id="Kebijakan baru", text_en="New policy", summary_id="Tujuan 8 diperjelas.",
        effective_at=timezone.now() + timedelta(days=30),
    )
    client.force_login(dpo)
    page = client.get(url("policyversion", "change", draft.pk))
    assert page.context["can_publish"] and url("policyversion", "publish", draft.pk) in page.content.decode()
    confirm = client.get(url("policyversion", "publish", draft.pk))
    body = confirm.content.decode()
    from consent.models import content_hash
    assert content_hash("Kebijakan baru", "New policy") in body
    assert confirm.context["merchants"] == 3
    assert not PolicyVersion.objects.get(pk=draft.pk).is_published  # nothing yet

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(url("policyversion", "publish", draft.pk), {"confirmed": "yes"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.is_published and draft.published_by == dpo and draft.hash_matches()
    notice = PolicyNotice.objects.get(version=draft)
    assert notice.state == PolicyNotice.State.PENDING
    assert queued, "the notice's task is queued on commit"

    published = client.get(url("policyversion", "change", draft.pk))
    assert published.context["has_change_permission"] is False and not published.context["can_publish"]
    assert "consent-progress" in published.content.decode()
    edit = client.post(url("policyversion", "change", draft.pk), {"version": draft.version, "text_id": "diubah"})
    assert edit.status_code == 403
    assert client.get(url("policynotice", "change", notice.pk)).status_code == 200


def test_an_officer_drafts_but_cannot_publish(client, officer):
    client.force_login(officer)
    when = timezone.localtime() + timedelta(days=10)
    created = client.post(url("policyversion", "add"), {
        "version": "2027.2", "text_id": "Teks", "text_en": "Text", "summary_id": "", "summary_en": "",
        "effective_at_0": when.strftime("%Y-%m-%d"), "effective_at_1": when.strftime("%H:%M:%S"),
    })
    assert created.status_code == 302
    draft = PolicyVersion.objects.get(version="2027.2")
    assert not client.get(url("policyversion", "change", draft.pk)).context["can_publish"]
    assert client.post(url("policyversion", "publish", draft.pk), {"confirmed": "yes"}).status_code == 403
    assert not PolicyVersion.objects.get(pk=draft.pk).is_published


# -- API clients -------------------------------------------------------------------------------


def test_a_client_is_created_and_its_token_shown_once(client, dpo):
    shops = MerchantFactory.create_batch(2)
    client.force_login(dpo)
    assert client.get(url("apiclient", "add")).status_code == 200
    response = client.post(url("apiclient", "add"), {
        "name": "Kasir JUNOPOS", "scopes": ["consent:read", "consent:write"], "merchants": ",".join(str(s.pk) for s in shops),
        "callback_url": "", "rate_limit": "6000",
    })
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    [(made, token)] = response.context["tokens"]
    assert token in response.content.decode() and token_accepted(token)
    stored = ApiClient.objects.get(name="Kasir JUNOPOS")
    assert stored.token_hash == token_hash(token) and token not in str(stored.__dict__)
    assert sorted(stored.scopes) == ["consent:read", "consent:write"] and stored.merchants.count() == 2

    page = client.get(url("apiclient", "change", stored.pk)).content.decode()
    assert token not in page  # never again
    assert callback_key(stored) in page
    listed = client.get(url("apiclient")).content.decode()
    assert token not in listed and stored.token_prefix in listed and "2 merchant" in listed


def test_revoking_in_the_admin_makes_the_token_refused(client, dpo):
    made, token = api_client_create(name="Aplikasi", scopes=["consent:read"], all_merchants=True, actor=dpo)
    client.force_login(dpo)
    confirm = client.post(url("apiclient"), {"action": "revoke", "_selected_action": [made.pk]})
    assert confirm.status_code == 200 and "Aplikasi" in confirm.content.decode()
    assert token_accepted(token)  # nothing before confirmation
    done = client.post(url("apiclient"), {"action": "revoke", "_selected_action": [made.pk], "confirmed": "yes"})
    assert done.status_code == 302
    assert not token_accepted(token)
    made.refresh_from_db()
    assert made.revoked_by == dpo


def test_rotating_shows_the_new_token_once_and_the_old_one_is_refused(client, dpo):
    made, old = api_client_create(name="Back office", scopes=["policy:write"], all_merchants=True, actor=dpo)
    client.force_login(dpo)
    response = client.post(url("apiclient"), {"action": "rotate", "_selected_action": [made.pk], "confirmed": "yes"})
    assert response.status_code == 200
    [(_, new)] = response.context["tokens"]
    assert new != old and new in response.content.decode()
    assert token_accepted(new) and not token_accepted(old)


def test_the_officer_sees_clients_but_cannot_create_or_revoke(client, officer, dpo):
    made, token = api_client_create(name="Kasir", scopes=["consent:read"], all_merchants=True, actor=dpo)
    client.force_login(officer)
    assert client.get(url("apiclient")).status_code == 200
    assert client.get(url("apiclient", "add")).status_code == 403
    client.post(url("apiclient"), {"action": "revoke", "_selected_action": [made.pk], "confirmed": "yes"})
    assert token_accepted(token)
