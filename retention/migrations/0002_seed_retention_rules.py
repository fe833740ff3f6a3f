"""Seed the retention rules from LAW.md. Officers edit them in the admin afterwards."""

from django.db import migrations

RULES = [
    {
        "key": "tax-records",
        "title": "Catatan penjualan dan pembayaran (pajak)",
        "legal_basis": "UU KUP Pasal 28 ayat (11); PMK 54/2021; UU 8/1997 Pasal 11 ayat (1)",
        "trigger": "record_age",
        "period": 10,
        "unit": "years",
        "from_end_of_financial_year": True,
        "action": "delete",
        "notes": "Disimpan di Indonesia, dianonimkan: pelanggan, nama, telepon, e-mail, kartu, bank, IP "
        "dan lokasi dihapus; jumlah, tanggal, barang dan outlet disimpan. Dihapus setelah masanya.",
    },
    {
        "key": "merchant-churn",
        "title": "Merchant berhenti berlangganan",
        "legal_basis": "Kebijakan Privasi JUNOPOS, Penyimpanan dan Penghapusan Data",
        "trigger": "merchant_churned",
        "period": 30,
        "unit": "days",
        "from_end_of_financial_year": False,
        "action": "anonymise",
        "notes": "Masa tenggang 30 hari; peringatan 14 dan 3 hari sebelumnya; reaktivasi membatalkan.",
    },
    {
        "key": "merchant-tombstone",
        "title": "Catatan penghapusan (nisan merchant)",
        "legal_basis": "Bukti penghapusan milik portal; UU PDP Pasal 43-44",
        "trigger": "erasure",
        "period": 10,
        "unit": "years",
        "from_end_of_financial_year": False,
        "action": "delete",
        "notes": "Hanya id, tanggal dan hash berkunci dari pengenal; jumlah baris per tabel, tanpa isi.",
    },
    {
        "key": "consent-proof",
        "title": "Bukti persetujuan",
        "legal_basis": "UU PDP Pasal 22 dan 24",
        "trigger": "record_age",
        "period": 10,
        "unit": "years",
        "from_end_of_financial_year": False,
        "action": "anonymise",
        "notes": "Selama pemrosesan yang diizinkan ditambah masa sengketa; pengenal diganti hash berkunci.",
    },
]


def seed(apps, schema_editor):
    RetentionRule = apps.get_model("retention", "RetentionRule")
    for rule in RULES:
        RetentionRule.objects.update_or_create(key=rule["key"], defaults=rule)


def unseed(apps, schema_editor):
    apps.get_model("retention", "RetentionRule").objects.filter(key__in=[r["key"] for r in RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("retention", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
