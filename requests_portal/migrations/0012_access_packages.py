# Access packages and their downloads. Depends on 0010 (another branch may add 0011 at the same
# time: the lead merges them).

import django.db.models.deletion
from django.db import migrations, models

# Who sees the packages and their downloads (the officers; the Auditor sees everything).
VIEWERS = ("Compliance officer", "Data protection officer", "Auditor")


def grant_view(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    using = schema_editor.connection.alias if schema_editor else "default"
    app_config = apps.get_app_config("requests_portal")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0, using=using)
    app_config.models_module = None
    views = apps.get_model("auth", "Permission").objects.using(using).filter(
        content_type__app_label="requests_portal", codename__in=["view_accesspackage", "view_accessdownload"]
    )
    for group in apps.get_model("auth", "Group").objects.using(using).filter(name__in=VIEWERS):
        group.permissions.add(*views)


class Migration(migrations.Migration):

    dependencies = [
        ("requests_portal", "0010_correction_items"),
    ]

    operations = [
        migrations.CreateModel(
            name="AccessPackage",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("path", models.CharField(max_length=200, verbose_name="berkas")),
                ("sha256", models.CharField(max_length=64)),
                ("size", models.BigIntegerField(verbose_name="ukuran (byte)")),
                ("created_at", models.DateTimeField(verbose_name="dibuat")),
                ("expires_at", models.DateTimeField(verbose_name="tautan berlaku sampai")),
                ("downloads", models.PositiveSmallIntegerField(default=0, verbose_name="diunduh")),
                ("deleted_at", models.DateTimeField(blank=True, null=True, verbose_name="berkas dihapus")),
                (
                    "request",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="access_packages",
                        to="requests_portal.datasubjectrequest",
                    ),
                ),
            ],
            options={
                "verbose_name": "paket data",
                "verbose_name_plural": "paket data",
                "ordering": ["-created_at", "-pk"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("deleted_at__isnull", True)), fields=["expires_at"],
                        name="access_package_live",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="AccessDownload",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(verbose_name="waktu")),
                ("ip", models.GenericIPAddressField(blank=True, null=True, verbose_name="alamat IP")),
                (
                    "package",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="download_rows",
                        to="requests_portal.accesspackage",
                    ),
                ),
            ],
            options={
                "verbose_name": "unduhan paket data",
                "verbose_name_plural": "unduhan paket data",
                "ordering": ["package", "at"],
            },
        ),
        migrations.RunPython(grant_view, migrations.RunPython.noop),
    ]
