"""The officers' small forms: one per transition, the entry of a request that came by e-mail or
WhatsApp, and the audit export's period. None of them writes a row: the admin hands what they
cleaned to a service."""

from __future__ import annotations

from datetime import date

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ..models import Channel, DataSubjectRequest, RefusalReason, parse_reference
from ..selectors import officers
from ..services import Upload, request_validate
from ..services.intake import MAX_ATTACHMENT_BYTES
from ..services.workflow import ASK_REASON_RIGHTS

TEXTAREA = {"rows": 4, "cols": 60}


class OfficerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        full = user.get_full_name()
        return f"{full} ({user.get_username()})" if full else user.get_username()


class ActionForm(forms.Form):
    """A transition's form: built for one request and the officer acting on it."""

    def __init__(self, *args, request: DataSubjectRequest, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.dsr, self.user = request, user


class AssignForm(ActionForm):
    assignee = OfficerChoiceField(label=_("Petugas"), queryset=None, empty_label=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = officers()
        self.fields["assignee"].initial = self.user.pk

    def service_kwargs(self):
        return {"assignee": self.cleaned_data["assignee"]}


class AskForm(ActionForm):
    about = forms.ChoiceField(
        label=_("Yang ditanyakan"),
        choices=[("information", _("Informasi tambahan")), ("reason", _("Alasan permintaan"))],
        widget=forms.RadioSelect, initial="information",
    )
    question = forms.CharField(
        label=_("Pertanyaan untuk pemohon"), widget=forms.Textarea(attrs=TEXTAREA),
        help_text=_("Dikirim kepada pemohon; tenggat berhenti berjalan sampai pemohon menjawab."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.dsr.right not in ASK_REASON_RIGHTS:
            # The policy allows asking the reason only of a correction or a deletion.
            self.fields["about"].choices = [("information", _("Informasi tambahan"))]

    def service_kwargs(self):
        return {"about": self.cleaned_data["about"], "question": self.cleaned_data["question"]}


class ExtendForm(ActionForm):
    reason = forms.CharField(
        label=_("Alasan perpanjangan"), widget=forms.Textarea(attrs=TEXTAREA),
        help_text=_("Disampaikan kepada pemohon. Tenggat hanya dapat diperpanjang satu kali."),
    )

    def service_kwargs(self):
        return {"reason": self.cleaned_data["reason"]}


class RefuseForm(ActionForm):
    reason = forms.ChoiceField(label=_("Alasan penolakan"), choices=RefusalReason.choices)
    text = forms.CharField(
        label=_("Penjelasan untuk pemohon"), widget=forms.Textarea(attrs=TEXTAREA),
        help_text=_("Dikirim kepada pemohon, yang dapat mengajukan banding."),
    )

    def service_kwargs(self):
        return {"reason": self.cleaned_data["reason"], "text": self.cleaned_data["text"]}


class NoteForm(ActionForm):
    note = forms.CharField(
        label=_("Catatan"), required=False, widget=forms.Textarea(attrs=TEXTAREA),
        help_text=_("Tercatat di jejak audit; tidak dikirim kepada pemohon."),
    )

    def service_kwargs(self):
        return {"note": self.cleaned_data["note"]}


class DuplicateForm(ActionForm):
    original = forms.CharField(
        label=_("Nomor permintaan asli"), max_length=40,
        help_text=_("Permintaan yang masih terbuka dari orang yang sama untuk hak yang sama, mis. DSR-2026-000123."),
    )

    def clean_original(self):
        pk = parse_reference(self.cleaned_data["original"])
        if pk is None:
            raise ValidationError(_("Tulis nomor permintaan, mis. DSR-2026-000123."))
        return pk

    def service_kwargs(self):
        return {"original_id": self.cleaned_data["original"]}


class EnterForm(forms.ModelForm):
    """A request that came by e-mail or WhatsApp, as the officer received it.

    Validated by the service's own validator (the same normalisation as the public form); the
    admin then calls `request_enter`, which writes the request, its first event and the message
    to the requester. The model instance is never built from this form.
    """

    channel = forms.ChoiceField(
        label=_("Saluran asal"), choices=[(Channel.EMAIL, Channel.EMAIL.label), (Channel.WHATSAPP, Channel.WHATSAPP.label)],
    )
    language = forms.ChoiceField(label=_("Bahasa pemohon"), choices=settings.LANGUAGES, initial="id")
    appeal_reference = forms.CharField(
        label=_("Nomor permintaan yang ditolak (banding)"), required=False, max_length=40,
        help_text=_("Hanya untuk banding, mis. DSR-2026-000123."),
    )
    authorisation = forms.FileField(
        label=_("Surat kuasa"), required=False,
        help_text=_("PDF, PNG atau JPEG, paling besar 5 MB, jika diajukan oleh kuasa."),
    )
    note = forms.CharField(
        label=_("Catatan petugas"), required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("Tercatat di jejak audit; tidak dikirim kepada pemohon."),
    )

    class Meta:
        model = DataSubjectRequest
        fields = (
            "channel", "original_message", "identity_method", "right", "jurisdiction", "language", "subject_role",
            "shop_name", "requester_name", "is_representative", "subject_name", "email", "phone", "details",
            "wrong_data", "correct_data", "reason",
        )
        widgets = {
            "original_message": forms.Textarea(attrs={"rows": 6, "cols": 60}),
            "identity_method": forms.Textarea(attrs={"rows": 3, "cols": 60}),
            **{name: forms.Textarea(attrs={"rows": 3, "cols": 60})
               for name in ("details", "wrong_data", "correct_data", "reason")},
        }
        help_texts = {
            "original_message": _("Tempel pesan pemohon apa adanya (e-mail atau WhatsApp)."),
            "identity_method": _("Mis. nomor WhatsApp sama dengan nomor pemilik yang terdaftar; dicek dengan panggilan balik."),
            "phone": _("Mis. 0812 3456 7890; disimpan dalam format +62."),
        }

    SERVICE_FIELDS = Meta.fields + ("appeal_reference",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("original_message", "identity_method"):
            self.fields[name].required = True
        self.fields["email"].required = self.fields["phone"].required = False

    def clean_authorisation(self):
        upload = self.cleaned_data.get("authorisation")
        if upload is None:
            return None
        if upload.size > MAX_ATTACHMENT_BYTES:
            raise ValidationError(_("Berkas terlalu besar: paling besar 5 MB."))
        return Upload(filename=upload.name, content=upload.read())

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            request_validate(authorisation=data.get("authorisation"), **self.service_kwargs())
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        return data

    def _post_clean(self):
        # The service validates and normalises; the model instance is not built from the form.
        pass

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {name: data.get(name) if name == "is_representative" else (data.get(name) or "")
                for name in self.SERVICE_FIELDS}


class ExportForm(forms.Form):
    """The period of an audit export: dates in Asia/Jakarta, both days included."""

    start = forms.DateField(label=_("Dari tanggal"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("Sampai tanggal"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise ValidationError(_("Tanggal awal harus sebelum atau sama dengan tanggal akhir."))
        return data

    @staticmethod
    def this_month(today: date) -> dict:
        return {"start": today.replace(day=1).isoformat(), "end": today.isoformat()}


ACTION_FORMS = {
    "assign": AssignForm,
    "ask": AskForm,
    "extend": ExtendForm,
    "refuse": RefuseForm,
    "propose": NoteForm,
    "approve": NoteForm,
    "duplicate": DuplicateForm,
}
