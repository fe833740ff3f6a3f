"""The erasure engine, on PostgreSQL, driven by the data map."""

import pytest
from django.db import connection

from merchants.models import LoyaltyCustomer, Merchant, Outlet, Payment, Sale, SaleLine, StaffUser
from merchants.tests.factories import (
    LoyaltyCustomerFactory, MerchantFactory, OutletFactory, PaymentFactory, SaleFactory, SaleLineFactory,
    StaffUserFactory,
)
from retention import engine as engine_module
from retention.engine import ANONYMISED, DELETED, MASK, Erasure, Scope
from retention.pseudonyms import is_pseudonym
from retention.registry import DataMap, FieldErasure, RowErasure, datamap

from .conftest import build_shop, merchant_checksum

pytestmark = pytest.mark.django_db


def _snapshot(entry, merchant_id):
    """Every personal value of one table's rows for a merchant, by primary key."""
    columns = [entry.model._meta.get_field(n).attname for n in entry.personal]
    rows = entry.model._default_manager.filter(**{entry.merchant: merchant_id}).values_list("pk", *columns)
    return {row[0]: dict(zip(entry.personal, row[1:])) for row in rows}


def test_every_category_is_erased_or_kept_as_the_data_map_declares(shop, bystander):
    entries = [e for e in datamap if e.merchant]
    before = {e.label: _snapshot(e, shop.pk) for e in entries}
    empty = {label for label, rows in before.items() if not rows}
    assert empty == {"retention.LegalHold"}, "the shop must hold a row of every governed table"

    result = Erasure(Scope.merchant(shop.pk)).run()
    assert result.completed

    for entry in entries:
        after = _snapshot(entry, shop.pk)
        if entry.erasure == RowErasure.DELETE:
            assert after == {}, f"{entry.label} rows must be deleted"
            continue
        assert set(after) == set(before[entry.label]), f"{entry.label} rows must be kept"
        for pk, values in after.items():
            for name, spec in entry.personal.items():
                old, new = before[entry.label][pk][name], values[name]
                where = f"{entry.label}.{name}"
                if spec.erase == FieldErasure.RETAIN:
                    assert new == old, f"{where} is kept"
                elif spec.erase == FieldErasure.NULL:
                    assert new in (None, ""), f"{where} is emptied"
                elif spec.erase == FieldErasure.MASK:
                    assert new in (MASK, ""), f"{where} is masked"
                elif spec.erase == FieldErasure.HASH:
                    assert (old in ("", None) and new == old) or is_pseudonym(new), f"{where} is hashed"
                elif spec.erase == FieldErasure.HOOK:
                    assert new in ("", None) or is_pseudonym(new), f"{where} is hashed or emptied by {entry.erased_by}"
                else:
                    raise AssertionError(f"{where}: no expectation for {spec.erase.value}")


def test_purge_keeps_what_tax_law_keeps_anonymised(shop):
    totals = list(Sale.objects.filter(merchant=shop).order_by("pk").values_list("receipt_number", "total", "sold_at"))
    Erasure(Scope.merchant(shop.pk)).run()

    sales = Sale.objects.filter(merchant=shop)
    assert list(sales.order_by("pk").values_list("receipt_number", "total", "sold_at")) == totals
    assert not sales.filter(customer__isnull=False).exists()
    assert not sales.filter(cashier__isnull=False).exists()
    assert not sales.exclude(receipt_email=None).exists()
    assert SaleLine.objects.filter(merchant=shop).count() == 8
    payments = Payment.objects.filter(merchant=shop)
    assert payments.count() == 4
    assert set(payments.values_list("bank_name", "card_masked", "reference")) == {(None, None, None)}
    outlet = Outlet.objects.get(merchant=shop)
    assert (outlet.address, outlet.latitude, outlet.city) == ("", None, "Bekasi")

    tombstone = Merchant.objects.get(pk=shop.pk)
    assert is_pseudonym(tombstone.business_name) and is_pseudonym(tombstone.owner_email)
    assert tombstone.owner_name == MASK
    assert tombstone.subscription_started_at == shop.subscription_started_at
    assert not LoyaltyCustomer.objects.filter(merchant=shop).exists()
    assert not StaffUser.objects.filter(merchant=shop).exists()


def test_history_copies_are_scrubbed(shop):
    history = LoyaltyCustomer.history.model
    assert history.objects.filter(merchant_id=shop.pk).count() == 6  # created + changed, x3
    # a customer deleted long ago through the admin left only history behind
    gone = LoyaltyCustomerFactory(merchant=shop, email="lama@contoh.co.id")
    gone.delete()

    Erasure(Scope.merchant(shop.pk)).run()

    assert not history.objects.filter(merchant_id=shop.pk).exists()
    assert not StaffUser.history.model.objects.filter(merchant_id=shop.pk).exists()
    merchant_copies = Merchant.history.model.objects.filter(id=shop.pk)
    assert merchant_copies.exists()
    assert set(merchant_copies.values_list("owner_name", flat=True)) == {MASK}
    assert all(is_pseudonym(v) for v in merchant_copies.values_list("owner_email", flat=True))


def test_other_merchants_are_untouched(shop, bystander):
    before = merchant_checksum(bystander.pk)
    Erasure(Scope.merchant(shop.pk)).run()
    assert merchant_checksum(bystander.pk) == before


def test_dry_run_counts_what_the_run_does_and_changes_nothing(shop, bystander):
    before = merchant_checksum(shop.pk)
    planned = Erasure(Scope.merchant(shop.pk)).count()
    assert merchant_checksum(shop.pk) == before

    done = Erasure(Scope.merchant(shop.pk)).run().counts
    assert done == planned
    assert planned["merchants_loyaltycustomer"] == {DELETED: 3}
    assert planned["merchants_historicalloyaltycustomer"] == {DELETED: 6}
    assert planned["merchants_sale"] == {ANONYMISED: 4}
    assert planned["merchants_payment"] == {ANONYMISED: 4}
    assert "merchants_saleline" not in planned  # nothing personal left to remove in a line


def test_a_second_run_does_nothing(shop):
    Erasure(Scope.merchant(shop.pk)).run()
    after_first = merchant_checksum(shop.pk)
    second = Erasure(Scope.merchant(shop.pk)).run()
    assert second.completed and second.counts == {}
    assert merchant_checksum(shop.pk) == after_first
    assert Erasure(Scope.merchant(shop.pk)).count() == {}


def test_batches_of_two_and_a_failure_mid_chunk_roll_back_that_chunk_only(shop, monkeypatch):
    clean = build_shop()
    expected = Erasure(Scope.merchant(clean.pk)).count()

    real_delete = Erasure._delete
    calls = {"n": 0}

    def failing_delete(model, ids, **kw):
        if model is LoyaltyCustomer:
            calls["n"] += 1
            if calls["n"] == 2:  # the second chunk of customers, after its history went
                raise RuntimeError("database went away")
        return real_delete(model, ids, **kw)

    monkeypatch.setattr(Erasure, "_delete", staticmethod(failing_delete))
    committed = []
    with pytest.raises(RuntimeError):
        Erasure(Scope.merchant(shop.pk), batch_size=2, on_batch=lambda c, n: committed.append(c)).run()
    # the failing chunk's customers (and their history) are all still there
    remaining = LoyaltyCustomer.objects.filter(merchant=shop).count()
    deleted_in_commits = sum(c.get("merchants_loyaltycustomer", {}).get(DELETED, 0) for c in committed)
    assert deleted_in_commits == 2 and remaining == 1
    history = LoyaltyCustomer.history.model.objects.filter(merchant_id=shop.pk)
    assert set(history.values_list("id", flat=True)) == set(
        LoyaltyCustomer.objects.filter(merchant=shop).values_list("pk", flat=True)
    )

    monkeypatch.setattr(Erasure, "_delete", staticmethod(real_delete))
    resumed = Erasure(Scope.merchant(shop.pk), batch_size=2).run()
    assert resumed.completed
    assert Erasure(Scope.merchant(shop.pk)).count() == {}
    # finishing after a failure ends where a clean run ends: totals per table agree
    done = {t: a for c in committed for t, a in c.items()}
    for table, actions in expected.items():
        total = sum(c.get(table, {}).get(a, 0) for c in committed for a in actions) + sum(
            resumed.counts.get(table, {}).values()
        )
        assert total == sum(actions.values()), table
    assert done  # something was committed before the failure


def test_should_proceed_stops_at_the_next_batch(shop):
    batches = []

    def proceed():
        return "merchant aktif kembali" if len(batches) >= 2 else None

    result = Erasure(
        Scope.merchant(shop.pk), batch_size=1, should_proceed=proceed, on_batch=lambda c, n: batches.append(n)
    ).run()
    assert not result.completed
    assert result.stopped_reason == "merchant aktif kembali"
    assert result.total == 2  # two one-row batches, then stop
    assert Erasure(Scope.merchant(shop.pk)).count() != {}


def test_subject_erasure_across_merchants(siti, bystander):
    shops = siti["shops"]
    other_before = merchant_checksum(bystander.pk)
    budi = LoyaltyCustomer.objects.get(email="budi@contoh.co.id")
    planned = Erasure(Scope.subject(phone="+62 812-3456-7890", email="siti.rahayu@gmail.com")).count()

    result = Erasure(Scope.subject(phone="+62 812-3456-7890", email="siti.rahayu@gmail.com")).run()
    assert result.completed
    assert result.counts == planned

    assert not LoyaltyCustomer.objects.filter(name="Siti Rahayu").exists()
    assert not StaffUser.objects.filter(pk=siti["cashier"].pk).exists()
    assert not LoyaltyCustomer.history.model.objects.filter(name="Siti Rahayu").exists()
    assert Sale.objects.filter(merchant=shops[1]).count() == 4  # kept for tax ...
    assert not Sale.objects.filter(customer__name="Siti Rahayu").exists()  # ... without her
    assert not Sale.objects.filter(receipt_email__iexact="siti.rahayu@gmail.com").exists()
    assert Payment.objects.filter(merchant=shops[3], card_masked=None).count() == 1
    # Budi, at the same shop, keeps everything
    budi.refresh_from_db()
    assert Sale.objects.filter(customer=budi, receipt_phone_e164="+6281299999999").exists()
    assert Payment.objects.filter(sale__customer=budi).exclude(card_masked=None).exists()
    assert merchant_checksum(bystander.pk) == other_before


def test_subject_erasure_detaches_the_sales_a_cashier_rang_up(siti):
    shop = siti["shops"][0]
    rung = SaleFactory.create_batch(2, merchant=shop, cashier=siti["cashier"])
    result = Erasure(Scope.subject(phone="081234567890", merchant_id=shop.pk)).run()
    assert result.counts["merchants_sale"] == {ANONYMISED: 2}
    assert Sale.objects.filter(pk__in=[s.pk for s in rung], cashier=None).count() == 2
    # only within the merchant asked for
    assert LoyaltyCustomer.objects.filter(name="Siti Rahayu").count() == 2


def test_erasing_a_buyer_leaves_the_cashier_of_her_purchases(siti):
    """Her purchases lose her (customer link, receipt address), never the cashier who served her."""
    shop = siti["shops"][1]
    ani = StaffUserFactory(merchant=shop, name="Ani Kasir", email="ani@contoh.co.id")
    bought = list(Sale.objects.filter(customer=siti["customers"][1]).order_by("pk"))
    Sale.objects.filter(pk__in=[s.pk for s in bought]).update(cashier=ani)
    cashiers = [ani.pk] * 3
    Sale.objects.filter(pk=bought[0].pk).update(receipt_email="siti.rahayu@gmail.com")

    Erasure(Scope.subject(phone="081234567890", email="siti.rahayu@gmail.com", merchant_id=shop.pk)).run()

    after = list(Sale.objects.filter(pk__in=[s.pk for s in bought]).order_by("pk"))
    assert [s.customer_id for s in after] == [None] * 3
    assert after[0].receipt_email is None
    assert [s.cashier_id for s in after] == cashiers  # the cashier is another person, kept
    assert StaffUser.objects.filter(pk__in=cashiers).count() == len(set(cashiers))
    assert set(Payment.objects.filter(sale__in=bought).values_list("card_masked", flat=True)) == {None}


def test_erasing_a_cashier_leaves_the_buyers_of_the_sales_she_rang_up(siti):
    shop = siti["shops"][0]
    buyer = LoyaltyCustomerFactory(merchant=shop, email="pembeli@contoh.co.id")
    rung = SaleFactory.create_batch(2, merchant=shop, cashier=siti["cashier"], customer=buyer, receipt_email="pembeli@contoh.co.id")
    for sale in rung:
        PaymentFactory(sale=sale, card_masked="4111 **** **** 1111")

    planned = Erasure(Scope.subject(phone="081234567890", merchant_id=shop.pk)).count()
    done = Erasure(Scope.subject(phone="081234567890", merchant_id=shop.pk)).run()
    assert done.counts == planned

    for sale in Sale.objects.filter(pk__in=[s.pk for s in rung]):
        assert sale.cashier_id is None
        assert (sale.customer_id, sale.receipt_email) == (buyer.pk, "pembeli@contoh.co.id")
    assert set(Payment.objects.filter(sale__in=rung).values_list("card_masked", flat=True)) == {"4111 **** **** 1111"}


def test_a_purged_outlet_keeps_no_business_name_in_clear(db):
    shop = MerchantFactory(business_name="Warung Bu Drajat")
    outlet = OutletFactory(merchant=shop, name="Warung Bu Drajat Manahan", city="Surakarta")
    outlet.name = "Warung Bu Drajat Manahan Baru"
    outlet.save()  # an older name in the history too
    SaleFactory(merchant=shop, outlet=outlet)

    Erasure(Scope.merchant(shop.pk)).run()

    outlet.refresh_from_db()
    assert is_pseudonym(outlet.name) and outlet.city == "Surakarta"
    names = set(Outlet.history.model.objects.filter(id=outlet.pk).values_list("name", flat=True))
    assert names and all(is_pseudonym(n) for n in names)
    assert not Outlet.objects.filter(name__icontains="Drajat").exists()


def test_subject_erasure_reaches_history_of_an_old_address(db):
    person = LoyaltyCustomerFactory(email="lama@contoh.co.id")
    person.email = "baru@contoh.co.id"
    person.save()
    history = LoyaltyCustomer.history.model.objects
    assert history.filter(email="lama@contoh.co.id").count() == 1

    Erasure(Scope.subject(email="LAMA@contoh.co.id")).run()
    assert not history.filter(email="lama@contoh.co.id").exists()
    assert LoyaltyCustomer.objects.filter(pk=person.pk).exists()  # the live row says another address

    Erasure(Scope.subject(email="baru@contoh.co.id")).run()
    assert not LoyaltyCustomer.objects.filter(pk=person.pk).exists()
    assert not history.filter(id=person.pk).exists()


def test_excluded_merchants_are_left_alone(siti):
    held = siti["shops"][1]
    Erasure(Scope.subject(phone="081234567890", exclude_merchants=[held.pk])).run()
    assert LoyaltyCustomer.objects.filter(merchant=held, name="Siti Rahayu").exists()
    assert Sale.objects.filter(merchant=held, customer__name="Siti Rahayu").count() == 3
    assert not LoyaltyCustomer.objects.filter(merchant=siti["shops"][0], name="Siti Rahayu").exists()


def test_erasure_hooks_are_the_extension_point(shop, tmp_path):
    """What is not a governed table (produced files, the consent ledger) plugs in as a hook."""
    exports = tmp_path / "exports"
    exports.mkdir()
    for name in (f"merchant-{shop.pk}-a.zip", f"merchant-{shop.pk}-b.zip", "merchant-999999-a.zip"):
        (exports / name).write_text("PK")

    def delete_exports(*, scope, dry_run):
        files = sorted(exports.glob(f"merchant-{scope.merchant_id}-*.zip"))
        if not dry_run:
            for f in files:
                f.unlink()
        return {"exports (files)": {DELETED: len(files)}} if files else {}

    registry = DataMap(maps=dict(datamap.maps), exempt=dict(datamap.exempt))
    registry.erasure_hook("exports", delete_exports)

    planned = Erasure(Scope.merchant(shop.pk), registry=registry).count()
    assert planned["exports (files)"] == {DELETED: 2}
    assert len(list(exports.iterdir())) == 3
    done = Erasure(Scope.merchant(shop.pk), registry=registry).run()
    assert done.counts == planned
    assert [f.name for f in exports.iterdir()] == ["merchant-999999-a.zip"]


def test_expiry_deletes_kept_rows_past_their_period_only(shop):
    from datetime import timedelta

    from django.utils import timezone

    Erasure(Scope.merchant(shop.pk)).run()
    old = SaleFactory(merchant=shop, outlet=Outlet.objects.get(merchant=shop), sold_at=timezone.now() - timedelta(days=3700))
    SaleLineFactory.create_batch(3, sale=old)
    PaymentFactory(sale=old)
    cutoff = timezone.now() - timedelta(days=3653)

    planned = Erasure(Scope.expiry(merchant_id=shop.pk, rule_key="tax-records", before=cutoff)).count()
    assert planned == {
        "merchants_payment": {DELETED: 1}, "merchants_saleline": {DELETED: 3}, "merchants_sale": {DELETED: 1},
    }
    done = Erasure(Scope.expiry(merchant_id=shop.pk, rule_key="tax-records", before=cutoff)).run()
    assert done.counts == planned
    assert not Sale.objects.filter(pk=old.pk).exists()
    assert Sale.objects.filter(merchant=shop).count() == 4


def test_the_engine_never_uses_the_cascade_collector(shop, django_assert_max_num_queries):
    # A collector would query every related table per deleted object; the engine's query
    # count depends on batches and tables, not on rows.
    small = Erasure(Scope.merchant(shop.pk)).count()
    big = build_shop(customers=20, sales=40)
    with django_assert_max_num_queries(120):
        Erasure(Scope.merchant(big.pk)).run()
    assert small


def test_delete_sql_is_one_statement_per_batch(shop):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        Erasure(Scope.merchant(shop.pk)).run()
    deletes = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("DELETE")]
    assert deletes and all(" IN (" in sql for sql in deletes)
