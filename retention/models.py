from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from merchants.models import Merchant


class RetentionRule(models.Model):
    """What is kept, how long and why. Data, not code, so a lawyer can correct it without a release.

    The data map names rules by `key`; the legal basis is shown to officers and in exports.
    """

    class Trigger(models.TextChoices):
        MERCHANT_CHURNED = "merchant_churned", _("merchant berhenti berlangganan")
        RECORD_AGE = "record_age", _("umur catatan")
        REQUEST_COMPLETED = "request_completed", _("permintaan selesai")
        ERASURE = "erasure", _("sejak penghapusan")

    class Action(models.TextChoices):
        DELETE = "delete", _("hapus")
        ANONYMISE = "anonymise", _("anonimkan")

    class Unit(models.TextChoices):
        DAYS = "days", _("hari")
        YEARS = "years", _("tahun")

    key = models.SlugField(_("kunci"), max_length=64, unique=True)
    title = models.CharField(_("judul"), max_length=200)
    legal_basis = models.TextField(_("dasar hukum"))
    trigger = models.CharField(_("pemicu"), max_length=32, choices=Trigger.choices)
    period = models.PositiveIntegerField(_("masa"))
    unit = models.CharField(_("satuan"), max_length=8, choices=Unit.choices, default=Unit.DAYS)
    from_end_of_financial_year = models.BooleanField(
        _("dihitung dari akhir tahun buku"), default=False,
        help_text=_("Masa dihitung dari akhir tahun buku catatan, bukan dari tanggalnya."),
    )
    action = models.CharField(_("tindakan di akhir masa"), max_length=16, choices=Action.choices)
    warning_days = models.CharField(
        _("peringatan (hari sebelum)"), max_length=50, blank=True,
        help_text=_("Hari sebelum jatuh tempo saat merchant diperingatkan, dipisah koma, mis. 14,3."),
    )
    notes = models.TextField(_("catatan"), blank=True)
    updated_at = models.DateTimeField(_("diubah"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("aturan retensi")
        verbose_name_plural = _("aturan retensi")
        ordering = ["key"]

    def __str__(self):
        return f"{self.title} ({self.key})"

    @property
    def period_display(self) -> str:
        return f"{self.period} {self.get_unit_display()}"

    @property
    def warnings(self) -> list[int]:
        """Days before the due date at which a warning goes out, largest first."""
        days = {int(p) for p in self.warning_days.replace(" ", "").split(",") if p.isdigit()}
        return sorted(days, reverse=True)

    @property
    def period_delta(self) -> timedelta:
        return timedelta(days=self.period * (365 if self.unit == self.Unit.YEARS else 1))

    def cutoff(self, *, now: datetime) -> datetime:
        """Rows dated before this have outlived the rule.

        Counted from the end of the financial year (calendar year, Asia/Jakarta) where the rule
        says so: a sale of 2015 is kept to the end of 2025 and goes on 1 January 2026.
        """
        if self.from_end_of_financial_year and self.unit == self.Unit.YEARS:
            zone = ZoneInfo(settings.TIME_ZONE)
            return datetime(timezone.localtime(now, zone).year - self.period, 1, 1, tzinfo=zone)
        return now - self.period_delta


class LegalHold(models.Model):
    """Stops every erasure it covers, scheduled or requested, until lifted or ended.

    A hold covers a merchant, a data subject (by e-mail and/or phone), or both.
    """

    class Reason(models.TextChoices):
        FRAUD = "fraud", _("Kecurangan (fraud)")
        MONEY_LAUNDERING = "money_laundering", _("Pencucian uang")
        LAW_ENFORCEMENT = "law_enforcement", _("Permintaan penegak hukum")
        DISPUTE = "dispute", _("Sengketa (musyawarah 30 hari, lalu BANI)")

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("merchant")
    )
    subject_email = models.EmailField(_("e-mail subjek"), blank=True)
    subject_phone = models.CharField(_("telepon subjek (E.164)"), max_length=20, blank=True)
    reason = models.CharField(_("alasan"), max_length=32, choices=Reason.choices)
    detail = models.TextField(_("keterangan"), help_text=_("Mis. nomor surat kepolisian, pokok sengketa."))
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    placed_at = models.DateTimeField(_("dipasang"), default=timezone.now)
    ends_at = models.DateTimeField(_("berakhir"), null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    lifted_at = models.DateTimeField(_("dicabut"), null=True, blank=True)
    lift_reason = models.TextField(_("alasan pencabutan"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("penahanan hukum")
        verbose_name_plural = _("penahanan hukum")
        ordering = ["-placed_at"]
        permissions = [
            ("place_legalhold", _("Boleh memasang penahanan hukum")),
            ("lift_legalhold", _("Boleh mencabut penahanan hukum")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(merchant__isnull=False) | ~Q(subject_email="") | ~Q(subject_phone=""),
                name="hold_covers_something",
            )
        ]
        indexes = [models.Index(fields=["merchant", "lifted_at"], name="hold_merchant_active")]

    def __str__(self):
        return f"{self.get_reason_display()}: {self.merchant or self.subject_email or self.subject_phone}"

    @classmethod
    def active_q(cls, now=None) -> Q:
        now = now or timezone.now()
        return Q(lifted_at__isnull=True) & (Q(ends_at__isnull=True) | Q(ends_at__gt=now))

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None and (self.ends_at is None or self.ends_at > timezone.now())


class ChurnEvent(models.Model):
    """JUNOPOS (or an officer) said a merchant stopped, or came back."""

    class Kind(models.TextChoices):
        CHURNED = "churned", _("berhenti")
        REACTIVATED = "reactivated", _("aktif kembali")

    class Source(models.TextChoices):
        JUNOPOS = "junopos", _("JUNOPOS")
        ADMIN = "admin", _("admin")
        COMMAND = "command", _("perintah")
        DETECTED = "detected", _("terdeteksi oleh rencana harian")

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("jenis"), max_length=16, choices=Kind.choices)
    at = models.DateTimeField(_("waktu"))
    source = models.CharField(_("sumber"), max_length=16, choices=Source.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField(_("dicatat"), auto_now_add=True)

    class Meta:
        verbose_name = _("peristiwa churn")
        verbose_name_plural = _("peristiwa churn")
        ordering = ["-recorded_at"]


class PurgeSchedule(models.Model):
    """Retention's view of one churned merchant: when it is due, warned, purged.

    The daily planner reads only this table (state, due_at), so planning stays one indexed
    query however many merchants JUNOPOS has. `lease_until` is the purge lock: a worker
    claims the schedule with a conditional UPDATE and renews the lease before every batch,
    so two workers never purge the same merchant; a killed worker's lease simply runs out.
    """

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("terjadwal")
        PURGING = "purging", _("sedang dihapus")
        PURGED = "purged", _("terhapus")
        CANCELLED = "cancelled", _("dibatalkan (aktif kembali)")
        FAILED = "failed", _("gagal (menunggu percobaan ulang)")

    merchant = models.OneToOneField(Merchant, on_delete=models.PROTECT, related_name="+", verbose_name=_("merchant"))
    rule = models.ForeignKey(RetentionRule, on_delete=models.PROTECT, related_name="+", verbose_name=_("aturan"))
    churned_at = models.DateTimeField(_("berhenti"))
    due_at = models.DateTimeField(_("jatuh tempo"))
    state = models.CharField(_("status"), max_length=16, choices=State.choices, default=State.SCHEDULED)
    purged_at = models.DateTimeField(_("dihapus"), null=True, blank=True)
    updated_at = models.DateTimeField(_("diubah"), auto_now=True)

    class Meta:
        verbose_name = _("jadwal penghapusan")
        verbose_name_plural = _("jadwal penghapusan")
        indexes = [models.Index(fields=["state", "due_at"], name="purge_state_due")]
        permissions = [("record_churn", _("Boleh mencatat merchant berhenti atau aktif kembali"))]

    def __str__(self):
        return f"{self.merchant_id} {self.get_state_display()} {self.due_at:%Y-%m-%d}"


class PurgeWarning(models.Model):
    """One warning of a coming purge (14 or 3 days before, per the rule), and its message.

    The purge waits until every warning of its rule was delivered and its days have passed,
    counted from the delivery (retention.selectors.warned_q). The message in the outbox says
    to which address, when and with what outcome; after the purge its address is a keyed hash.
    A merchant with no address on file gets a warning with no message: recorded, counted from
    when it was recorded, and shown to officers.
    """

    schedule = models.ForeignKey(PurgeSchedule, on_delete=models.PROTECT, related_name="warnings")
    days = models.PositiveSmallIntegerField(_("hari sebelum penghapusan"))
    message = models.ForeignKey(
        "messaging.OutboundMessage", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("pesan"),
    )
    created_at = models.DateTimeField(_("dibuat"), default=timezone.now)

    class Meta:
        verbose_name = _("peringatan penghapusan")
        verbose_name_plural = _("peringatan penghapusan")
        ordering = ["schedule", "-days", "created_at"]
        indexes = [models.Index(fields=["schedule", "days"], name="purgewarning_schedule_days")]

    def __str__(self):
        return f"H-{self.days} #{self.pk}"


class ErasureRun(models.Model):
    """The proof of one erasure: scope, rule, when, how far, counts per table and action.

    Never content: a subject is kept only as keyed hashes of its identifiers. An expiry with no
    merchant is that of the records of no merchant (the portal's requests) under its rule.
    """

    class Kind(models.TextChoices):
        MERCHANT_PURGE = "merchant_purge", _("penghapusan merchant")
        SUBJECT_ERASURE = "subject_erasure", _("penghapusan subjek data")
        RETENTION_EXPIRY = "retention_expiry", _("akhir masa retensi")

    class State(models.TextChoices):
        PENDING = "pending", _("menunggu")
        RUNNING = "running", _("berjalan")
        STOPPED = "stopped", _("dihentikan")
        COMPLETED = "completed", _("selesai")
        FAILED = "failed", _("gagal")

    kind = models.CharField(_("jenis"), max_length=20, choices=Kind.choices)
    merchant = models.ForeignKey(
        Merchant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("merchant")
    )
    merchant_ref = models.BigIntegerField(_("id merchant"), null=True, blank=True, db_index=True)
    subject_hashes = models.JSONField(_("pseudonim pengenal"), default=dict, blank=True)
    # An open subject erasure's identifiers, encrypted (retention/seal.py): what lets the plan
    # resume it after a killed worker. Emptied when the run completes.
    sealed_scope = models.TextField(_("cakupan tersegel"), blank=True, editable=False)
    rule = models.ForeignKey(RetentionRule, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    dry_run = models.BooleanField(_("uji coba"), default=False)
    state = models.CharField(_("status"), max_length=16, choices=State.choices, default=State.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)
    started_at = models.DateTimeField(_("mulai"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("terakhir aktif"), null=True, blank=True)
    finished_at = models.DateTimeField(_("selesai"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("percobaan"), default=0)
    counts = models.JSONField(_("jumlah per tabel"), default=dict, blank=True)
    rows_total = models.PositiveBigIntegerField(_("perkiraan baris"), default=0)
    rows_done = models.PositiveBigIntegerField(_("baris selesai"), default=0)
    stop_reason = models.TextField(_("alasan berhenti"), blank=True)
    error = models.TextField(_("galat"), blank=True)
    retry_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="retries",
        verbose_name=_("percobaan ulang dari"),
    )
    # The claim of the worker running it (retention.services.runs): every write it makes is
    # fenced by this token; a dead worker's lease runs out and another takes the run over.
    claimed_by = models.CharField(_("dipegang oleh"), max_length=64, blank=True)
    lease_until = models.DateTimeField(_("masa pegang"), null=True, blank=True)

    class Meta:
        verbose_name = _("catatan penghapusan")
        verbose_name_plural = _("catatan penghapusan")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "kind"], name="erasurerun_state_kind"),
            models.Index(fields=["state", "lease_until"], name="erasurerun_state_lease"),
        ]
        constraints = [
            # One open run per merchant and rule for a purge or an expiry: a resumed or retried run
            # goes on in the same record, never beside it.
            models.UniqueConstraint(
                fields=["kind", "merchant_ref", "rule"],
                condition=Q(state__in=["pending", "running"], dry_run=False, kind__in=["merchant_purge", "retention_expiry"]),
                name="erasurerun_one_open_per_scope",
            ),
            # And one per rule for the expiry of records of no merchant (merchant_ref NULL, which
            # the constraint above never compares).
            models.UniqueConstraint(
                fields=["kind", "rule"],
                condition=Q(state__in=["pending", "running"], dry_run=False, kind="retention_expiry", merchant_ref__isnull=True),
                name="erasurerun_one_open_per_rule",
            ),
        ]
        permissions = [("retry_erasurerun", _("Boleh mengulang penghapusan yang gagal"))]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def progress_percent(self) -> int:
        if self.state == self.State.COMPLETED:
            return 100
        if self.rows_total <= self.rows_done:
            return 0 if not self.rows_total else 99  # still running: its total is not counted yet
        return min(99, int(100 * self.rows_done / self.rows_total))
