"""The data map and its system check, both ways: the project passes, silence fails."""

import pytest
from django.core import checks
from django.core.management import call_command

from merchants.models import LoyaltyCustomer, Merchant, Sale, SaleLine
from retention.checks import check_registry
from retention.registry import Category, DataMap, FieldErasure, FindBy, Personal, RowErasure, datamap


def _customer_map(registry: DataMap, **overrides):
    personal = {
        "name": Personal(Category.IDENTITY),
        "gender": Personal(Category.IDENTITY),
        "birth_date": Personal(Category.IDENTITY),
        "phone": Personal(Category.CONTACT, find_by=FindBy.PHONE, normalised="phone_e164"),
        "phone_e164": Personal(Category.CONTACT),
        "email": Personal(Category.CONTACT, find_by=FindBy.EMAIL),
        "loyalty_card_number": Personal(Category.IDENTIFICATION),
        "points": Personal(Category.TRANSACTION),
        "accepts_marketing": Personal(Category.MARKETING),
    }
    not_personal = ["id", "merchant", "created_at"]
    personal.update(overrides.pop("personal", {}))
    for name in overrides.pop("drop", ()):
        personal.pop(name, None)
        if name in not_personal:
            not_personal.remove(name)
    registry.register(LoyaltyCustomer, personal=personal, not_personal=not_personal, **overrides)
    return registry


def _ids(errors):
    return sorted(e.id for e in errors)


def test_project_data_map_passes_the_check():
    assert check_registry(datamap) == []
    # and Django's own check framework runs it
    call_command("check", "--fail-level", "ERROR")


def test_every_app_with_personal_data_declares_every_model():
    labels = {e.label for e in datamap}
    assert {
        "merchants.Merchant", "merchants.Outlet", "merchants.StaffUser", "merchants.BankAccount",
        "merchants.LoyaltyCustomer", "merchants.Sale", "merchants.SaleLine", "merchants.Payment",
        "merchants.DeviceSession",
    } <= labels


def test_an_undeclared_field_fails_the_check():
    registry = _customer_map(DataMap(), drop=["email"])
    errors = check_registry(registry, app_configs=[])  # only the field check, not the missing-model check
    assert _ids(errors) == ["retention.E002"]
    assert "merchants.LoyaltyCustomer.email" in errors[0].msg
    assert isinstance(errors[0], checks.Error)


def test_a_declared_field_that_does_not_exist_fails_the_check():
    registry = _customer_map(DataMap(), personal={"nickname": Personal(Category.IDENTITY)})
    assert _ids(check_registry(registry, app_configs=[])) == ["retention.E003"]


def test_a_model_of_a_governed_app_missing_from_the_map_fails_the_check():
    registry = _customer_map(DataMap())
    errors = check_registry(registry)
    missing = {e.obj for e in errors if e.id == "retention.E001"}
    assert Merchant in missing and Sale in missing
    assert LoyaltyCustomer not in missing


def test_the_real_check_framework_refuses_a_silent_field(monkeypatch):
    entry = datamap.get(Sale)
    trimmed = dict(entry.personal)
    trimmed.pop("receipt_email")
    monkeypatch.setattr(entry, "personal", trimmed)
    with pytest.raises(Exception) as excinfo:
        call_command("check", "--fail-level", "ERROR")
    assert "merchants.Sale.receipt_email is neither declared personal nor declared not personal" in str(excinfo.value)


@pytest.mark.parametrize(
    "overrides, code",
    [
        # rows deleted whole cannot also say what happens to one field
        ({"personal": {"name": Personal(Category.IDENTITY, erase=FieldErasure.MASK)}}, "retention.E005"),
        # kept rows must say null, mask, hash or retain for each field, and under which rule
        ({"erasure": RowErasure.ANONYMISE, "retained_under": "tax-records"}, "retention.E005"),
        ({"erasure": RowErasure.ANONYMISE}, "retention.E006"),
        ({"subject_via": ("name",)}, "retention.E009"),
        ({"merchant": "shop__id"}, "retention.E010"),
    ],
)
def test_declarations_that_do_not_fit_the_field_fail(overrides, code):
    registry = _customer_map(DataMap(), **overrides)
    assert code in _ids(check_registry(registry, app_configs=[]))


def test_erasure_must_fit_the_column():
    registry = DataMap()
    registry.register(
        SaleLine,
        erasure=RowErasure.ANONYMISE,
        retained_under="tax-records",
        personal={
            "product_name": Personal(Category.TRANSACTION, erase=FieldErasure.RETAIN),
            "sku": Personal(Category.TRANSACTION, erase=FieldErasure.HASH),  # 64 is enough
            "quantity": Personal(Category.TRANSACTION, erase=FieldErasure.NULL),  # not nullable
            "unit_price": Personal(Category.TRANSACTION, erase=FieldErasure.MASK),  # not text
            "line_total": Personal(Category.TRANSACTION, erase=FieldErasure.RETAIN),
        },
        not_personal=("id", "merchant", "sale"),
    )
    assert _ids(check_registry(registry, app_configs=[])) == ["retention.E007", "retention.E008"]


def test_declaring_a_model_twice_is_refused():
    registry = _customer_map(DataMap())
    with pytest.raises(ValueError):
        _customer_map(registry)


def test_dependency_order_puts_parents_first():
    order = [e.label for e in datamap.in_dependency_order()]
    assert order.index("merchants.Merchant") < order.index("merchants.Sale")
    assert order.index("merchants.LoyaltyCustomer") < order.index("merchants.Sale")
    assert order.index("merchants.Sale") < order.index("merchants.Payment")
    assert order.index("merchants.StaffUser") < order.index("merchants.DeviceSession")


def test_history_tables_are_known_to_the_map():
    assert datamap.get(Merchant).history_model._meta.db_table == "merchants_historicalmerchant"
    assert datamap.get(Sale).history_model is None


def test_a_field_of_a_person_the_row_cannot_be_tied_to_fails_the_check():
    registry = _customer_map(DataMap(), personal={"name": Personal(Category.IDENTITY, party="cashier")})
    assert "retention.E011" in _ids(check_registry(registry, app_configs=[]))


def test_a_row_deleted_whole_may_concern_one_person_only():
    registry = _customer_map(
        DataMap(), personal={"email": Personal(Category.CONTACT, find_by=FindBy.EMAIL, party="referrer")}
    )
    assert "retention.E012" in _ids(check_registry(registry, app_configs=[]))


def test_every_model_of_every_project_app_must_be_declared():
    """A model with an e-mail and a phone added to requests_portal, which declares nothing yet."""
    from django.apps import apps
    from django.db import models
    from django.test.utils import isolate_apps

    from retention.checks import project_app_configs

    assert {c.label for c in project_app_configs()} >= {"merchants", "retention", "consent", "requests_portal"}
    assert "django_celery_beat" not in {c.label for c in project_app_configs()}
    with isolate_apps("requests_portal") as isolated:
        class Requester(models.Model):
            email = models.EmailField()
            phone = models.CharField(max_length=20)

            class Meta:
                app_label = "requests_portal"

        errors = check_registry(datamap, app_configs=[isolated.get_app_config("requests_portal")])
    assert [e.id for e in errors] == ["retention.E001"]
    assert "requests_portal.Requester is not in the data map" in errors[0].msg
    assert "requests_portal/datamap.py" in errors[0].msg
    assert apps.get_app_config("requests_portal")  # the real registry is untouched


def test_what_a_row_carries_must_be_a_declared_table_and_the_row_must_have_a_period():
    registry = DataMap(maps=dict(datamap.maps), exempt=dict(datamap.exempt))
    registry.maps.pop("messaging.OutboundMessage")
    errors = [e for e in check_registry(registry, app_configs=[]) if e.id == "retention.E014"]
    assert [e.msg for e in errors] == [
        "requests_portal.RequestMessage.carries names message, not a foreign key to a model in the data map."
    ]
    registry = _customer_map(DataMap(), carries=("merchant",))  # and no rule, no date of its own
    assert _ids(check_registry(registry, app_configs=[])).count("retention.E014") == 2


def test_a_reference_from_an_undeclared_model_into_rows_the_engine_deletes_fails_the_check():
    """PurgeWarning (exempt) may point at messages only because the engine never deletes them."""
    from django.apps import apps

    from messaging.models import OutboundMessage
    from retention.checks import project_app_configs

    registry = DataMap(maps=dict(datamap.maps), exempt=dict(datamap.exempt))
    assert "retention.E013" not in _ids(check_registry(registry))
    entry = registry.maps[OutboundMessage._meta.label]
    entry.dated_by = "created_at"  # were messages to expire on their own...
    try:
        errors = [e for e in check_registry(registry, app_configs=project_app_configs(apps)) if e.id == "retention.E013"]
    finally:
        entry.dated_by = None
    assert errors and "retention.PurgeWarning.message" in errors[0].msg
