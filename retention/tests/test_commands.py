import csv
import io

import pytest
from django.core.management import call_command

from retention.registry import datamap

pytestmark = pytest.mark.django_db


def _run(*args):
    out = io.StringIO()
    call_command("datamap", *args, stdout=out)
    return out.getvalue()


def test_datamap_csv_lists_every_personal_field_with_its_legal_basis():
    rows = list(csv.DictReader(io.StringIO(_run("--format", "csv"))))
    expected = {(e.db_table, name) for e in datamap for name in e.personal}
    assert {(r["table"], r["field"]) for r in rows} == expected

    by_key = {(r["table"], r["field"]): r for r in rows}
    receipt_email = by_key[("merchants_sale", "receipt_email")]
    assert receipt_email["category"] == "contact"
    assert receipt_email["lookup"] == "email"
    assert receipt_email["erasure"] == "null"
    assert receipt_email["retention_rule"] == "tax-records"
    assert "UU KUP" in receipt_email["legal_basis"]
    assert receipt_email["period"] == "10 tahun"

    phone = by_key[("merchants_loyaltycustomer", "phone")]
    assert phone["lookup"] == "phone (phone_e164)"
    assert phone["erasure"] == "delete_row"
    assert phone["legal_basis"] == ""
    assert by_key[("merchants_loyaltycustomer", "name")]["history_table"] == "merchants_historicalloyaltycustomer"


def test_datamap_table_is_readable_and_follows_rule_edits():
    from retention.models import RetentionRule

    RetentionRule.objects.filter(key="tax-records").update(legal_basis="UU KUP Pasal 28 (dikoreksi)")
    text = _run()
    header = text.splitlines()[0].split()
    assert header == ["table", "field", "category", "lookup", "erasure", "retention_rule", "legal_basis", "period"]
    assert "merchants_payment" in text and "card_masked" in text
    assert "UU KUP Pasal 28 (dikoreksi)" in text
    # a table declared with no personal field (a request's link to its message) has no row
    assert f"personal fields in {len([e for e in datamap if e.personal])} tables" in text


def test_churn_dry_run_purge_and_reactivate_from_the_shell(capsys):
    from datetime import timedelta

    from django.core.management.base import CommandError
    from django.utils import timezone

    from merchants.models import LoyaltyCustomer
    from retention.models import ChurnEvent, ErasureRun, PurgeSchedule

    from .conftest import build_shop, deliver_warnings, merchant_checksum

    shop, early = build_shop(), build_shop()
    at = (timezone.localtime() - timedelta(days=31)).strftime("%Y-%m-%dT%H:%M")
    assert "purge due" in _run_cmd("merchant_churn", str(shop.pk), "--at", at)
    assert ChurnEvent.objects.get(merchant=shop).source == "command"
    # reported late, so not yet warned: not purged, and the shell says why
    with pytest.raises(CommandError, match="Peringatan 14 dan 3 hari"):
        _run_cmd("purge_churned", "--merchant", str(shop.pk))
    deliver_warnings(PurgeSchedule.objects.get(merchant=shop))
    _run_cmd("merchant_churn", str(early.pk))

    before = merchant_checksum(shop.pk)
    text = _run_cmd("purge_churned", "--dry-run")
    assert "dry run (nothing changed)" in text and "merchants_loyaltycustomer" in text
    assert f"merchant {early.pk}" not in text  # not due yet
    assert merchant_checksum(shop.pk) == before

    text = _run_cmd("purge_churned", "--merchant", str(shop.pk), "--batch-size", "2")
    assert "completed" in text
    assert not LoyaltyCustomer.objects.filter(merchant=shop).exists()
    assert ErasureRun.objects.filter(merchant_ref=shop.pk, dry_run=False, state="completed").count() == 1
    assert "row" in capsys.readouterr().err  # the progress bar

    with pytest.raises(CommandError, match="already purged"):
        _run_cmd("purge_churned", "--merchant", str(shop.pk))
    with pytest.raises(CommandError, match="Belum jatuh tempo"):
        _run_cmd("purge_churned", "--merchant", str(early.pk))
    with pytest.raises(CommandError, match="tidak dapat dipulihkan"):
        _run_cmd("merchant_reactivate", str(shop.pk))
    assert "active again" in _run_cmd("merchant_reactivate", str(early.pk))
    assert PurgeSchedule.objects.get(merchant=early).state == "cancelled"
    with pytest.raises(CommandError, match="Not a date"):
        _run_cmd("merchant_churn", str(early.pk), "--at", "kemarin")


def _run_cmd(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_a_dry_run_sees_churn_the_run_would_notice():
    """Churn set in JUNOPOS's tables, not yet noticed: the dry run says what the run will do."""
    from datetime import timedelta

    from django.utils import timezone

    from merchants.models import Merchant
    from retention.models import PurgeSchedule

    from .conftest import build_shop, merchant_checksum

    shop = build_shop()
    Merchant.objects.filter(pk=shop.pk).update(churned_at=timezone.now() - timedelta(days=90))
    before = merchant_checksum(shop.pk)
    text = _run_cmd("purge_churned", "--dry-run", "--merchant", str(shop.pk))
    assert "not yet noticed" in text and "dry run (nothing changed)" in text and "merchants_loyaltycustomer" in text
    assert "has not churned" not in text
    assert "not yet noticed" in _run_cmd("purge_churned", "--dry-run")
    assert not PurgeSchedule.objects.exists() and merchant_checksum(shop.pk) == before
    # the run notices it, schedules it and sends the first warning; it purges nothing yet
    from django.core.management.base import CommandError

    from retention.models import PurgeWarning

    with pytest.raises(CommandError, match="Peringatan 14 dan 3 hari"):
        _run_cmd("purge_churned", "--merchant", str(shop.pk))
    assert PurgeSchedule.objects.get(merchant=shop).state == "scheduled"
    assert list(PurgeWarning.objects.filter(schedule__merchant=shop).values_list("days", flat=True)) == [14]
