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
    assert f"personal fields in {len(list(datamap))} tables" in text
