"""Permissions named for what they allow, checked by the retention services themselves.

Compliance officers place holds and record churn or reactivation; the data protection officer
also lifts holds and retries failed purges. The generic change permissions these replace are
taken back: the forms they opened are read-only now, every step goes through a service.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.models import Q

SEE = ["retention.view_purgewarning", "messaging.view_outboundmessage"]
GRANTS = {"Compliance officer": SEE + ["retention.place_legalhold", "retention.record_churn"]}
GRANTS["Data protection officer"] = GRANTS["Compliance officer"] + [
    "retention.lift_legalhold", "retention.retry_erasurerun",
]
GRANTS["Auditor"] = SEE
REPLACED = [
    "retention.add_legalhold", "retention.change_legalhold", "retention.change_purgeschedule",
    "retention.change_erasurerun",
]


def _perms(apps, using, names):
    Permission = apps.get_model("auth", "Permission")
    match = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".")
        match |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.using(using).filter(match))


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    for label in ("retention", "messaging"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    for name, codenames in GRANTS.items():
        group = Group.objects.using(using).filter(name=name).first()
        if group is None:
            continue
        perms = _perms(apps, using, codenames)
        if len(perms) != len(codenames):
            raise RuntimeError(f"permissions missing for {name}")
        group.permissions.add(*perms)
        group.permissions.remove(*_perms(apps, using, REPLACED))


def revoke(apps, schema_editor):
    using = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    for name, codenames in GRANTS.items():
        group = Group.objects.using(using).filter(name=name).first()
        if group is not None:
            group.permissions.remove(*_perms(apps, using, codenames))


class Migration(migrations.Migration):
    dependencies = [
        ("requests_portal", "0002_retention_work_permissions"),
        ("retention", "0009_message_proof_rule_and_named_tasks"),
        ("messaging", "0001_initial"),
    ]
    operations = [migrations.RunPython(grant, revoke)]
