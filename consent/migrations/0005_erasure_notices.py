"""Erasure notices to the recipients of a subject's data, and who may see and acknowledge them:
officers and the DPO record a recipient's confirmation (change), the auditor reads."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

GRANTS = {
    "Compliance officer": ["view_erasurenotice", "change_erasurenotice"],
    "Data protection officer": ["view_erasurenotice", "change_erasurenotice"],
    "Auditor": ["view_erasurenotice"],
}


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    config = apps.get_app_config("consent")
    config.models_module = True
    create_permissions(config, verbosity=0, apps=apps, using=using)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codenames in GRANTS.items():
        group, _ = Group.objects.using(using).get_or_create(name=group_name)
        group.permissions.add(
            *Permission.objects.using(using).filter(content_type__app_label="consent", codename__in=codenames)
        )


def revoke(apps, schema_editor):
    using = schema_editor.connection.alias
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.using(using).filter(name__in=GRANTS):
        group.permissions.remove(
            *Permission.objects.using(using).filter(content_type__app_label="consent", codename__endswith="_erasurenotice")
        )


class Migration(migrations.Migration):

    dependencies = [
        ('consent', '0004_verbose_names'),
        ('messaging', '0003_message_headers'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoricalErasureNotice',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('email_hash', models.CharField(blank=True, max_length=64, verbose_name='hash berkunci e-mail subjek')),
                ('phone_hash', models.CharField(blank=True, max_length=64, verbose_name='hash berkunci telepon subjek')),
                ('reference', models.CharField(max_length=64, verbose_name='rujukan')),
                ('categories', models.JSONField(default=list, verbose_name='kategori data yang diungkapkan')),
                ('disclosures', models.PositiveIntegerField(default=0, verbose_name='jumlah pengungkapan')),
                ('last_disclosed_at', models.DateTimeField(blank=True, null=True, verbose_name='pengungkapan terakhir')),
                ('language', models.CharField(default='id', max_length=8, verbose_name='bahasa')),
                ('state', models.CharField(choices=[('queued', 'menunggu dikirim'), ('sent', 'terkirim, menunggu konfirmasi'), ('acknowledged', 'dikonfirmasi penerima'), ('failed', 'gagal dikirim')], db_index=True, default='queued', max_length=16, verbose_name='status')),
                ('error', models.TextField(blank=True, verbose_name='galat')),
                ('created_at', models.DateTimeField(blank=True, editable=False, verbose_name='dibuat')),
                ('sent_at', models.DateTimeField(blank=True, null=True, verbose_name='terkirim')),
                ('acknowledged_at', models.DateTimeField(blank=True, null=True, verbose_name='dikonfirmasi')),
                ('acknowledgement_note', models.TextField(blank=True, verbose_name='catatan konfirmasi')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('acknowledged_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='dicatat oleh')),
                ('created_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='direncanakan oleh')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('message', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='messaging.outboundmessage', verbose_name='pesan keluar')),
                ('recipient', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='consent.recipient', verbose_name='penerima')),
            ],
            options={
                'verbose_name': 'historical pemberitahuan penghapusan',
                'verbose_name_plural': 'historical pemberitahuan penghapusan',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='ErasureNotice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('email_hash', models.CharField(blank=True, max_length=64, verbose_name='hash berkunci e-mail subjek')),
                ('phone_hash', models.CharField(blank=True, max_length=64, verbose_name='hash berkunci telepon subjek')),
                ('reference', models.CharField(max_length=64, verbose_name='rujukan')),
                ('categories', models.JSONField(default=list, verbose_name='kategori data yang diungkapkan')),
                ('disclosures', models.PositiveIntegerField(default=0, verbose_name='jumlah pengungkapan')),
                ('last_disclosed_at', models.DateTimeField(blank=True, null=True, verbose_name='pengungkapan terakhir')),
                ('language', models.CharField(default='id', max_length=8, verbose_name='bahasa')),
                ('state', models.CharField(choices=[('queued', 'menunggu dikirim'), ('sent', 'terkirim, menunggu konfirmasi'), ('acknowledged', 'dikonfirmasi penerima'), ('failed', 'gagal dikirim')], db_index=True, default='queued', max_length=16, verbose_name='status')),
                ('error', models.TextField(blank=True, verbose_name='galat')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='dibuat')),
                ('sent_at', models.DateTimeField(blank=True, null=True, verbose_name='terkirim')),
                ('acknowledged_at', models.DateTimeField(blank=True, null=True, verbose_name='dikonfirmasi')),
                ('acknowledgement_note', models.TextField(blank=True, verbose_name='catatan konfirmasi')),
                ('acknowledged_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='dicatat oleh')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='direncanakan oleh')),
                ('message', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='messaging.outboundmessage', verbose_name='pesan keluar')),
                ('recipient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='erasure_notices', to='consent.recipient', verbose_name='penerima')),
            ],
            options={
                'verbose_name': 'pemberitahuan penghapusan',
                'verbose_name_plural': 'pemberitahuan penghapusan',
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(condition=models.Q(('email_hash', ''), _negated=True), fields=['email_hash'], name='erasure_notice_email'), models.Index(condition=models.Q(('phone_hash', ''), _negated=True), fields=['phone_hash'], name='erasure_notice_phone')],
                'constraints': [models.UniqueConstraint(fields=('recipient', 'reference'), name='one_erasure_notice_per_recipient'), models.CheckConstraint(condition=models.Q(models.Q(('email_hash', ''), _negated=True), models.Q(('phone_hash', ''), _negated=True), _connector='OR'), name='erasure_notice_has_a_subject')],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
