"""Beat runs the sweeps of the executions: stalled executions are queued again (every five
minutes) and expired access packages are deleted with their files (every hour)."""

from django.db import migrations

SCHEDULES = [
    ("Permintaan: lanjutkan pelaksanaan yang tertahan", "requests_portal.request_executions_resume_stalled", 5,
     "minutes", "Pelaksanaan permintaan yang pekerjanya mati atau tugasnya hilang diantrikan lagi."),
    ("Permintaan: hapus paket data yang kedaluwarsa", "requests_portal.access_packages_expire", 1, "hours",
     "Berkas paket data yang tautannya kedaluwarsa atau habis diunduh dihapus."),
]


def seed(apps, schema_editor):
    using = schema_editor.connection.alias if schema_editor else "default"
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, every, period, description in SCHEDULES:
        interval, _ = IntervalSchedule.objects.using(using).get_or_create(every=every, period=period)
        PeriodicTask.objects.using(using).update_or_create(
            name=name, defaults={"task": task, "interval": interval, "crontab": None, "enabled": True,
                                 "description": description},
        )


def unseed(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("requests_portal", "0011_execution"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
