"""The officers' groups made by requests_portal/migrations/0001_groups.py."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.urls import reverse

from retention.models import RetentionRule

pytestmark = pytest.mark.django_db

GROUPS = ("Compliance officer", "Data protection officer", "Auditor")

# What each group may do in consent (consent 0003): everyone reads the purposes, the policy, the
# ledger and the registers; officers keep the recipients' register, draft policy versions and
# record an event from a paper form or a call; the DPO also publishes a version, corrects a
# purpose and manages the API's clients. Nobody changes or deletes a ledger event or a disclosure.
CONSENT_VIEW = {
    f"consent.view_{m}" for m in (
        "purpose", "policyversion", "policyacceptance", "policynotice", "consentevent", "consentstate",
        "recipient", "disclosure", "apiclient", "erasurenotice",
    )
}
CONSENT_OFFICER_CHANGES = {
    "consent.add_policyversion", "consent.change_policyversion", "consent.add_consentevent",
    "consent.add_recipient", "consent.change_recipient",
    # Recording a recipient's confirmation that it erased what it received.
    "consent.change_erasurenotice",
}
CONSENT_DPO_ONLY = {
    "consent.publish_policyversion", "consent.change_purpose", "consent.add_apiclient", "consent.change_apiclient",
}


def _perms(name):
    group = Group.objects.get(name=name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def _app_perms(app_label, action):
    return {f"{app_label}.{action}_{m._meta.model_name}" for m in apps.get_app_config(app_label).get_models()}


def _member(group_name, username):
    user = User.objects.create_user(username, password="sandi-rahasia-123", is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return user


def test_the_three_groups_exist():
    assert set(Group.objects.filter(name__in=GROUPS).values_list("name", flat=True)) == set(GROUPS)


def test_compliance_officer_views_merchants_rules_and_schedules():
    perms = _perms("Compliance officer")
    assert _app_perms("merchants", "view") <= perms
    assert {"retention.view_retentionrule", "retention.view_historicalretentionrule"} <= perms
    assert _app_perms("django_celery_beat", "view") <= perms
    assert {"retention.view_purgewarning", "messaging.view_outboundmessage"} <= perms
    # beyond viewing: placing legal holds and recording churn or reactivation, by permissions
    # named for what they allow, which the services check (0003)
    changes = {p for p in perms if not p.split(".")[1].startswith("view_")}
    assert changes == {
        "retention.place_legalhold", "retention.record_churn",
        # the request workflow's steps, checked by its services (requests_portal 0005)
        "requests_portal.work_request", "requests_portal.enter_request", "requests_portal.execute_request",
    } | CONSENT_OFFICER_CHANGES, sorted(perms)
    assert _app_perms("requests_portal", "view") <= perms
    assert {p for p in perms if p.startswith("consent.view_")} == CONSENT_VIEW
    assert not any(p.startswith("auth.") for p in perms)


def test_data_protection_officer_also_corrects_rules_and_plans_tasks():
    officer = _perms("Compliance officer")
    dpo = _perms("Data protection officer")
    assert dpo - officer == {
        "retention.change_retentionrule",
        "retention.lift_legalhold",  # lifting a hold: the second pair of eyes
        "retention.retry_erasurerun",  # retrying a failed purge
        "django_celery_beat.add_periodictask",
        "django_celery_beat.change_periodictask",
        "requests_portal.approve_sensitive_request",  # the second person on deletions and restrictions
        "requests_portal.change_deadlinerule",  # correcting the deadline table
    } | CONSENT_DPO_ONLY
    assert officer <= dpo


def test_auditor_views_everything_governed_and_changes_nothing():
    perms = _perms("Auditor")
    # A model added to one of these apps after 0001_groups fails this test until a migration
    # of its own grants the Auditor (and whoever else needs it) its view permission.
    governed = {"merchants", "messaging", "retention", "django_celery_beat", "requests_portal"}
    for app_label in governed:
        missing = _app_perms(app_label, "view") - perms
        assert not missing, f"the Auditor cannot view {sorted(missing)}: grant it in a migration"
    # consent (0003): the registers, not the internals (idempotency answers, per-merchant deliveries)
    assert {p for p in perms if p.startswith("consent.")} == CONSENT_VIEW
    assert {p.split(".")[0] for p in perms} == governed | {"consent"}
    assert all(p.split(".")[1].startswith("view_") for p in perms), sorted(perms)


def test_auditor_can_view_but_not_change_a_retention_rule_in_the_admin(client):
    auditor = _member("Auditor", "auditor")
    client.force_login(auditor)
    rule = RetentionRule.objects.get(key="tax-records")

    assert client.get(reverse("admin:retention_retentionrule_changelist")).status_code == 200
    change = reverse("admin:retention_retentionrule_change", args=[rule.pk])
    view = client.get(change)
    assert view.status_code == 200
    assert view.context["has_change_permission"] is False

    response = client.post(
        change,
        {
            "title": rule.title,
            "legal_basis": "dihapus",
            "trigger": rule.trigger,
            "period": "1",
            "unit": rule.unit,
            "action": rule.action,
            "notes": "",
        },
    )
    assert response.status_code == 403
    rule.refresh_from_db()
    assert rule.period == 10
    assert rule.legal_basis != "dihapus"


def test_auditor_sees_the_governed_data_but_not_the_users(client):
    client.force_login(_member("Auditor", "auditor"))
    assert client.get(reverse("admin:merchants_merchant_changelist")).status_code == 200
    assert client.get(reverse("admin:django_celery_beat_periodictask_changelist")).status_code == 200
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403


def test_data_protection_officer_can_change_a_retention_rule(client):
    client.force_login(_member("Data protection officer", "dpo"))
    rule = RetentionRule.objects.get(key="merchant-churn")
    response = client.post(
        reverse("admin:retention_retentionrule_change", args=[rule.pk]),
        {
            "title": rule.title,
            "legal_basis": rule.legal_basis,
            "trigger": rule.trigger,
            "period": "45",
            "unit": rule.unit,
            "action": rule.action,
            "notes": rule.notes,
        },
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.period == 45


def test_compliance_officer_cannot_change_a_retention_rule(client):
    client.force_login(_member("Compliance officer", "officer"))
    rule = RetentionRule.objects.get(key="merchant-churn")
    change = reverse("admin:retention_retentionrule_change", args=[rule.pk])
    assert client.get(change).status_code == 200
    assert client.post(change, {"period": "1"}).status_code == 403


def test_compliance_officer_reads_the_governed_data_without_changing_it(client):
    from merchants.tests.factories import MerchantFactory, SaleFactory

    client.force_login(_member("Compliance officer", "officer"))
    merchant = MerchantFactory()
    sale = SaleFactory(merchant=merchant)
    change = reverse("admin:merchants_merchant_change", args=[merchant.pk])
    page = client.get(change)
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert client.get(reverse("admin:merchants_sale_change", args=[sale.pk])).status_code == 200
    assert client.get(reverse("admin:merchants_merchant_history", args=[merchant.pk])).status_code == 200
    assert client.post(change, {"business_name": "Diubah"}).status_code == 403
