"""What officers may do with holds, purges and erasure runs.

Compliance officers place holds and record churn or reactivation; the data protection
officer, the second pair of eyes, also lifts holds and retries failed purges. The auditor
already views every retention model (0001).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.models import Q

GRANTS = {
    "Compliance officer": [
        "view_legalhold", "view_historicallegalhold", "add_legalhold",
        "view_purgeschedule", "change_purgeschedule", "view_erasurerun", "view_churnevent",
    ],
}
GRANTS["Data protection officer"] = GRANTS["Compliance officer"] + ["change_legalhold", "change_erasurerun"]


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    app_config = apps.get_app_config("retention")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0, using=using)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        perms = list(Permission.objects.using(using).filter(Q(content_type__app_label="retention"), codename__in=codenames))
        if len(perms) != len(codenames):
            raise RuntimeError(f"permissions missing for {name}")
        Group.objects.using(using).get(name=name).permissions.add(*perms)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group:
            group.permissions.remove(
                *Permission.objects.filter(content_type__app_label="retention", codename__in=codenames)
            )


class Migration(migrations.Migration):
    dependencies = [("requests_portal", "0001_groups"), ("retention", "0006_daily_purge_schedule")]
    operations = [migrations.RunPython(grant, revoke)]
