"""The public forms: a request of each right, and the steps of the status page.

Forms check the shape of what was typed (present, long enough, a file of the right kind) and
hand the services clean values; the rules of a request (an address at least, the shop of a
customer, the letter of a representative...) are the services' (`request_validate`), whose
errors the view puts back on these fields. Files are read into memory, never more than the
limit plus one byte (requests_portal/uploads.py caps what the request even keeps).
"""

from __future__ import annotations

import secrets

from django import forms
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from consent.models import Purpose

from merchants.identifiers import normalize_email, normalize_phone

from .models import Right, SubjectRole
from .services import Upload, attachment_check, request_validate
from .services.intake import MAX_ATTACHMENT_BYTES
from .services.workflow import LEDGER_RIGHTS, purpose_bases_for

SUBMISSION_SALT = "requests_portal.submission"
# A form left open longer than this is sent again with a new key (the page says so).
SUBMISSION_KEY_MAX_AGE = 2 * 24 * 3600
# The honeypot: hidden by the stylesheet, labelled "leave empty" for screen readers.
HONEYPOT_FIELD = "website"
PHONE_CHANNEL_NAMES = {"sms": "SMS", "whatsapp": "WhatsApp"}
ACCEPTED_FILES = ".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"

# What the free text of each right asks for (label, hint).
DETAILS_TEXT = {
    Right.ACCESS: (
        _("Data apa yang ingin Anda lihat?"),
        _("Mis. semua data tentang Anda, atau hanya riwayat belanja di satu toko."),
    ),
    Right.PORTABILITY: (
        _("Data apa yang ingin Anda terima?"),
        _("Mis. riwayat transaksi dan data kartu loyalitas, dalam berkas yang dapat dibaca mesin."),
    ),
    Right.CORRECTION: (_("Keterangan lain"), _("Apa pun yang membantu kami menemukan data tersebut.")),
    Right.DELETION: (
        _("Data apa yang ingin dihapus?"),
        _("Tanpa keterangan, kami menghapus semua data pribadi Anda yang tidak wajib disimpan menurut undang-undang."),
    ),
    Right.WITHDRAWAL: (
        _("Persetujuan mana yang ingin Anda tarik?"),
        _("Mis. promosi lewat WhatsApp, atau pemberian data Anda kepada mitra."),
    ),
    Right.RESTRICTION: (
        _("Pemrosesan mana yang ingin ditunda atau dibatasi?"),
        _("Mis. penggunaan data Anda untuk promosi, sampai data Anda diperbaiki."),
    ),
    Right.OBJECTION: (
        _("Anda keberatan atas keputusan otomatis yang mana?"),
        _("Ceritakan keputusannya, kapan terjadi, dan apa dampaknya bagi Anda."),
    ),
    Right.APPEAL: (
        _("Mengapa Anda tidak setuju dengan penolakan itu?"),
        _("Tuliskan alasan Anda; lampirkan bukti lewat halaman status setelah permintaan terkirim bila perlu."),
    ),
}


def new_submission_key() -> str:
    """A random key for one filled-in form, signed so that only this site's forms carry one."""
    return signing.dumps(secrets.token_urlsafe(24), salt=SUBMISSION_SALT)


def read_submission_key(signed: str) -> str | None:
    try:
        key = signing.loads(signed or "", salt=SUBMISSION_SALT, max_age=SUBMISSION_KEY_MAX_AGE)
    except signing.BadSignature:
        return None
    return key if isinstance(key, str) and 0 < len(key) <= 64 else None


def read_upload(uploaded) -> Upload | None:
    """The upload as the services take it: at most the limit plus one byte, checked by its content."""
    if not uploaded:
        return None
    upload = Upload(filename=uploaded.name or "", content=uploaded.read(MAX_ATTACHMENT_BYTES + 1))
    attachment_check(upload)  # ValidationError: too large, empty, not a PDF, PNG or JPEG
    return upload


class PurposesField(forms.ModelMultipleChoiceField):
    """The purposes a request names, each labelled in the visitor's language."""

    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj):
        return obj.name(translation.get_language() or "id")


# What the purposes question asks, per right (label, hint).
PURPOSES_TEXT = {
    Right.WITHDRAWAL: (
        _("Untuk tujuan mana Anda menarik persetujuan atau menyatakan keberatan?"),
        _("Pilih satu atau lebih. Tujuan yang diwajibkan undang-undang atau perlu untuk transaksi tidak dapat ditarik."),
    ),
    Right.RESTRICTION: (
        _("Pemrosesan untuk tujuan mana yang ingin dibatasi?"),
        _("Pilih satu atau lebih. Pemrosesan yang diwajibkan undang-undang tetap berjalan."),
    ),
    Right.OBJECTION: (
        _("Anda keberatan atas pemrosesan untuk tujuan mana?"),
        _("Pilih satu atau lebih tujuan yang kami jalankan atas dasar kepentingan yang sah."),
    ),
}


class TextArea(forms.Textarea):
    def __init__(self, rows=3):
        super().__init__(attrs={"rows": rows})


class RequestForm(forms.Form):
    """One right's request. Which fields it has depends on the right."""

    subject_role = forms.ChoiceField(
        label=_("Apa hubungan Anda dengan JUNOPOS?"), choices=SubjectRole.choices, widget=forms.RadioSelect,
        help_text=_("Jika Anda mengajukan atas nama orang lain, pilih hubungan orang itu dengan JUNOPOS."),
        error_messages={"required": _("Pilih hubungan Anda dengan JUNOPOS.")},
    )
    shop_name = forms.CharField(
        label=_("Nama toko"), required=False, max_length=200,
        help_text=_("Wajib bagi pelanggan: toko tempat Anda berbelanja atau menerima struk. Pemilik dan staf: nama usaha Anda."),
    )
    is_representative = forms.BooleanField(
        label=_("Saya mengajukan atas nama orang lain, sebagai kuasanya"), required=False,
    )
    subject_name = forms.CharField(label=_("Nama orang yang Anda wakili"), required=False, max_length=200)
    authorisation = forms.FileField(
        label=_("Surat kuasa yang ditandatangani"), required=False,
        help_text=_("PDF, PNG atau JPEG, paling besar 5 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED_FILES}),
    )
    requester_name = forms.CharField(
        label=_("Nama lengkap Anda"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": _("Tulis nama lengkap Anda.")},
    )
    email = forms.CharField(
        label=_("E-mail"), required=False, max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
    )
    phone = forms.CharField(
        label=_("Nomor ponsel"), required=False, max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", "type": "tel"}),
    )
    wrong_data = forms.CharField(
        label=_("Data mana yang salah?"), max_length=4000, widget=TextArea(),
        help_text=_("Mis. nama Anda di struk digital, atau nomor ponsel di kartu loyalitas."),
        error_messages={"required": _("Sebutkan data mana yang salah.")},
    )
    correct_data = forms.CharField(
        label=_("Seharusnya bagaimana?"), max_length=4000, widget=TextArea(),
        error_messages={"required": _("Sebutkan data yang benar.")},
    )
    reason = forms.CharField(
        label=_("Alasan Anda"), required=False, max_length=4000, widget=TextArea(),
        help_text=_("Membantu kami menanganinya lebih cepat."),
    )
    appeal_reference = forms.CharField(
        label=_("Nomor permintaan yang ditolak"), max_length=40,
        help_text=_("Tertera di pesan penolakan kami, mis. DSR-2026-000123."),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
        error_messages={"required": _("Tulis nomor permintaan yang ditolak, mis. DSR-2026-000123.")},
    )
    purposes = PurposesField(
        queryset=Purpose.objects.none(), error_messages={"required": _("Pilih paling sedikit satu tujuan pemrosesan.")},
    )
    details = forms.CharField(required=False, max_length=4000, widget=TextArea(rows=4))
    website = forms.CharField(
        label=_("Biarkan kolom ini kosong"), required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    # Fields only some rights have.
    ONLY_FOR = {
        "wrong_data": {Right.CORRECTION},
        "correct_data": {Right.CORRECTION},
        "reason": {Right.DELETION, Right.RESTRICTION},
        "appeal_reference": {Right.APPEAL},
        "purposes": set(LEDGER_RIGHTS),
    }
    # The groups of the page, in order (the template renders them as fieldsets).
    WHO = ("subject_role", "shop_name")
    REPRESENTATIVE = ("is_representative", "subject_name", "authorisation")
    CONTACT = ("requester_name", "email", "phone")
    ASK = ("purposes", "appeal_reference", "wrong_data", "correct_data", "reason", "details")
    # Labelled "not required" (the others are required, or required in a case their hint names).
    OPTIONAL = ("reason", "details")

    def __init__(self, *args, right: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.right = right
        for name, rights in self.ONLY_FOR.items():
            if right not in rights:
                del self.fields[name]
        for name in self.OPTIONAL:
            if name in self.fields:
                self.fields[name].optional_marker = True
        if "purposes" in self.fields:
            field = self.fields["purposes"]
            field.queryset = Purpose.objects.filter(basis__in=purpose_bases_for(right)).order_by("number")
            field.label, field.help_text = PURPOSES_TEXT[right]
        label, hint = DETAILS_TEXT[right]
        self.fields["details"].label, self.fields["details"].help_text = label, hint
        channel = PHONE_CHANNEL_NAMES.get(settings.PHONE_MESSAGE_CHANNEL, settings.PHONE_MESSAGE_CHANNEL)
        self.fields["phone"].help_text = _("Contoh: 0812 3456 7890. Kode dikirim lewat %(channel)s.") % {"channel": channel}
        # The signed key this page carries: the one posted, if it is genuine, else a new one.
        posted = self.data.get("submission_key", "") if self.is_bound else ""
        self.submission_key = read_submission_key(posted)
        self.signed_submission_key = posted if self.submission_key else new_submission_key()

    def groups(self) -> list[list]:
        """The bound fields of each group of the page, those this right has."""
        return [
            [self[name] for name in group if name in self.fields]
            for group in (self.WHO, self.REPRESENTATIVE, self.CONTACT, self.ASK)
        ]

    @property
    def honeypot_filled(self) -> bool:
        return bool(self.data.get(HONEYPOT_FIELD, "").strip()) if self.is_bound else False

    @property
    def representative_open(self) -> bool:
        """Show the representative's part opened (it was ticked, or has an error)."""
        if not self.is_bound:
            return False
        return self.data.get("is_representative") in ("on", "true", "1") or any(
            self[name].errors for name in self.REPRESENTATIVE
        )

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        if email and normalize_email(email) is None:
            raise ValidationError(_("Alamat e-mail tidak valid."))
        return email

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        if phone and normalize_phone(phone) is None:
            raise ValidationError(_("Nomor telepon tidak valid. Contoh: 0812 3456 7890."))
        return phone

    def clean_authorisation(self):
        return read_upload(self.cleaned_data.get("authorisation"))

    def clean(self):
        cleaned = super().clean()
        # The rules of a request are the service's: asked here too, so that the page shows every
        # problem at once (the service asks again when the request is made).
        given = self.submission()
        given.pop("submission_key")
        given.pop("purposes")  # checked by the field: only those this right may name are offered
        try:
            request_validate(**given)
        except ValidationError as error:
            self.add_service_errors(error, skip_fields_with_errors=True)
        if self.submission_key is None:
            raise ValidationError(
                _("Formulir ini sudah terlalu lama terbuka atau tidak lengkap. Periksa isinya, lalu kirim sekali lagi."),
                code="submission_key",
            )
        return cleaned

    def addresses(self) -> list[str]:
        """The addresses given, normalised: what the per-address rate limit counts."""
        found = []
        if email := normalize_email(self.cleaned_data.get("email")):
            found.append("email:" + email)
        if phone := normalize_phone(self.cleaned_data.get("phone")):
            found.append("phone:" + phone)
        return found

    def submission(self) -> dict:
        """The arguments of services.request_submit (but the language)."""
        data = self.cleaned_data
        return {
            "submission_key": self.submission_key,
            "authorisation": data.get("authorisation") if data.get("is_representative") else None,
            "right": self.right,
            "subject_role": data.get("subject_role", ""),
            "requester_name": data.get("requester_name", ""),
            "email": data.get("email", ""),
            "phone": data.get("phone", ""),
            "shop_name": data.get("shop_name", ""),
            "is_representative": bool(data.get("is_representative")),
            "subject_name": data.get("subject_name", "") if data.get("is_representative") else "",
            "details": data.get("details", ""),
            "wrong_data": data.get("wrong_data", ""),
            "correct_data": data.get("correct_data", ""),
            "reason": data.get("reason", ""),
            "appeal_reference": data.get("appeal_reference", ""),
            "purposes": list(data.get("purposes") or ()),
        }

    def add_service_errors(self, error: ValidationError, *, skip_fields_with_errors: bool = False) -> None:
        """Put a service's field errors on the fields of this form (the rest at the top).

        `skip_fields_with_errors`: a field the form already found wrong keeps the form's message
        (the service would only say it again in other words, or about the blank left behind).
        """
        for field, messages in error.message_dict.items():
            target = field if field in self.fields else None
            if skip_fields_with_errors and (target is None or field in self.errors):
                continue
            for message in messages:
                if message not in self.errors.get(target or "__all__", []):
                    self.add_error(target, message)


class CodeForm(forms.Form):
    via = forms.ChoiceField(choices=[("email", "e-mail"), ("sms", "SMS"), ("whatsapp", "WhatsApp")])
    code = forms.CharField(
        label=_("Kode 6 angka"), max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9 ]*"}),
        error_messages={"required": _("Tulis kode yang kami kirim.")},
    )


class ResendForm(forms.Form):
    via = forms.ChoiceField(choices=[("email", "e-mail"), ("sms", "SMS"), ("whatsapp", "WhatsApp")])


class AnswerForm(forms.Form):
    text = forms.CharField(label=_("Jawaban Anda"), required=False, max_length=8000, widget=TextArea(rows=5))
    attachment = forms.FileField(
        label=_("Lampiran"), required=False, help_text=_("Tidak wajib. PDF, PNG atau JPEG, paling besar 5 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED_FILES}),
    )

    def clean_attachment(self):
        return read_upload(self.cleaned_data.get("attachment"))


class WithdrawForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Ya, saya ingin membatalkan permintaan ini. Pembatalan tidak dapat diurungkan."),
        error_messages={"required": _("Centang kotak konfirmasi untuk membatalkan permintaan.")},
    )
