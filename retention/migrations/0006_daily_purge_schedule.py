"""The daily purge plan, as a django-celery-beat periodic task officers can see and edit."""

from django.db import migrations

TASK_NAME = "Rencana penghapusan harian (purge merchant berhenti)"


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Jakarta"
    )
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": "retention.tasks.plan_purges",
            "crontab": crontab,
            "enabled": True,
            "description": "Mengirim peringatan 14 dan 3 hari, mengantrikan penghapusan merchant yang "
            "jatuh tempo, mengulang yang macet, dan menghapus catatan yang masa retensinya berakhir.",
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("retention", "0005_schedule_failed_run_retry"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, remove)]
