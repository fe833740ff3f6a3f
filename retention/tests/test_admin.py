"""The retention rules in the admin: listed with their legal basis, corrected with history,
never added or deleted (the data map names them by key)."""

import pytest
from django.urls import reverse

from retention.models import RetentionRule

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:retention_retentionrule_changelist")


def _rule(**overrides):
    values = {
        "key": "test-rule",
        "title": "Aturan uji",
        "legal_basis": "UU PDP Pasal 43",
        "trigger": RetentionRule.Trigger.RECORD_AGE,
        "period": 5,
        "unit": RetentionRule.Unit.YEARS,
        "action": RetentionRule.Action.DELETE,
    }
    values.update(overrides)
    return RetentionRule.objects.create(**values)


def test_changelist_shows_key_title_basis_period_and_action(admin_client, django_assert_num_queries):
    for n in range(3):
        _rule(key=f"test-rule-{n}", title=f"Aturan uji {n}")
    rules = RetentionRule.objects.count()
    assert rules >= 6  # the seeded rules and ours
    # session, user, count, full count, rows: the same whatever the number of rules.
    with django_assert_num_queries(5):
        response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == rules
    html = response.content.decode()
    assert "tax-records" in html
    assert "UU KUP Pasal 28 ayat (11)" in html
    assert "10 tahun" in html
    assert "Aturan uji 2" in html


def test_change_form_and_history_load(admin_client):
    rule = RetentionRule.objects.get(key="tax-records")
    assert admin_client.get(reverse("admin:retention_retentionrule_change", args=[rule.pk])).status_code == 200
    assert admin_client.get(reverse("admin:retention_retentionrule_history", args=[rule.pk])).status_code == 200


def test_search_by_legal_basis(admin_client):
    # Each word is searched for on its own: "UU KUP" also finds the request records' "mencakup".
    response = admin_client.get(CHANGELIST, {"q": "UU KUP Pasal 28"})
    assert [r.key for r in response.context["cl"].result_list] == ["tax-records"]
    response = admin_client.get(CHANGELIST, {"q": "Bukti penanganan permintaan"})
    assert [r.key for r in response.context["cl"].result_list] == ["request-records"]


def test_correcting_a_rule_keeps_its_key_and_records_history(admin_client):
    rule = _rule()
    url = reverse("admin:retention_retentionrule_change", args=[rule.pk])
    response = admin_client.post(
        url,
        {
            "key": "renamed",  # read-only: ignored
            "title": "Aturan uji",
            "legal_basis": "UU PDP Pasal 43 (dikoreksi)",
            "trigger": "record_age",
            "period": "7",
            "unit": "years",
            "action": "delete",
            "notes": "",
        },
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.key == "test-rule"
    assert rule.period == 7
    assert rule.legal_basis == "UU PDP Pasal 43 (dikoreksi)"
    assert rule.history.count() == 2
    assert rule.history.first().history_user.username == "admin"


def test_rules_are_not_added_or_deleted_in_the_admin(admin_client):
    rule = _rule()
    assert admin_client.get(reverse("admin:retention_retentionrule_add")).status_code == 403
    delete = reverse("admin:retention_retentionrule_delete", args=[rule.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert RetentionRule.objects.filter(pk=rule.pk).exists()


def test_a_phone_corrected_in_the_admin_is_found_by_a_later_erasure(admin_client):
    """The correction goes through the service that normalises, so the erasure by the new number
    finds the person and the old number finds nobody."""
    from django.forms.models import model_to_dict
    from django.urls import reverse

    from merchants.models import LoyaltyCustomer
    from merchants.tests.factories import LoyaltyCustomerFactory
    from retention import services

    customer = LoyaltyCustomerFactory(phone="081200000001", email="")
    data = {k: ("" if v is None else v) for k, v in model_to_dict(customer).items() if k not in ("id", "phone_e164")}
    data.update(phone="0857-1122-3344")
    url = reverse("admin:merchants_loyaltycustomer_change", args=[customer.pk])
    assert admin_client.post(url, data).status_code == 302
    old = services.subject_erase(phone="081200000001")  # only the history copy holds the old number
    assert old.counts == {"merchants_historicalloyaltycustomer": {"deleted": 1}}
    assert LoyaltyCustomer.objects.filter(pk=customer.pk).exists()
    run = services.subject_erase(phone="+62 857 1122 3344")
    assert run.state == "completed" and run.rows_done == run.rows_total > 0
    assert not LoyaltyCustomer.objects.filter(pk=customer.pk).exists()
