"""The officers' groups and what each may do.

Permissions are normally created after `migrate` (post_migrate), so this migration creates
them first, for every app, with the historical models. A spec line names an app, a model
(or "*": every model of the app as it is at this migration, history copies included) and the
actions granted. A model added later needs a migration of its own that grants it.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.models import Q

VIEW = ("view",)

COMPLIANCE_OFFICER = (
    ("merchants", "*", VIEW),
    ("retention", "retentionrule", VIEW),
    ("retention", "historicalretentionrule", VIEW),
    ("django_celery_beat", "*", VIEW),
)

ROLES = {
    # Triage and run requests; sees the governed data, the rules and the schedules.
    "Compliance officer": COMPLIANCE_OFFICER,
    # The second pair of eyes: the officer's rights, plus correcting retention rules and
    # planning the scheduled jobs.
    "Data protection officer": COMPLIANCE_OFFICER
    + (
        ("retention", "retentionrule", ("change",)),
        ("django_celery_beat", "periodictask", ("add", "change")),
    ),
    # Reads everything the portal governs and changes nothing.
    "Auditor": (
        ("merchants", "*", VIEW),
        ("retention", "*", VIEW),
        ("django_celery_beat", "*", VIEW),
    ),
}


def _create_all_permissions(apps, using):
    for app_config in apps.get_app_configs():
        # create_permissions skips app configs without a models module; historical app
        # configs never have one.
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
        app_config.models_module = None


def _permissions(apps, spec, using):
    Permission = apps.get_model("auth", "Permission")
    wanted = set()
    match = Q()
    for app_label, model_name, actions in spec:
        if model_name == "*":
            models = apps.get_app_config(app_label).get_models()
        else:
            models = [apps.get_model(app_label, model_name)]
        codenames = [f"{action}_{model._meta.model_name}" for model in models for action in actions]
        wanted.update((app_label, codename) for codename in codenames)
        match |= Q(content_type__app_label=app_label, codename__in=codenames)
    permissions = list(Permission.objects.using(using).filter(match).select_related("content_type"))
    found = {(p.content_type.app_label, p.codename) for p in permissions}
    if found != wanted:
        raise RuntimeError(f"permissions missing for the officers' groups: {sorted(wanted - found)}")
    return permissions


def create_groups(apps, schema_editor):
    using = schema_editor.connection.alias
    _create_all_permissions(apps, using)
    Group = apps.get_model("auth", "Group")
    for name, spec in ROLES.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        group.permissions.set(_permissions(apps, spec, using))


def delete_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("merchants", "0002_purge_keyset_indexes"),
        ("retention", "0004_seed_hold_rule_and_warnings"),
    ]

    operations = [migrations.RunPython(create_groups, delete_groups)]
