"""Data-subject requests: the request, its events (the audit trail), its identity codes, its
attachments, and the table of legal deadlines.

A request's state changes only through `requests_portal.services` (`request_<verb>`): each
transition locks the row, appends a `RequestEvent` chained by hash to the request's previous
event, and updates the request's `head_hash` in the same transaction. A beat task anchors the
heads of every chain in one global chain (`AuditAnchor`), so that the removal of a whole
request's events is detected too, while no submission waits on a global lock (see
`requests_portal/audit.py` for the design).

Everything here is personal data about the requester: `requests_portal/datamap.py` says what,
and how the engine erases it once the house retention rule (`request-records`) has run out.
"""

from __future__ import annotations

import re
import uuid
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from merchants.models import Merchant
from messaging.models import OutboundMessage


class Right(models.TextChoices):
    ACCESS = "access", _("Akses dan salinan data")
    PORTABILITY = "portability", _("Portabilitas data")
    CORRECTION = "correction", _("Perbaikan data")
    DELETION = "deletion", _("Penghapusan data")
    WITHDRAWAL = "withdrawal", _("Penarikan persetujuan")
    RESTRICTION = "restriction", _("Penundaan atau pembatasan pemrosesan")
    OBJECTION = "objection", _("Keberatan atas keputusan otomatis")
    APPEAL = "appeal", _("Banding atas penolakan")


# Rights whose approval needs a second person of the Data protection officer group.
FOUR_EYES_RIGHTS = frozenset({Right.DELETION, Right.RESTRICTION})


class Jurisdiction(models.TextChoices):
    ID = "ID", _("Indonesia (UU PDP)")
    EU = "EU", _("Uni Eropa (GDPR)")


class State(models.TextChoices):
    SUBMITTED = "submitted", _("Menunggu verifikasi identitas")
    VERIFIED = "verified", _("Identitas terverifikasi")
    IN_REVIEW = "in_review", _("Sedang ditinjau")
    AWAITING_REQUESTER = "awaiting_requester", _("Menunggu jawaban Anda")
    APPROVED = "approved", _("Disetujui")
    PROCESSING = "processing", _("Sedang diproses")
    COMPLETED = "completed", _("Selesai")
    REFUSED = "refused", _("Ditolak")
    WITHDRAWN = "withdrawn", _("Dibatalkan oleh pemohon")
    EXPIRED = "expired", _("Kedaluwarsa (identitas tidak diverifikasi)")
    DUPLICATE = "duplicate", _("Duplikat")


OPEN_STATES = frozenset(
    {State.SUBMITTED, State.VERIFIED, State.IN_REVIEW, State.AWAITING_REQUESTER, State.APPROVED, State.PROCESSING}
)
CLOSED_STATES = frozenset({State.COMPLETED, State.REFUSED, State.WITHDRAWN, State.EXPIRED, State.DUPLICATE})
# States in which the legal clock runs (it starts at verification and stops while awaiting the requester).
CLOCK_STATES = frozenset({State.VERIFIED, State.IN_REVIEW, State.APPROVED, State.PROCESSING})


class Channel(models.TextChoices):
    WEB = "web", _("Formulir portal")
    EMAIL = "email", _("E-mail")
    WHATSAPP = "whatsapp", _("WhatsApp")
    API = "api", _("API JUNOPOS")


class SubjectRole(models.TextChoices):
    OWNER = "owner", _("Pemilik merchant")
    STAFF = "staff", _("Staf atau kasir merchant")
    CUSTOMER = "customer", _("Pelanggan sebuah toko pengguna JUNOPOS")


class RefusalReason(models.TextChoices):
    THIRD_PARTY = "third_party", _("Data pihak lain yang bukan wewenang pemohon")
    LEGAL_HOLD = "legal_hold", _("Data dalam penahanan hukum")
    RETENTION_RULE = "retention_rule", _("Data wajib disimpan menurut peraturan")
    UNFOUNDED = "unfounded", _("Nyata-nyata tidak berdasar atau berulang")
    IDENTITY = "identity", _("Identitas tidak terbukti")
    EXEMPTION = "exemption", _("Pengecualian UU PDP Pasal 15")


class Unit(models.TextChoices):
    HOURS = "hours", _("jam")
    DAYS = "days", _("hari")
    MONTHS = "months", _("bulan kalender")


class DeadlineRule(models.Model):
    """How long the controller has to answer one right under one law. Data, editable with history."""

    right = models.CharField(_("hak"), max_length=16, choices=Right.choices)
    jurisdiction = models.CharField(_("yurisdiksi"), max_length=2, choices=Jurisdiction.choices)
    period = models.PositiveIntegerField(_("masa"))
    unit = models.CharField(_("satuan"), max_length=8, choices=Unit.choices)
    extension_period = models.PositiveIntegerField(_("masa perpanjangan"), default=0)
    extension_unit = models.CharField(_("satuan perpanjangan"), max_length=8, choices=Unit.choices, default=Unit.HOURS)
    legal_basis = models.TextField(_("dasar hukum"))
    notes = models.TextField(_("catatan"), blank=True)
    updated_at = models.DateTimeField(_("diubah"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("tenggat hukum")
        verbose_name_plural = pgettext_lazy("plural", "tenggat hukum")
        ordering = ["jurisdiction", "right"]
        constraints = [models.UniqueConstraint(fields=["right", "jurisdiction"], name="deadline_right_jurisdiction")]

    def __str__(self):
        return f"{self.get_right_display()} / {self.jurisdiction}: {self.period} {self.get_unit_display()}"


JAKARTA = ZoneInfo("Asia/Jakarta")
REFERENCE_PATTERN = re.compile(r"^\s*DSR-(\d{4})-(\d{1,12})\s*$", re.IGNORECASE)


def parse_reference(text: str) -> int | None:
    """The primary key a reference names (`DSR-2026-000123` -> 123), or None if it is not one."""
    match = REFERENCE_PATTERN.match(text or "")
    return int(match.group(2)) if match else None


class DataSubjectRequest(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # A random key carried by the form: a double submit or a browser retry makes one request.
    submission_key = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    right = models.CharField(_("hak"), max_length=16, choices=Right.choices)
    state = models.CharField(_("status"), max_length=24, choices=State.choices, default=State.SUBMITTED)
    channel = models.CharField(_("saluran"), max_length=16, choices=Channel.choices, default=Channel.WEB)
    jurisdiction = models.CharField(_("yurisdiksi"), max_length=2, choices=Jurisdiction.choices, default=Jurisdiction.ID)
    language = models.CharField(_("bahasa"), max_length=8, default="id")

    # Who the data subject is to JUNOPOS, and who asks.
    subject_role = models.CharField(_("hubungan dengan JUNOPOS"), max_length=16, choices=SubjectRole.choices)
    shop_name = models.CharField(_("nama toko"), max_length=200, blank=True)
    merchant = models.ForeignKey(
        Merchant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("merchant"),
    )
    requester_name = models.CharField(_("nama pemohon"), max_length=200)
    is_representative = models.BooleanField(_("diajukan oleh kuasa"), default=False)
    subject_name = models.CharField(_("nama pemilik data (jika diwakili)"), max_length=200, blank=True)
    email = models.EmailField(_("e-mail"), max_length=254, blank=True)
    # E.164, normalised at intake the data map's way.
    phone = models.CharField(_("telepon (E.164)"), max_length=64, blank=True)

    # What is asked.
    details = models.TextField(_("rincian permintaan"), blank=True)
    wrong_data = models.TextField(_("data yang salah"), blank=True)
    correct_data = models.TextField(_("data yang benar"), blank=True)
    reason = models.TextField(_("alasan"), blank=True)
    appeal_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="appeals",
        verbose_name=_("banding atas permintaan"),
    )
    # Withdrawal, restriction, objection: the purposes they name (the consent ledger's).
    purposes = models.ManyToManyField(
        "consent.Purpose", blank=True, related_name="+", verbose_name=_("tujuan pemrosesan"),
    )
    # Requests a merchant forwards through the API (OpenDSR): the client, the id it chose, where
    # to send signed status callbacks.
    api_client = models.ForeignKey(
        "consent.ApiClient", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("klien API"),
    )
    external_id = models.CharField(_("id permintaan dari pengirim"), max_length=100, blank=True)
    callback_url = models.URLField(_("URL callback status"), blank=True)
    # Requests entered by an officer (e-mail, WhatsApp): the message as received, and how identity was checked.
    original_message = models.TextField(_("pesan asli"), blank=True)
    identity_method = models.TextField(_("cara verifikasi identitas"), blank=True)

    # The officers' work.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("petugas"),
    )
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("disiapkan oleh"), help_text=_("Petugas yang mengusulkan persetujuan (prinsip empat mata)."),
    )
    refusal_reason = models.CharField(_("alasan penolakan"), max_length=24, choices=RefusalReason.choices, blank=True)
    refusal_text = models.TextField(_("penjelasan penolakan"), blank=True)
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="duplicates",
        verbose_name=_("duplikat dari"),
    )

    # The legal clock: starts at verification, stops while awaiting the requester, extended once.
    created_at = models.DateTimeField(_("diterima"), auto_now_add=True)
    verified_at = models.DateTimeField(_("diverifikasi"), null=True, blank=True)
    due_at = models.DateTimeField(_("tenggat"), null=True, blank=True)
    paused_at = models.DateTimeField(_("jam dihentikan"), null=True, blank=True)
    extended_at = models.DateTimeField(_("diperpanjang"), null=True, blank=True)
    extension_reason = models.TextField(_("alasan perpanjangan"), blank=True)
    closed_at = models.DateTimeField(_("ditutup"), null=True, blank=True)
    # Reminders sent to officers, each for the due time it was sent for (a new due time, a new reminder).
    reminded_24h_for = models.DateTimeField(null=True, blank=True, editable=False)
    reminded_6h_for = models.DateTimeField(null=True, blank=True, editable=False)

    # The head of this request's audit chain: its last event's number and hash.
    event_count = models.PositiveIntegerField(default=0, editable=False)
    head_hash = models.CharField(max_length=64, blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=["reminded_24h_for", "reminded_6h_for"])

    class Meta:
        verbose_name = _("permintaan subjek data")
        verbose_name_plural = pgettext_lazy("plural", "permintaan subjek data")
        ordering = ["due_at", "created_at"]
        permissions = [
            ("work_request", _("Menangani permintaan (menugaskan, bertanya, memperpanjang, menolak, menyetujui)")),
            ("approve_sensitive_request", _("Menyetujui penghapusan dan pembatasan (orang kedua)")),
            ("enter_request", _("Mencatat permintaan yang masuk lewat e-mail atau WhatsApp")),
            ("execute_request", _("Menjalankan permintaan yang disetujui")),
        ]
        indexes = [
            models.Index(fields=["state", "due_at"], name="request_state_due"),
            models.Index(fields=["due_at", "created_at"], name="request_queue_order"),
            models.Index(fields=["email"], name="request_email"),
            models.Index(fields=["phone"], name="request_phone"),
            models.Index(fields=["created_at"], name="request_created"),
            models.Index(fields=["state", "closed_at"], name="request_state_closed"),
            # The queue: open requests by due time, whatever the number of closed ones.
            models.Index(
                fields=["due_at", "created_at"], name="request_open_queue",
                condition=Q(state__in=["submitted", "verified", "in_review", "awaiting_requester", "approved", "processing"]),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(email="") | ~Q(phone=""), name="request_has_a_contact"),
            models.UniqueConstraint(
                fields=["api_client", "external_id"], condition=~Q(external_id=""), name="one_request_per_client_id"
            ),
        ]

    def __str__(self):
        return self.reference

    @property
    def reference(self) -> str:
        # The year in Jakarta: a request of 1 January 03:00 WIB is of the new year.
        year = timezone.localtime(self.created_at, JAKARTA).year if self.created_at else 0
        return f"DSR-{year}-{self.pk or 0:06d}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def needs_four_eyes(self) -> bool:
        return self.right in FOUR_EYES_RIGHTS


class RequestEvent(models.Model):
    """One step in a request's life: append-only, chained by hash (see requests_portal/audit.py).

    `note` and `told` may hold personal data and are erased with the request's records; the
    chain covers their keyed hashes (`note_digest`, `told_digest`), which survive the erasure.
    """

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField(_("nomor"))
    verb = models.SlugField(_("langkah"), max_length=32)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("pelaku"),
    )
    # Who acted when no user did: "requester" or "system".
    actor_kind = models.CharField(_("jenis pelaku"), max_length=16, default="user")
    from_state = models.CharField(_("dari"), max_length=24, blank=True)
    to_state = models.CharField(_("ke"), max_length=24, blank=True)
    note = models.TextField(_("catatan"), blank=True)
    told = models.TextField(_("yang disampaikan kepada pemohon"), blank=True)
    created_at = models.DateTimeField(_("waktu"))
    note_digest = models.CharField(max_length=64, blank=True)
    told_digest = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)
    anchor = models.ForeignKey(
        "AuditAnchor", on_delete=models.PROTECT, null=True, blank=True, related_name="events", db_index=False,
    )

    class Meta:
        verbose_name = _("peristiwa permintaan")
        verbose_name_plural = pgettext_lazy("plural", "peristiwa permintaan")
        ordering = ["request", "seq"]
        constraints = [models.UniqueConstraint(fields=["request", "seq"], name="event_request_seq")]
        indexes = [
            models.Index(fields=["anchor"], name="event_unanchored", condition=Q(anchor__isnull=True)),
            models.Index(fields=["anchor", "request", "seq"], name="event_anchor"),
        ]

    def __str__(self):
        return f"{self.request_id}#{self.seq} {self.verb}"


class AuditAnchor(models.Model):
    """A link of the global chain: the heads of every request chain that moved since the last one."""

    seq = models.PositiveIntegerField(unique=True)
    created_at = models.DateTimeField()
    event_count = models.PositiveIntegerField()
    digest = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("jangkar jejak audit")
        verbose_name_plural = pgettext_lazy("plural", "jangkar jejak audit")
        ordering = ["seq"]

    def __str__(self):
        return f"#{self.seq} ({self.event_count})"


class VerificationCode(models.Model):
    """A one-time code and link proving one address of a request. Only their keyed hashes are kept."""

    class Via(models.TextChoices):
        EMAIL = "email", _("e-mail")
        SMS = "sms", _("SMS")
        WHATSAPP = "whatsapp", _("WhatsApp")

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.CASCADE, related_name="codes")
    via = models.CharField(max_length=16, choices=Via.choices)
    address = models.CharField(max_length=254)
    code_hash = models.CharField(max_length=64)
    link_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    send_count = models.PositiveSmallIntegerField(default=1)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("kode verifikasi")
        verbose_name_plural = pgettext_lazy("plural", "kode verifikasi")
        constraints = [models.UniqueConstraint(fields=["request", "via"], name="code_request_via")]

    def __str__(self):
        return f"{self.request_id} {self.via}"


class RequestAttachment(models.Model):
    """A file a requester sent: a representative's letter, or a document with an answer.

    Kept in the database, not in the media folder: never public, backed up and erased with the
    request's other records by the same engine, and no file is ever orphaned on disk.
    """

    class Kind(models.TextChoices):
        AUTHORISATION = "authorisation", _("Surat kuasa")
        ANSWER = "answer", _("Lampiran jawaban")

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.CASCADE, related_name="attachments")
    event = models.ForeignKey(RequestEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    filename = models.CharField(_("nama berkas"), max_length=200)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    content = models.BinaryField()
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("lampiran")
        verbose_name_plural = pgettext_lazy("plural", "lampiran")

    def __str__(self):
        return self.filename


class RequestMessage(models.Model):
    """Which outbox messages a request sent (to the requester or about it to officers)."""

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.CASCADE, related_name="message_links")
    message = models.OneToOneField(OutboundMessage, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("pesan permintaan")
        verbose_name_plural = pgettext_lazy("plural", "pesan permintaan")

    def __str__(self):
        return f"{self.request_id} -> {self.message_id}"


class StatusCallback(models.Model):
    """One signed status callback to the system that forwarded a request through the API (OpenDSR).

    Written in the transaction of the state change it reports, sent by a task after commit
    (`requests_portal.services.api`): a receiver that is down never holds up the workflow, and
    officers see here what was sent, when, and why a callback failed (never the answer's body).
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("menunggu dikirim")
        SENDING = "sending", _("sedang dikirim")
        SENT = "sent", _("terkirim")
        FAILED = "failed", _("gagal")

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.CASCADE, related_name="status_callbacks")
    url = models.URLField(_("URL"), max_length=500)
    payload = models.JSONField(_("isi"), default=dict)
    state = models.CharField(_("status"), max_length=16, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("percobaan"), default=0)
    last_error = models.TextField(_("galat terakhir"), blank=True)
    # While SENDING: until when the sending worker holds it; while QUEUED after a failure: when it failed.
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)
    sent_at = models.DateTimeField(_("terkirim"), null=True, blank=True)

    class Meta:
        verbose_name = _("callback status")
        verbose_name_plural = pgettext_lazy("plural", "callback status")
        ordering = ["request", "created_at"]
        indexes = [models.Index(fields=["state", "lease_until"], name="callback_state_lease")]

    def __str__(self):
        return f"{self.request_id} {self.payload.get('request_status', '')} ({self.get_state_display()})"


class CorrectionItem(models.Model):
    """One field a correction request asks to change: what it held when proposed, what it should
    hold (already normalised the services' way), the officer's decision and when it was applied.

    The values are the requester's personal data: `requests_portal/datamap.py` erases them with her
    other request records. Values are kept as text, the way `Field.value_to_string` writes them
    (a date as ISO, a foreign key as its id), so that the apply can compare them with the row's
    value of the moment.
    """

    class Decision(models.TextChoices):
        PENDING = "pending", _("menunggu keputusan")
        ACCEPTED = "accepted", _("diterima")
        REJECTED = "rejected", _("ditolak")

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.PROTECT, related_name="correction_items")
    app_label = models.CharField(max_length=100)
    model_name = models.CharField(max_length=100)
    row_pk = models.BigIntegerField()
    field_name = models.CharField(_("kolom"), max_length=100)
    current_value = models.TextField(_("nilai saat diusulkan"), blank=True)
    proposed_value = models.TextField(_("nilai yang diusulkan"), blank=True)
    decision = models.CharField(_("keputusan"), max_length=16, choices=Decision.choices, default=Decision.PENDING)
    reason = models.TextField(_("alasan"), blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
    )
    proposed_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("butir perbaikan")
        verbose_name_plural = pgettext_lazy("plural", "butir perbaikan")
        ordering = ["request", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "app_label", "model_name", "row_pk", "field_name"], name="correction_item_once",
            ),
            models.CheckConstraint(condition=~Q(decision="rejected") | ~Q(reason=""), name="correction_rejected_has_reason"),
        ]

    def __str__(self):
        return f"{self.request_id}: {self.model_label}#{self.row_pk}.{self.field_name}"

    @property
    def model_label(self) -> str:
        return f"{self.app_label}.{self.model_name}"


class AccessPackage(models.Model):
    """One ZIP of an access or portability request, written under PRIVATE_MEDIA_DIR (never public
    media) and served only through its signed link: until `expires_at`, at most MAX_DOWNLOADS
    times. The row outlives its file (`deleted_at`): the proof that a copy was given, and when."""

    MAX_DOWNLOADS = 5
    LIFETIME_DAYS = 7

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.PROTECT, related_name="access_packages")
    path = models.CharField(_("berkas"), max_length=200)  # relative to PRIVATE_MEDIA_DIR
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField(_("ukuran (byte)"))
    created_at = models.DateTimeField(_("dibuat"))
    expires_at = models.DateTimeField(_("tautan berlaku sampai"))
    downloads = models.PositiveSmallIntegerField(_("diunduh"), default=0)
    deleted_at = models.DateTimeField(_("berkas dihapus"), null=True, blank=True)

    class Meta:
        verbose_name = _("paket data")
        verbose_name_plural = pgettext_lazy("plural", "paket data")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["expires_at"], name="access_package_live", condition=Q(deleted_at__isnull=True)),
        ]

    def __str__(self):
        return f"{self.request_id}: {self.path}"


class AccessDownload(models.Model):
    """One download of an access package: when, and from which address."""

    package = models.ForeignKey(AccessPackage, on_delete=models.CASCADE, related_name="download_rows")
    at = models.DateTimeField(_("waktu"))
    ip = models.GenericIPAddressField(_("alamat IP"), null=True, blank=True)

    class Meta:
        verbose_name = _("unduhan paket data")
        verbose_name_plural = pgettext_lazy("plural", "unduhan paket data")
        ordering = ["package", "at"]

    def __str__(self):
        return f"{self.package_id} @ {self.at:%Y-%m-%d %H:%M}"


class RequestExecution(models.Model):
    """The carrying out of one approved request: which step it reached, each step's outcome.

    One row per request (`requests_portal.services.execution`). `steps` holds, per step name, its
    state (done, skipped, failed), when, the error named (its kind and first line, never a row's
    content) and what the step produced: run ids, counts per table, the summary message's id, the
    merchants closed. Names no one: the requester is reached through the request.
    """

    class Mode(models.TextChoices):
        ERASURE = "erasure", _("penghapusan subjek data")
        CLOSURE = "closure", _("penutupan akun merchant")
        ACCESS = "access", _("paket data (akses)")
        PORTABILITY = "portability", _("paket data (portabilitas)")
        CONSENT = "consent", _("catatan di buku persetujuan (penarikan, pembatasan, keberatan)")

    class State(models.TextChoices):
        RUNNING = "running", _("berjalan")
        FAILED = "failed", _("gagal")
        COMPLETED = "completed", _("selesai")

    request = models.OneToOneField(DataSubjectRequest, on_delete=models.PROTECT, related_name="execution")
    mode = models.CharField(_("jenis"), max_length=16, choices=Mode.choices)
    state = models.CharField(_("status"), max_length=16, choices=State.choices, default=State.RUNNING)
    step = models.CharField(_("langkah"), max_length=32, blank=True)
    steps = models.JSONField(_("langkah-langkah"), default=dict, blank=True)
    error = models.TextField(_("galat"), blank=True)
    attempts = models.PositiveIntegerField(_("percobaan"), default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
    )
    # The worker carrying it out: a token and a lease (a dead worker's lease runs out).
    claimed_by = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(_("mulai"), auto_now_add=True)
    finished_at = models.DateTimeField(_("selesai"), null=True, blank=True)

    class Meta:
        verbose_name = _("pelaksanaan permintaan")
        verbose_name_plural = pgettext_lazy("plural", "pelaksanaan permintaan")
        indexes = [models.Index(fields=["state", "lease_until"], name="execution_state_lease")]

    def __str__(self):
        return f"{self.request_id} {self.step} ({self.get_state_display()})"
