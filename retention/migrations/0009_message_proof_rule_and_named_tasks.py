"""The rule that keeps the proof of sent messages, the daily plan under its task's new name, and
the sweep that resumes stalled work every minute (django-celery-beat, editable in the admin)."""

from django.db import migrations

RULE = {
    "key": "message-proof",
    "title": "Bukti pengiriman pesan",
    "legal_basis": "Bukti bahwa pemberitahuan dikirim (peringatan sebelum penghapusan, jawaban permintaan); "
    "UU PDP Pasal 43-44",
    "trigger": "erasure",
    "period": 10,
    "unit": "years",
    "from_end_of_financial_year": False,
    "action": "delete",
    "notes": "Setelah penghapusan hanya jenis, waktu, saluran dan hasil pengiriman yang disimpan; alamat "
    "diganti hash berkunci, subjek dan isi dihapus.",
}
DAILY_PLAN = "Rencana penghapusan harian (purge merchant berhenti)"
SWEEP = "Lanjutkan pekerjaan yang macet (penghapusan dan pesan)"


def seed(apps, schema_editor):
    apps.get_model("retention", "RetentionRule").objects.update_or_create(key=RULE["key"], defaults=RULE)
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask.objects.filter(task="retention.tasks.plan_purges").update(task="retention.purge_plan")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.update_or_create(
        name=SWEEP,
        defaults={
            "task": "retention.work_resume_stalled",
            "interval": every_minute,
            "crontab": None,
            "enabled": True,
            "description": "Mengantrikan lagi penghapusan yang pekerjanya mati atau yang waktunya habis, dan pesan "
            "yang tugasnya hilang: dilanjutkan dalam beberapa menit, kapan pun, tanpa petugas.",
        },
    )


def unseed(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=SWEEP).delete()
    PeriodicTask.objects.filter(task="retention.purge_plan").update(task="retention.tasks.plan_purges")
    apps.get_model("retention", "RetentionRule").objects.filter(key=RULE["key"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("retention", "0008_claims_on_runs_purge_warnings"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
