"""Seed the legal-hold rule and the churn warnings (14 and 3 days before the purge)."""

from django.db import migrations


def seed(apps, schema_editor):
    RetentionRule = apps.get_model("retention", "RetentionRule")
    RetentionRule.objects.filter(key="merchant-churn").update(warning_days="14,3")
    RetentionRule.objects.update_or_create(
        key="legal-hold",
        defaults={
            "title": "Penahanan hukum",
            "legal_basis": "UU ITE; UU 8/2010 (anti pencucian uang); permintaan resmi penegak hukum; "
            "Kebijakan Privasi JUNOPOS: musyawarah 30 hari lalu BANI",
            "trigger": "erasure",
            "period": 0,
            "unit": "days",
            "action": "delete",
            "notes": "Disimpan selama penahanan berlaku; dihapus bersama data yang ditahan setelah dicabut.",
        },
    )


def unseed(apps, schema_editor):
    RetentionRule = apps.get_model("retention", "RetentionRule")
    RetentionRule.objects.filter(key="legal-hold").delete()
    RetentionRule.objects.filter(key="merchant-churn").update(warning_days="")


class Migration(migrations.Migration):
    dependencies = [("retention", "0003_holds_schedules_runs")]
    operations = [migrations.RunPython(seed, unseed)]
