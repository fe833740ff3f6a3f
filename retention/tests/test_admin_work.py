"""Holds, purge schedules and erasure runs in the admin: views, services, permissions, queries."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from merchants.models import LoyaltyCustomer
from merchants.tests.factories import MerchantFactory
from retention import services
from retention.models import ChurnEvent, ErasureRun, LegalHold, PurgeSchedule

from .conftest import build_shop, member_of, warned_schedule

pytestmark = pytest.mark.django_db


def _client_for(group):
    user = get_user_model().objects.create_user(group.split()[0].lower(), password="x" * 12, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def officer_client(db):
    return _client_for("Compliance officer")


@pytest.fixture
def dpo_client(db):
    return _client_for("Data protection officer")


def test_an_officer_places_a_hold_through_the_service(officer_client):
    shop = MerchantFactory()
    url = reverse("admin:retention_legalhold_add")
    assert officer_client.get(url).status_code == 200
    response = officer_client.post(url, {"merchant": shop.pk, "reason": "law_enforcement", "detail": "Surat Polri B/77/2026",
                                         "subject_email": "", "subject_phone": "0812 3456 7890", "ends_at_0": "", "ends_at_1": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    hold = LegalHold.objects.get()
    assert hold.placed_by == officer_client.user and hold.subject_phone == "+6281234567890"
    assert hold.history.count() == 1


def test_a_bad_hold_shows_the_reason_and_creates_nothing(officer_client):
    response = officer_client.post(reverse("admin:retention_legalhold_add"), {"reason": "fraud", "detail": "x",
                                   "subject_email": "", "subject_phone": "", "ends_at_0": "", "ends_at_1": ""})
    assert response.status_code == 200
    assert "Penahanan harus mencakup merchant atau subjek data" in response.content.decode()
    assert not LegalHold.objects.exists()


def test_only_the_dpo_lifts_a_hold_and_must_say_why(officer_client, dpo_client):
    placer = member_of("Compliance officer", "placer")
    hold = services.hold_place(actor=placer, subject_email="a@b.id", reason="dispute", detail="BANI")
    lift = reverse("admin:retention_legalhold_lift", args=[hold.pk])
    officer = officer_client
    assert officer.get(lift).status_code == 403
    dpo = dpo_client
    response = dpo.post(lift, {"reason": ""})
    assert response.status_code == 200 and not LegalHold.objects.get().lifted_at
    response = dpo.post(lift, {"reason": "Sengketa selesai di BANI"})
    assert response.status_code == 302
    hold.refresh_from_db()
    assert hold.lifted_by == dpo.user and hold.lift_reason == "Sengketa selesai di BANI"
    change = dpo.get(reverse("admin:retention_legalhold_change", args=[hold.pk])).content.decode()
    assert "Sengketa selesai di BANI" in change


def test_hold_list_has_a_fixed_number_of_queries(dpo_client, django_assert_num_queries):
    placer = member_of("Compliance officer", "placer")
    for _ in range(4):
        services.hold_place(actor=placer, merchant_id=MerchantFactory().pk, reason="fraud", detail="x")
    # session, user, 2 x permissions, 2 x count, rows, 2 x date drill-down: never per row
    with django_assert_num_queries(9):
        response = dpo_client.get(reverse("admin:retention_legalhold_changelist"))
    assert response.status_code == 200 and len(response.context["cl"].result_list) == 4


def test_churn_recorded_from_the_admin_and_overdue_shown_in_red(officer_client, django_assert_max_num_queries):
    shop = build_shop()
    response = officer_client.post(reverse("admin:retention_purgeschedule_churn"), {"merchant": shop.pk, "churned_at_0": "", "churned_at_1": ""})
    assert response.status_code == 302
    assert ChurnEvent.objects.get(merchant=shop).source == "admin"
    assert ChurnEvent.objects.get(merchant=shop).actor == officer_client.user
    late = build_shop(customers=1, sales=1)
    warned_schedule(late, churned_days_ago=40)  # due and warned, still waiting: red
    for _ in range(3):
        services.merchant_churn(merchant_id=MerchantFactory().pk, churned_at=timezone.now() - timedelta(days=40))
    # session, user, permissions, count, rows, warnings and their messages (prefetched): never per row
    with django_assert_max_num_queries(10):
        page = officer_client.get(reverse("admin:retention_purgeschedule_changelist"))
    html = page.content.decode()
    assert html.count("retention-overdue") == 1 and "Catat merchant berhenti" in html
    assert html.count("menunggu peringatan") == 4  # the one just churned, and three as late but never warned
    bad = officer_client.post(reverse("admin:retention_purgeschedule_churn"), {"merchant": 999999, "churned_at_0": "", "churned_at_1": ""})
    assert "tidak ditemukan" in bad.content.decode()


def test_dry_run_and_reactivate_actions(officer_client):
    shop = build_shop()
    schedule = services.merchant_churn(merchant_id=shop.pk)
    url = reverse("admin:retention_purgeschedule_changelist")
    response = officer_client.post(url, {"action": "dry_run", "_selected_action": [schedule.pk]}, follow=True)
    assert "baris akan dihapus atau dianonimkan" in response.content.decode()
    assert ErasureRun.objects.get(dry_run=True).counts["merchants_loyaltycustomer"] == {"deleted": 3}
    assert LoyaltyCustomer.objects.filter(merchant=shop).count() == 3

    confirm = officer_client.post(url, {"action": "reactivate", "_selected_action": [schedule.pk]})
    assert confirm.status_code == 200 and "Ya, lanjutkan" in confirm.content.decode()
    assert PurgeSchedule.objects.get().state == "scheduled"
    officer_client.post(url, {"action": "reactivate", "_selected_action": [schedule.pk], "confirmed": "yes"})
    assert PurgeSchedule.objects.get().state == "cancelled"


def test_runs_show_progress_and_failed_runs_are_retried_by_the_dpo(
    dpo_client, officer_client, monkeypatch, django_assert_num_queries, django_capture_on_commit_callbacks
):
    from retention.engine import Erasure

    shops = [build_shop(customers=1, sales=1) for _ in range(3)]
    schedules = [warned_schedule(s, churned_days_ago=31) for s in shops]
    services.merchant_purge(schedule_id=schedules[0].pk)
    services.merchant_purge_dry_run(merchant_id=shops[2].pk)
    monkeypatch.setattr(Erasure, "_anonymise", lambda *a, **k: (_ for _ in ()).throw(ValueError("disk penuh")))
    with pytest.raises(ValueError):
        services.merchant_purge(schedule_id=schedules[1].pk)
    monkeypatch.undo()

    url = reverse("admin:retention_erasurerun_changelist")
    # session, user, 2 x permissions, bounded count, rows: never per row
    with django_assert_num_queries(6):
        listing = dpo_client.get(url)
    assert "<progress" in listing.content.decode()
    failed = dpo_client.get(url, {"state": "failed"})
    (run,) = failed.context["cl"].result_list
    assert "disk penuh" in failed.content.decode()
    assert dpo_client.get(reverse("admin:retention_erasurerun_change", args=[run.pk])).status_code == 200

    # the officer sees the runs but cannot retry; the DPO can, after confirming
    officer_form = officer_client.get(url).context["action_form"]
    assert officer_form is None or "retry" not in [c[0] for c in officer_form.fields["action"].choices]
    officer_client.post(url, {"action": "retry", "_selected_action": [run.pk], "confirmed": "yes"})
    assert PurgeSchedule.objects.get(pk=schedules[1].pk).state == "failed"
    dpo_client.post(url, {"action": "retry", "_selected_action": [run.pk]})
    assert PurgeSchedule.objects.get(pk=schedules[1].pk).state == "failed"
    with django_capture_on_commit_callbacks(execute=True):  # the queued purge runs in process here
        dpo_client.post(url, {"action": "retry", "_selected_action": [run.pk], "confirmed": "yes"})
    assert PurgeSchedule.objects.get(pk=schedules[1].pk).state == "purged"
    assert ErasureRun.objects.get(retry_of=run).state == "completed"


def test_the_admin_speaks_english_under_en(admin_client):
    html = admin_client.get("/en/admin/retention/legalhold/").content.decode()
    assert "Legal hold" in html or "legal hold" in html
    assert "penahanan hukum" in admin_client.get("/admin/retention/legalhold/").content.decode().lower()


def test_the_services_check_the_permission_not_only_the_admin(db):
    """An officer who may place holds may not lift them, whatever door she uses; a clerk may do nothing."""
    from retention.exceptions import NotPermitted

    officer, dpo = member_of("Compliance officer", "ani"), member_of("Data protection officer", "dpo1")
    clerk = get_user_model().objects.create_user("clerk", password="x" * 12, is_staff=True)
    shop = MerchantFactory()
    with pytest.raises(NotPermitted):
        services.hold_place(actor=clerk, merchant_id=shop.pk, reason="fraud", detail="x")
    with pytest.raises(NotPermitted):
        services.hold_place(actor=None, merchant_id=shop.pk, reason="fraud", detail="x")  # nobody: refused
    hold = services.hold_place(actor=officer, merchant_id=shop.pk, reason="fraud", detail="x")
    with pytest.raises(NotPermitted, match="mencabut"):
        services.hold_lift(hold_id=hold.pk, actor=officer, reason="selesai")
    assert LegalHold.objects.get().lifted_at is None
    services.hold_lift(hold_id=hold.pk, actor=dpo, reason="selesai")
    with pytest.raises(NotPermitted):
        services.merchant_churn(merchant_id=shop.pk, actor=clerk, source="admin")
    assert not PurgeSchedule.objects.exists()
    services.merchant_churn(merchant_id=shop.pk, actor=officer, source="admin")
    failed = ErasureRun.objects.create(kind="merchant_purge", merchant=shop, merchant_ref=shop.pk, state="failed")
    with pytest.raises(NotPermitted):
        services.purge_retry(run_id=failed.pk, actor=officer)
    assert not ErasureRun.objects.filter(retry_of=failed).exists()


def test_each_warning_is_shown_on_its_schedule_with_its_delivery(officer_client, django_capture_on_commit_callbacks):
    shop = build_shop(customers=1, sales=1)
    schedule = services.merchant_churn(merchant_id=shop.pk, churned_at=timezone.now() - timedelta(days=20))
    with django_capture_on_commit_callbacks(execute=True):
        services.purge_warnings_send()
    page = officer_client.get(reverse("admin:retention_purgeschedule_change", args=[schedule.pk])).content.decode()
    assert "peringatan penghapusan" in page.lower() and shop.owner_email in page and "terkirim" in page
    listing = officer_client.get(reverse("admin:retention_purgeschedule_changelist")).content.decode()
    assert "H-14: terkirim" in listing
