"""Purposes, policy versions, the consent ledger and its state, recipients and disclosures, and
the clients of the JUNOPOS API.

Safety design of the ledger
- `ConsentEvent` is append-only. The application only inserts (consent.services.ledger); the
  database refuses the rest (migration 0002): no DELETE, no TRUNCATE, and an UPDATE only when it
  changes nothing but the subject's identifiers and evidence, replacing them with keyed hashes or
  emptying them. That one UPDATE is the erasure engine's pseudonymisation, through the erasure
  hook consent/datamap.py registers; on PostgreSQL it must also say so in its transaction
  (`SET LOCAL juno.ledger_erasure = 'on'`). After it, the ledger still proves that consent was
  given or withdrawn, when, for what and under which policy, for whoever knows the address.
- `ConsentState` is the ledger's present: one row per subject identifier, merchant and purpose,
  written in the transaction of the event that changes it, so "may we?" is one indexed lookup at
  any ledger size. The latest event by the time it happened (`occurred_at`, then id) decides: a
  till that reports late never overrides a newer choice. `manage.py consent_rebuild` replays the
  ledger and reports (or mends) any difference.
- A subject is a normalised e-mail and/or E.164 phone, within a merchant for that merchant's
  customers (None for JUNOPOS's own purposes). An event naming both writes both state rows.
- Proof outlives the merchant: every reference from consent to a merchant (ledger, state,
  disclosures, acceptances, notices) is a foreign key without a database constraint, so the end
  of a purged merchant's tombstone (retention/services/tombstone.py) deletes the merchant row
  while the proof keeps its id; consent never blocks it.
"""

from __future__ import annotations

import hashlib
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from merchants.models import Merchant


class LegalBasis(models.TextChoices):
    CONTRACT = "contract", _("Pelaksanaan perjanjian")
    LEGAL_OBLIGATION = "legal_obligation", _("Kewajiban hukum")
    LEGITIMATE_INTEREST = "legitimate_interest", _("Kepentingan yang sah")
    CONSENT = "consent", _("Persetujuan")


class Channel(models.TextChoices):
    PORTAL = "portal", _("Portal privasi")
    TILL = "till", _("Kasir JUNOPOS")
    APP = "app", _("Aplikasi JUNOPOS")
    ADMIN = "admin", _("Admin (petugas)")
    IMPORT = "import", _("Impor")
    API = "api", _("API")


class Action(models.TextChoices):
    GIVEN = "given", _("diberikan")
    WITHDRAWN = "withdrawn", _("ditarik")
    # A restriction (UU PDP Pasal 11) stops processing for the purposes it names until lifted.
    RESTRICTED = "restricted", _("dibatasi")
    UNRESTRICTED = "unrestricted", _("pembatasan dicabut")


class Purpose(models.Model):
    """One of the ten uses the policy lists, seeded by migration 0003."""

    key = models.SlugField(_("kunci"), max_length=40, unique=True)
    number = models.PositiveSmallIntegerField(_("nomor dalam kebijakan"), unique=True)
    basis = models.CharField(_("dasar hukum"), max_length=24, choices=LegalBasis.choices)
    name_id = models.CharField(_("nama (Indonesia)"), max_length=200)
    name_en = models.CharField(_("nama (Inggris)"), max_length=200)
    description_id = models.TextField(_("penjelasan (Indonesia)"))
    description_en = models.TextField(_("penjelasan (Inggris)"))
    # retention.registry.Category values: what the purpose uses.
    categories = models.JSONField(_("kategori data"), default=list)
    # Marketing purposes: what the one-click unsubscribe of a marketing e-mail withdraws.
    marketing = models.BooleanField(_("pemasaran"), default=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("tujuan pemrosesan")
        verbose_name_plural = pgettext_lazy("plural", "tujuan pemrosesan")
        ordering = ["number"]

    def __str__(self):
        return f"{self.number}. {self.name_id}"

    def name(self, language: str = "id") -> str:
        return self.name_en if language.startswith("en") else self.name_id

    def description(self, language: str = "id") -> str:
        return self.description_en if language.startswith("en") else self.description_id

    @property
    def needs_consent(self) -> bool:
        return self.basis == LegalBasis.CONSENT


def content_hash(text_id: str, text_en: str) -> str:
    """SHA-256 of both texts, as published (what a merchant accepted, provably)."""
    digest = hashlib.sha256()
    for text in (text_id, text_en):
        data = text.replace("\r\n", "\n").encode()
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


class PolicyVersion(models.Model):
    """A version of the privacy policy. Once published its texts never change (the hash proves it)."""

    version = models.CharField(_("versi"), max_length=20, unique=True)
    text_id = models.TextField(_("teks (Indonesia)"))
    text_en = models.TextField(_("teks (Inggris)"))
    summary_id = models.TextField(_("ringkasan perubahan (Indonesia)"), blank=True)
    summary_en = models.TextField(_("ringkasan perubahan (Inggris)"), blank=True)
    content_hash = models.CharField(_("hash isi (SHA-256)"), max_length=64, blank=True)
    effective_at = models.DateTimeField(_("berlaku sejak"))
    published_at = models.DateTimeField(_("diterbitkan"), null=True, blank=True, db_index=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("diterbitkan oleh"),
    )
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("versi kebijakan privasi")
        verbose_name_plural = pgettext_lazy("plural", "versi kebijakan privasi")
        ordering = ["-effective_at", "-id"]
        permissions = [("publish_policyversion", _("Dapat menerbitkan versi kebijakan privasi"))]

    def __str__(self):
        return self.version

    def text(self, language: str = "id") -> str:
        return self.text_en if language.startswith("en") else self.text_id

    def summary(self, language: str = "id") -> str:
        return self.summary_en if language.startswith("en") else self.summary_id

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def hash_matches(self) -> bool:
        return self.content_hash == content_hash(self.text_id, self.text_en)


class PolicyAcceptance(models.Model):
    """A merchant accepted a version by continued use (reported by JUNOPOS), once per version."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", verbose_name=_("merchant"),
    )
    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="acceptances")
    accepted_at = models.DateTimeField(_("diterima"))
    channel = models.CharField(_("saluran"), max_length=16, choices=Channel.choices, default=Channel.API)
    client = models.ForeignKey("ApiClient", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField(_("dicatat"), auto_now_add=True)

    class Meta:
        verbose_name = _("penerimaan kebijakan")
        verbose_name_plural = pgettext_lazy("plural", "penerimaan kebijakan")
        constraints = [models.UniqueConstraint(fields=["merchant", "version"], name="one_acceptance_per_version")]


class PolicyNotice(models.Model):
    """The run record of one version's notice to every active merchant (a fan-out in batches).

    Worked by the one worker holding its claim (token and lease, as retention's runs); each batch
    queues its messages and records a `PolicyNoticeDelivery` per merchant and the cursor in one
    transaction, so a killed worker loses only its batch in flight, and a merchant with a delivery
    row is never sent the notice again.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("menunggu")
        RUNNING = "running", _("berjalan")
        COMPLETED = "completed", _("selesai")
        FAILED = "failed", _("gagal")

    version = models.OneToOneField(PolicyVersion, on_delete=models.PROTECT, related_name="notice")
    state = models.CharField(_("status"), max_length=16, choices=State.choices, default=State.PENDING)
    merchants_total = models.PositiveIntegerField(_("merchant aktif"), default=0)
    merchants_done = models.PositiveIntegerField(_("sudah diberi tahu"), default=0)
    merchants_skipped = models.PositiveIntegerField(_("dilewati (tanpa e-mail)"), default=0)
    last_merchant_id = models.BigIntegerField(_("merchant terakhir"), default=0)
    attempts = models.PositiveIntegerField(_("percobaan"), default=0)
    claimed_by = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)
    started_at = models.DateTimeField(_("mulai"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("terakhir aktif"), null=True, blank=True)
    finished_at = models.DateTimeField(_("selesai"), null=True, blank=True)
    error = models.TextField(_("galat"), blank=True)

    class Meta:
        verbose_name = _("pemberitahuan kebijakan")
        verbose_name_plural = pgettext_lazy("plural", "pemberitahuan kebijakan")
        ordering = ["-created_at"]


class PolicyNoticeDelivery(models.Model):
    """The notice of one version queued for one merchant: at most once (the constraint)."""

    notice = models.ForeignKey(PolicyNotice, on_delete=models.PROTECT, related_name="deliveries")
    merchant = models.ForeignKey(Merchant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", db_index=False)
    message = models.ForeignKey(
        "messaging.OutboundMessage", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("pemberitahuan kepada merchant")
        verbose_name_plural = pgettext_lazy("plural", "pemberitahuan kepada merchant")
        constraints = [models.UniqueConstraint(fields=["merchant", "notice"], name="one_notice_per_merchant")]


class ApiClient(models.Model):
    """A JUNOPOS system that calls the API: its token (only a hash kept), scopes and merchants."""

    class Scope(models.TextChoices):
        CONSENT_READ = "consent:read", _("cek persetujuan")
        CONSENT_WRITE = "consent:write", _("catat persetujuan")
        DISCLOSURE_WRITE = "disclosure:write", _("catat pengungkapan")
        MERCHANT_WRITE = "merchant:write", _("laporkan berhenti/aktif kembali")
        POLICY_WRITE = "policy:write", _("laporkan penerimaan kebijakan")
        REQUEST_WRITE = "request:write", _("ajukan permintaan subjek data")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("nama"), max_length=200)
    # The first characters of the token, shown to tell tokens apart; the token itself is never kept.
    token_prefix = models.CharField(_("awal token"), max_length=16, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("cakupan"), default=list, blank=True)
    all_merchants = models.BooleanField(_("semua merchant"), default=False)
    merchants = models.ManyToManyField(Merchant, blank=True, related_name="+", verbose_name=_("merchant"))
    callback_url = models.URLField(_("URL callback status"), blank=True)
    rate_limit = models.PositiveIntegerField(_("batas permintaan per menit"), default=6000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("dicabut"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(_("terakhir dipakai"), null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["last_used_at"])

    class Meta:
        verbose_name = _("klien API")
        verbose_name_plural = pgettext_lazy("plural", "klien API")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyKey(models.Model):
    """A call made with an `Idempotency-Key`: its answer, returned again to a retry of it.

    Kept a day (consent.services.idempotency_keys_expire). The subject of the call is kept beside
    it so that a subject's erasure deletes the stored answer too (consent/datamap.py).
    """

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=128)
    endpoint = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField(default=dict)
    subject_email = models.CharField(max_length=254, blank=True)
    subject_phone = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("kunci idempotensi")
        verbose_name_plural = pgettext_lazy("plural", "kunci idempotensi")
        constraints = [models.UniqueConstraint(fields=["client", "key"], name="one_answer_per_idempotency_key")]


class ConsentEvent(models.Model):
    """One row of the append-only ledger (see the module's safety design)."""

    merchant = models.ForeignKey(
        Merchant, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True, related_name="+",
        verbose_name=_("merchant"), db_index=False,
    )
    # Normalised when written; a keyed hash (h$...) after an erasure.
    email = models.CharField(_("e-mail"), max_length=254, blank=True)
    phone = models.CharField(_("telepon (E.164)"), max_length=64, blank=True)
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="+", verbose_name=_("tujuan"))
    action = models.CharField(_("tindakan"), max_length=16, choices=Action.choices)
    policy_version = models.ForeignKey(
        PolicyVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("versi kebijakan"),
    )
    channel = models.CharField(_("saluran"), max_length=16, choices=Channel.choices)
    # Evidence: when the person chose (at the till, maybe offline, earlier than recorded), from
    # where, what they were shown, and who entered it.
    occurred_at = models.DateTimeField(_("waktu kejadian"))
    recorded_at = models.DateTimeField(_("dicatat"), auto_now_add=True)
    ip_address = models.GenericIPAddressField(_("alamat IP"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=400, blank=True)
    text_shown = models.TextField(_("teks yang ditampilkan"), blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("dicatat oleh"),
    )
    client = models.ForeignKey(
        ApiClient, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("klien API")
    )
    # What the event came from: a request's reference (DSR-2026-000123), a till's receipt...
    reference = models.CharField(_("rujukan"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("peristiwa persetujuan")
        verbose_name_plural = pgettext_lazy("plural", "peristiwa persetujuan")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["email"], name="consent_event_email", condition=~Q(email="")),
            models.Index(fields=["phone"], name="consent_event_phone", condition=~Q(phone="")),
            models.Index(fields=["merchant", "id"], name="consent_event_merchant"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(email="") | ~Q(phone=""), name="consent_event_has_a_subject"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.purpose_id} {self.action}"

    @property
    def identifiers(self) -> list[str]:
        return [value for value in (self.email, self.phone) if value]


class ConsentState(models.Model):
    """The present of the ledger for one identifier, merchant and purpose."""

    identifier = models.CharField(max_length=254)
    merchant = models.ForeignKey(
        Merchant, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True, related_name="+", db_index=False,
    )
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="+")
    # None: never asked (or asked only about a restriction).
    consented = models.BooleanField(null=True)
    consent_event = models.ForeignKey(ConsentEvent, on_delete=models.PROTECT, null=True, related_name="+")
    consent_at = models.DateTimeField(null=True)
    restricted = models.BooleanField(default=False)
    restriction_event = models.ForeignKey(ConsentEvent, on_delete=models.PROTECT, null=True, related_name="+")
    restriction_at = models.DateTimeField(null=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("status persetujuan")
        verbose_name_plural = pgettext_lazy("plural", "status persetujuan")
        constraints = [
            models.UniqueConstraint(
                "identifier", "purpose", Coalesce("merchant", 0), name="one_state_per_subject_purpose"
            ),
        ]


class Recipient(models.Model):
    """A third party that may receive personal data (the register the policy's disclosures name)."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", _("Mitra pembayaran")
        DELIVERY = "delivery", _("Mitra pengiriman")
        KYC = "kyc", _("Penyedia KYC")
        AFFILIATE = "affiliate", _("Afiliasi / mitra usaha")
        STORAGE = "storage", _("Penyedia penyimpanan data")
        LAW_ENFORCEMENT = "law_enforcement", _("Penegak hukum")

    name = models.CharField(_("nama"), max_length=200, unique=True)
    kind = models.CharField(_("jenis"), max_length=20, choices=Kind.choices)
    country = models.CharField(_("negara (ISO 3166)"), max_length=2, default="ID")
    categories = models.JSONField(_("kategori data yang diterima"), default=list)
    purposes = models.ManyToManyField(Purpose, related_name="recipients", verbose_name=_("tujuan"))
    erasure_contact = models.EmailField(_("kontak untuk pemberitahuan penghapusan"))
    description = models.TextField(_("keterangan"), blank=True)
    active = models.BooleanField(_("aktif"), default=True)
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)
    history = HistoricalRecords(m2m_fields=[purposes])

    class Meta:
        verbose_name = _("penerima data")
        verbose_name_plural = pgettext_lazy("plural", "penerima data")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def abroad(self) -> bool:
        return self.country.upper() != "ID"


class Disclosure(models.Model):
    """One disclosure to a recipient, allowed or refused, with the reason (the register)."""

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", _("diizinkan")
        REFUSED = "refused", _("ditolak")

    class Refusal(models.TextChoices):
        RECIPIENT_INACTIVE = "recipient_inactive", _("Penerima tidak aktif dalam register.")
        PURPOSE_NOT_REGISTERED = "purpose_not_registered", _("Penerima tidak terdaftar untuk tujuan ini.")
        CATEGORY_NOT_REGISTERED = "category_not_registered", _("Penerima tidak terdaftar untuk kategori data ini.")
        CATEGORY_NOT_IN_PURPOSE = "category_not_in_purpose", _("Tujuan ini tidak menggunakan kategori data ini.")
        NO_CONSENT = "no_consent", _("Subjek data belum memberikan persetujuan untuk tujuan ini.")
        CONSENT_WITHDRAWN = "consent_withdrawn", _("Subjek data telah menarik persetujuannya untuk tujuan ini.")
        OBJECTED = "objected", _("Subjek data keberatan atas pemrosesan untuk tujuan ini.")
        RESTRICTED = "restricted", _("Pemrosesan untuk tujuan ini sedang dibatasi atas permintaan subjek data.")

    recipient = models.ForeignKey(Recipient, on_delete=models.PROTECT, related_name="disclosures")
    merchant = models.ForeignKey(
        Merchant, on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True, related_name="+",
        db_index=False
    )
    email = models.CharField(_("e-mail subjek"), max_length=254, blank=True)
    phone = models.CharField(_("telepon subjek"), max_length=64, blank=True)
    categories = models.JSONField(_("kategori data"), default=list)
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="+")
    basis = models.CharField(_("dasar hukum"), max_length=24, choices=LegalBasis.choices)
    transfer_abroad = models.BooleanField(_("transfer ke luar negeri"), default=False)
    occurred_at = models.DateTimeField(_("waktu pengungkapan"))
    recorded_at = models.DateTimeField(_("dicatat"), auto_now_add=True)
    outcome = models.CharField(_("hasil"), max_length=10, choices=Outcome.choices)
    refusal = models.CharField(_("alasan penolakan"), max_length=32, choices=Refusal.choices, blank=True)
    client = models.ForeignKey(ApiClient, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reference = models.CharField(_("rujukan"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("pengungkapan data")
        verbose_name_plural = pgettext_lazy("plural", "pengungkapan data")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["email"], name="disclosure_email", condition=~Q(email="")),
            models.Index(fields=["phone"], name="disclosure_phone", condition=~Q(phone="")),
            models.Index(fields=["merchant", "id"], name="disclosure_merchant"),
            models.Index(fields=["recipient", "-occurred_at"], name="disclosure_recipient_time"),
        ]

    def __str__(self):
        return f"{self.recipient} {self.get_outcome_display()} #{self.pk}"


class ErasureNotice(models.Model):
    """The notice to one recipient that a data subject whose data it received has been erased.

    One per recipient and reference (the request or run that asked for the erasure), planned by
    consent.services.erasure_notices_plan before the erasure, while the disclosure register still
    names her; tracked here until an officer records the recipient's confirmation.

    Who it was, and what is kept of it:
    - The notice names the subject only by the keyed hashes of her normalised e-mail and phone
      (retention.pseudonyms): it is proof that the recipient was told, and it outlives her
      erasure, so it must not undo it. Her dossier finds it by the same hashes.
    - The e-mail to the recipient does name her address (and phone) in clear: the recipient
      must find her in its own records, and it holds that address already (we disclosed it);
      a hash it cannot compute would tell it nothing. That text is composed when the notice is
      planned (the only moment the address is in hand) and lives only in the outbox row
      (messaging, declared in the data map), never in a task's arguments or here; once the
      outbox has settled the message (sent, refused or out of tries), the notice's task empties
      its body, so her address is kept no longer than it takes to deliver it. The proof that
      remains is this row (recipient, reference, categories, when) and the message's own
      delivery record (to the recipient's contact, when, how).

    States: queued (the e-mail is in the outbox) -> sent (the outbox sent it) -> acknowledged
    (the recipient confirmed, recorded by an officer with a note); or failed (the outbox could
    not deliver it, or the recipient has no usable contact): an officer then reaches the
    recipient another way and records its confirmation all the same.
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("menunggu dikirim")
        SENT = "sent", _("terkirim, menunggu konfirmasi")
        ACKNOWLEDGED = "acknowledged", _("dikonfirmasi penerima")
        FAILED = "failed", _("gagal dikirim")

    recipient = models.ForeignKey(
        Recipient, on_delete=models.PROTECT, related_name="erasure_notices", verbose_name=_("penerima"),
    )
    # Keyed hashes (h$...) of the subject's normalised identifiers; never the identifiers.
    email_hash = models.CharField(_("hash berkunci e-mail subjek"), max_length=64, blank=True)
    phone_hash = models.CharField(_("hash berkunci telepon subjek"), max_length=64, blank=True)
    reference = models.CharField(_("rujukan"), max_length=64)
    categories = models.JSONField(_("kategori data yang diungkapkan"), default=list)
    disclosures = models.PositiveIntegerField(_("jumlah pengungkapan"), default=0)
    last_disclosed_at = models.DateTimeField(_("pengungkapan terakhir"), null=True, blank=True)
    language = models.CharField(_("bahasa"), max_length=8, default="id")
    state = models.CharField(_("status"), max_length=16, choices=State.choices, default=State.QUEUED, db_index=True)
    message = models.ForeignKey(
        "messaging.OutboundMessage", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("pesan keluar"),
    )
    error = models.TextField(_("galat"), blank=True)
    created_at = models.DateTimeField(_("dibuat"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("direncanakan oleh"),
    )
    sent_at = models.DateTimeField(_("terkirim"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("dikonfirmasi"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("dicatat oleh"),
    )
    acknowledgement_note = models.TextField(_("catatan konfirmasi"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("pemberitahuan penghapusan")
        verbose_name_plural = pgettext_lazy("plural", "pemberitahuan penghapusan")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["email_hash"], name="erasure_notice_email", condition=~Q(email_hash="")),
            models.Index(fields=["phone_hash"], name="erasure_notice_phone", condition=~Q(phone_hash="")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "reference"], name="one_erasure_notice_per_recipient"),
            models.CheckConstraint(
                condition=~Q(email_hash="") | ~Q(phone_hash=""), name="erasure_notice_has_a_subject",
            ),
        ]

    def __str__(self):
        return f"{self.recipient} · {self.reference}"
