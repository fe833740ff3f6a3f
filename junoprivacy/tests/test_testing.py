"""The test harness's reseed puts back exactly what `migrate` seeded: after a flush, every group has
the permissions it had, every seeded rule, schedule and purpose is back; and no data migration of
the project is forgotten by it."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import RunPython
from django_celery_beat.models import PeriodicTask

from consent.models import Purpose
from junoprivacy.testing import NOT_SEEDS, SEEDING_MIGRATIONS, reseed_migrated_data
from retention.models import RetentionRule


def seeded_rows() -> dict:
    return {
        "groups": {g.name: sorted(g.permissions.values_list("codename", flat=True)) for g in Group.objects.all()},
        "rules": sorted(RetentionRule.objects.values_list("key", flat=True)),
        "tasks": sorted(PeriodicTask.objects.values_list("name", "task")),
        "purposes": sorted(Purpose.objects.values_list("key", "basis")),
    }


def test_every_data_migration_is_reseeded_or_said_not_to_seed():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    found = set()
    for (app_label, name), migration in loader.disk_migrations.items():
        if app_label not in ("consent", "merchants", "messaging", "requests_portal", "retention", "junoprivacy"):
            continue
        for operation in migration.operations:
            if isinstance(operation, RunPython):
                found.add((app_label, name, operation.code.__name__))
    assert sorted(found - {s for s in SEEDING_MIGRATIONS} - set(NOT_SEEDS)) == []
    assert sorted({s for s in SEEDING_MIGRATIONS} - found) == []  # nothing listed that is not there


@pytest.mark.django_db(transaction=True)
def test_after_a_flush_the_reseed_restores_what_migrate_seeded_and_is_idempotent():
    reseed_migrated_data()  # an earlier test's flush may have emptied them: as migrate left them
    migrated = seeded_rows()
    assert migrated["groups"]["Compliance officer"] and migrated["rules"] and len(migrated["purposes"]) == 10
    assert "view_requestexecution" in migrated["groups"]["Auditor"]  # a grant of a late migration
    reseed_migrated_data()
    assert seeded_rows() == migrated  # on an intact database: the same rows
    call_command("flush", interactive=False, verbosity=0)
    assert not Group.objects.exists()
    reseed_migrated_data()
    assert seeded_rows() == migrated
