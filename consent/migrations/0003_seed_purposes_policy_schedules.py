"""The ten purposes of the JUNOPOS privacy policy ("Tujuan Penggunaan dan Pemrosesan Data", in its
order), each with its legal basis and the categories it uses; the version of the policy in force
when the portal started (its texts from consent/policy/); the consent sweeps on beat; and what each
officers' group may do here.

The bases are the controller's reading of the policy and UU PDP Pasal 20: what a transaction
needs rests on the contract; KYC and law-enforcement investigations on legal obligations;
improving and securing the Service on legitimate interest (which the person may object to);
promotions on consent. Officers correct a purpose in the admin, with history.
"""

from datetime import datetime, timezone
from pathlib import Path

from django.contrib.auth.management import create_permissions
from django.db import migrations

from consent.models import content_hash

POLICY_DIR = Path(__file__).resolve().parent.parent / "policy"
FIRST_VERSION = "2023.1"
# The policy as published on junopos.com; in force when the portal started recording.
FIRST_EFFECTIVE = datetime(2023, 1, 1, tzinfo=timezone.utc)

PURPOSES = [
    (1, "transactions", "contract", ["identity", "contact", "financial", "transaction"], False,
     "Memproses transaksi", "Processing transactions",
     "Mencatat penjualan, pembayaran dan struk di kasir JUNOPOS dan menyelesaikan setiap transaksi.",
     "Recording sales, payments and receipts on the JUNOPOS till and completing each transaction."),
    (2, "service-improvement", "legitimate_interest", ["transaction", "technical"], False,
     "Meningkatkan dan memperbaiki Layanan", "Improving and repairing the Service",
     "Memakai data penggunaan dan data teknis untuk memperbaiki kesalahan dan meningkatkan Layanan.",
     "Using usage and technical data to fix faults and improve the Service."),
    (3, "product-features", "legitimate_interest", ["professional", "transaction", "technical"], False,
     "Mengembangkan produk dan fitur", "Developing products and features",
     "Mengembangkan produk dan fitur yang memudahkan Anda menggunakan Layanan.",
     "Developing products and features that make the Service easier to use."),
    (4, "support", "contract", ["identity", "contact", "professional", "technical"], False,
     "Bantuan dan penyelesaian masalah", "Support and problem solving",
     "Membantu Anda dan mengatasi masalah yang timbul saat menggunakan Layanan.",
     "Helping you and solving problems that arise while you use the Service."),
    (5, "communication", "contract", ["identity", "contact", "marketing"], False,
     "Komunikasi dengan Kami", "Communication with us",
     "Menjawab pesan Anda dan menyampaikan pemberitahuan tentang akun dan Layanan Anda.",
     "Answering your messages and sending notices about your account and the Service."),
    (6, "transaction-contact", "contract", ["identity", "contact", "transaction"], False,
     "Menghubungi Anda tentang transaksi", "Contacting you about transactions",
     "Menghubungi Anda lewat e-mail, surat atau telepon untuk membantu atau menyelesaikan transaksi.",
     "Contacting you by e-mail, letter or phone to help with or complete a transaction."),
    (7, "research", "legitimate_interest", ["transaction", "technical"], False,
     "Penelitian, analisis dan pengujian", "Research, analysis and testing",
     "Penelitian, analisis, pengembangan dan pengujian produk untuk keamanan Layanan dan layanan baru.",
     "Research, analysis, development and testing of products for the security of the Service and new services."),
    (8, "marketing", "consent", ["identity", "contact", "marketing"], True,
     "Promosi dan informasi pemasaran", "Promotions and marketing",
     "Mengirimkan promosi, diskon, survei, studi dan kabar terbaru Layanan JUNOPOS atau toko Anda.",
     "Sending promotions, discounts, surveys, studies and news of JUNOPOS or of your shop."),
    (9, "kyc", "legal_obligation", ["identity", "identification", "contact", "financial"], False,
     "Know Your Customer (KYC)", "Know Your Customer (KYC)",
     "Memvalidasi dan memverifikasi identitas pelanggan, juga dengan penyedia KYC.",
     "Validating and verifying the identity of customers, also with KYC providers."),
    (10, "law-enforcement", "legal_obligation",
     ["identity", "identification", "contact", "financial", "transaction", "technical"], False,
     "Investigasi penegakan hukum", "Law-enforcement investigations",
     "Investigasi transaksi mencurigakan, kecurangan (fraud), pencucian uang atau pelanggaran syarat Layanan, "
     "dan tindak lanjutnya bersama penegak hukum.",
     "Investigating suspicious transactions, fraud, money laundering or breaches of the terms of the Service, "
     "and following them up with law enforcement."),
]

SCHEDULES = [
    ("Persetujuan: lanjutkan pemberitahuan kebijakan yang terhenti", "consent.policy_notices_resume", 1, "minutes"),
    ("Persetujuan: hapus jawaban idempotensi yang kedaluwarsa", "consent.idempotency_keys_expire", 1, "hours"),
]

GRANTS = {
    "Compliance officer": [
        "view_purpose", "view_policyversion", "add_policyversion", "change_policyversion", "view_policyacceptance",
        "view_policynotice", "view_consentevent", "add_consentevent", "view_consentstate", "view_recipient",
        "add_recipient", "change_recipient", "view_disclosure", "view_apiclient",
    ],
    "Data protection officer": [
        "view_purpose", "change_purpose", "view_policyversion", "add_policyversion", "change_policyversion",
        "publish_policyversion", "view_policyacceptance", "view_policynotice", "view_consentevent",
        "add_consentevent", "view_consentstate", "view_recipient", "add_recipient", "change_recipient",
        "view_disclosure", "view_apiclient", "add_apiclient", "change_apiclient",
    ],
    "Auditor": [
        "view_purpose", "view_policyversion", "view_policyacceptance", "view_policynotice", "view_consentevent",
        "view_consentstate", "view_recipient", "view_disclosure", "view_apiclient",
    ],
}


def forwards(apps, schema_editor):
    using = schema_editor.connection.alias
    Purpose = apps.get_model("consent", "Purpose")
    for number, key, basis, categories, marketing, name_id, name_en, desc_id, desc_en in PURPOSES:
        Purpose.objects.using(using).update_or_create(key=key, defaults={
            "number": number, "basis": basis, "categories": categories, "marketing": marketing,
            "name_id": name_id, "name_en": name_en, "description_id": desc_id, "description_en": desc_en,
        })
    text_id = (POLICY_DIR / f"{FIRST_VERSION}.id.txt").read_text(encoding="utf-8")
    text_en = (POLICY_DIR / f"{FIRST_VERSION}.en.txt").read_text(encoding="utf-8")
    apps.get_model("consent", "PolicyVersion").objects.using(using).update_or_create(
        version=FIRST_VERSION, defaults={
            "text_id": text_id, "text_en": text_en, "content_hash": content_hash(text_id, text_en),
            "effective_at": FIRST_EFFECTIVE, "published_at": FIRST_EFFECTIVE,
            "summary_id": "Versi yang berlaku saat portal privasi mulai mencatat.",
            "summary_en": "The version in force when the privacy portal started recording.",
        },
    )
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, every, period in SCHEDULES:
        interval, _ = IntervalSchedule.objects.using(using).get_or_create(every=every, period=period)
        PeriodicTask.objects.using(using).update_or_create(name=name, defaults={"task": task, "interval": interval})
    config = apps.get_app_config("consent")
    config.models_module = True
    create_permissions(config, verbosity=0, apps=apps, using=using)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codenames in GRANTS.items():
        group, _ = Group.objects.using(using).get_or_create(name=group_name)
        group.permissions.add(*Permission.objects.using(using).filter(content_type__app_label="consent", codename__in=codenames))


def backwards(apps, schema_editor):
    using = schema_editor.connection.alias
    apps.get_model("django_celery_beat", "PeriodicTask").objects.using(using).filter(
        task__in=[task for _, task, _, _ in SCHEDULES]
    ).delete()
    apps.get_model("consent", "PolicyVersion").objects.using(using).filter(version=FIRST_VERSION).delete()
    apps.get_model("consent", "Purpose").objects.using(using).all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0002_ledger_append_only"),
        ("requests_portal", "0001_groups"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
