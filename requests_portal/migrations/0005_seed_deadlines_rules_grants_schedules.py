"""The deadline table (UU PDP and GDPR rows of LAW.md), the retention rule of request records,
what each officers' group may do with requests, and the request sweeps on beat.

Deadlines are data: a lawyer corrects a row in the admin, with history, without a release.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.models import Q

ID_BASIS = "UU No. 27 Tahun 2022 (UU PDP)"
RIGHT_ARTICLES = {
    "access": "Pasal 7, kewajiban Pasal 32: 3 x 24 jam sejak permintaan diterima",
    "portability": "Pasal 13: tenggat tidak diatur; target internal 3 x 24 jam",
    "correction": "Pasal 6, kewajiban Pasal 30: 3 x 24 jam; pemohon diberi tahu hasilnya",
    "deletion": "Pasal 8, kewajiban Pasal 42-44: tenggat tidak diatur; target internal 3 x 24 jam",
    "withdrawal": "Pasal 9 (kewajiban Pasal 40, belum dikonfirmasi): 3 x 24 jam untuk menghentikan pemrosesan",
    "restriction": "Pasal 11 (kewajiban Pasal 41, belum dikonfirmasi): 3 x 24 jam",
    "objection": "Pasal 10: tenggat tidak diatur; target internal 3 x 24 jam",
}
DEADLINES = []
for right, article in RIGHT_ARTICLES.items():
    DEADLINES.append({
        "right": right, "jurisdiction": "ID", "period": 72, "unit": "hours", "extension_period": 72,
        "extension_unit": "hours", "legal_basis": f"{ID_BASIS} {article}",
        "notes": "Jam dihitung sejak identitas terverifikasi, berhenti selama menunggu pemohon; satu kali "
        "perpanjangan dengan alasan yang disampaikan kepada pemohon (kebijakan internal).",
    })
    DEADLINES.append({
        "right": right, "jurisdiction": "EU", "period": 1, "unit": "months", "extension_period": 2,
        "extension_unit": "months", "legal_basis": "GDPR Art. 12(3): satu bulan, dapat diperpanjang dua bulan "
        "jika pemohon diberi tahu dalam bulan pertama",
        "notes": "",
    })
for jurisdiction in ("ID", "EU"):
    DEADLINES.append({
        "right": "appeal", "jurisdiction": jurisdiction, "period": 30, "unit": "days", "extension_period": 0,
        "extension_unit": "days", "legal_basis": "Kebijakan Privasi JUNOPOS: musyawarah 30 hari, lalu arbitrase BANI",
        "notes": "Proses internal; tanpa perpanjangan.",
    })

RULE = {
    "key": "request-records",
    "title": "Catatan permintaan subjek data",
    "legal_basis": "Bukti penanganan permintaan (UU PDP Pasal 14, 24): mencakup musyawarah 30 hari menurut "
    "Kebijakan Privasi JUNOPOS, lalu arbitrase BANI",
    "trigger": "request_completed",
    "period": 730,
    "unit": "days",
    "from_end_of_financial_year": False,
    "action": "anonymise",
    "notes": "Dua tahun setelah permintaan ditutup: kontak, nama, isi, lampiran dan kode dihapus; baris "
    "permintaan dan peristiwanya disimpan dengan hash berkunci sehingga rantai audit tetap terverifikasi. "
    "Permintaan yang tidak diverifikasi dihapus datanya saat kedaluwarsa setelah 7 hari.",
}

# Every record of a request is open to whoever reviews the work (codes are only keyed hashes).
SEE = [
    f"requests_portal.view_{model}" for model in (
        "datasubjectrequest", "historicaldatasubjectrequest", "requestevent", "auditanchor", "deadlinerule",
        "historicaldeadlinerule", "verificationcode", "requestattachment", "requestmessage",
    )
]
OFFICER = SEE + ["requests_portal.work_request", "requests_portal.enter_request", "requests_portal.execute_request"]
GRANTS = {
    "Compliance officer": OFFICER,
    "Data protection officer": OFFICER + [
        "requests_portal.approve_sensitive_request", "requests_portal.change_deadlinerule",
    ],
    "Auditor": SEE,
}

SCHEDULES = [
    ("Permintaan: kedaluwarsakan yang tidak diverifikasi 7 hari", "requests_portal.requests_expire_unverified",
     {"minutes": 15}, "Permintaan yang identitasnya tidak diverifikasi dalam 7 hari dinyatakan kedaluwarsa dan data "
     "kontaknya dihapus."),
    ("Permintaan: pengingat tenggat 24 dan 6 jam", "requests_portal.requests_remind", {"minutes": 5},
     "Mengingatkan petugas tentang permintaan yang jatuh tempo dalam 24 jam dan dalam 6 jam."),
    ("Permintaan: jangkar jejak audit", "requests_portal.audit_anchor", {"minutes": 1},
     "Menjangkarkan kepala rantai hash setiap permintaan ke rantai global, sehingga penghapusan seluruh "
     "peristiwa sebuah permintaan pun terdeteksi."),
]
DIGEST = "Permintaan: ringkasan harian untuk petugas"


def _perms(apps, using, names):
    Permission = apps.get_model("auth", "Permission")
    match = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".")
        match |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.using(using).filter(match))


def seed(apps, schema_editor):
    # schema_editor is None when the tests re-seed a flushed database (junoprivacy.testing).
    using = schema_editor.connection.alias if schema_editor is not None else "default"
    DeadlineRule = apps.get_model("requests_portal", "DeadlineRule")
    for row in DEADLINES:
        DeadlineRule.objects.using(using).update_or_create(
            right=row["right"], jurisdiction=row["jurisdiction"], defaults=row
        )
    apps.get_model("retention", "RetentionRule").objects.using(using).update_or_create(key=RULE["key"], defaults=RULE)

    app_config = apps.get_app_config("requests_portal")
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

    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    for name, task, every, description in SCHEDULES:
        interval, _ = IntervalSchedule.objects.using(using).get_or_create(every=every["minutes"], period="minutes")
        PeriodicTask.objects.using(using).update_or_create(
            name=name, defaults={"task": task, "interval": interval, "crontab": None, "enabled": True,
                                 "description": description},
        )
    seven, _ = CrontabSchedule.objects.using(using).get_or_create(
        minute="0", hour="7", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Jakarta"
    )
    PeriodicTask.objects.using(using).update_or_create(
        name=DIGEST, defaults={"task": "requests_portal.requests_digest", "crontab": seven, "interval": None,
                               "enabled": True, "description": "Setiap pukul 07.00 WIB: permintaan terbuka, "
                               "jatuh tempo hari ini, terlambat, menunggu pemohon."},
    )


def unseed(apps, schema_editor):
    using = schema_editor.connection.alias
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.using(using).filter(name__in=[s[0] for s in SCHEDULES] + [DIGEST]).delete()
    apps.get_model("retention", "RetentionRule").objects.using(using).filter(key=RULE["key"]).delete()
    apps.get_model("requests_portal", "DeadlineRule").objects.using(using).all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("requests_portal", "0004_requests"),
        ("retention", "0010_schedule_verbose_names"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
