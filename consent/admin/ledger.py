"""The consent ledger (append-only: read here, entered only through consent_record) and its state."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant

from .. import services
from ..exceptions import ConsentError
from ..models import Action, Channel, ConsentEvent, ConsentState, PolicyVersion, Purpose
from ..services.ledger import consent_validate
from .common import SubjectSearchMixin, wib
from junoprivacy.pagination import EstimatedCountPaginator


class ConsentEntryForm(forms.Form):
    """An event an officer copies from a paper form or notes during a call (channel "admin")."""

    email = forms.CharField(label=_("e-mail subjek"), required=False, max_length=254)
    phone = forms.CharField(label=_("telepon subjek"), required=False, max_length=64)
    merchant = forms.IntegerField(
        label=_("ID merchant"), required=False, min_value=1,
        help_text=_("Untuk pelanggan sebuah merchant; kosongkan untuk persetujuan kepada JUNOPOS sendiri."),
    )
    purpose = forms.ModelChoiceField(label=_("tujuan"), queryset=Purpose.objects.order_by("number"))
    action = forms.ChoiceField(label=_("tindakan"), choices=Action.choices)
    occurred_at = forms.SplitDateTimeField(
        label=_("waktu kejadian (WIB)"), widget=admin.widgets.AdminSplitDateTime,
        help_text=_("Kapan subjek data menyatakannya (tanggal formulir atau panggilan)."),
    )
    policy_version = forms.ModelChoiceField(
        label=_("versi kebijakan"), required=False,
        queryset=PolicyVersion.objects.filter(published_at__isnull=False).order_by("-effective_at"),
    )
    text_shown = forms.CharField(
        label=_("teks yang ditampilkan atau dibacakan"), widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Kata-kata persis yang dilihat atau didengar subjek data."),
    )
    reference = forms.CharField(
        label=_("rujukan bukti"), max_length=64,
        help_text=_("Nomor formulir kertas, nomor rekaman panggilan, atau nomor permintaan."),
    )

    def __init__(self, *args, instance=None, **kwargs):
        # The admin's add view hands a form an instance; the event is built by the service.
        super().__init__(*args, **kwargs)
        self.instance = ConsentEvent()

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        merchant_id = data.get("merchant")
        if merchant_id is not None and not Merchant.objects.filter(pk=merchant_id).exists():
            self.add_error("merchant", _("Merchant tidak dikenal."))
            return data
        try:
            data["subject"] = services.subject_ref(
                email=data.get("email") or None, phone=data.get("phone") or None, merchant_id=merchant_id,
            )
            consent_validate(
                subject=data["subject"], purpose=data["purpose"], action=data["action"], channel=Channel.ADMIN,
                occurred_at=data["occurred_at"], policy_version=data.get("policy_version"),
                text_shown=data["text_shown"], reference=data["reference"],
            )
        except ConsentError as exc:
            field = exc.field if exc.field in self.fields else None
            raise ValidationError({field: exc.message} if field else exc.message) from None
        return data


class LedgerPaging:
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER


@admin.register(ConsentEvent)
class ConsentEventAdmin(LedgerPaging, SubjectSearchMixin, admin.ModelAdmin):
    """The ledger as stored: after an erasure its identifiers are keyed hashes, and so they show.
    Nobody changes or deletes an event (PostgreSQL refuses it as well); an officer with
    add_consentevent enters one through the service."""

    list_display = ("id", "occurred_display", "purpose", "action", "channel", "subject_display")
    list_select_related = ("purpose", "merchant")
    list_filter = ("purpose", "action", "channel")
    search_fields = ("=email",)  # shows the box; SubjectSearchMixin searches (exact, indexed)
    ordering = ("-id",)
    actions = None
    fields = ("merchant_display", "email", "phone", "purpose", "action", "policy_version", "channel",
              "occurred_display", "recorded_display", "ip_address", "user_agent", "text_shown", "entered_by",
              "client", "reference")
    readonly_fields = fields

    class Media:
        css = {"all": ("admin/consent.css",)}

    def get_queryset(self, request):
        # The merchant column shows its id and name only.
        return super().get_queryset(request).defer("text_shown", "user_agent").select_related(
            "purpose", "merchant", "policy_version", "entered_by", "client",
        ).defer(*[f"merchant__{f.name}" for f in Merchant._meta.concrete_fields if f.name not in ("id", "business_name")])

    @admin.display(description=_("waktu kejadian (WIB)"), ordering="occurred_at")
    def occurred_display(self, obj):
        return wib(obj.occurred_at)

    @admin.display(description=_("dicatat (WIB)"), ordering="recorded_at")
    def recorded_display(self, obj):
        return wib(obj.recorded_at)

    @admin.display(description=_("subjek (seperti tersimpan)"))
    def subject_display(self, obj):
        parts = [v for v in (obj.email, obj.phone) if v]
        if obj.merchant_id:
            parts.append(f"merchant {obj.merchant_id} ({obj.merchant.business_name})")
        return "; ".join(parts)

    @admin.display(description=_("merchant"))
    def merchant_display(self, obj):
        return f"{obj.merchant_id} ({obj.merchant.business_name})" if obj.merchant_id else "-"

    def has_add_permission(self, request):
        return request.user.has_perm("consent.add_consentevent")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            return ConsentEntryForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": list(ConsentEntryForm.base_fields)})]
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_changeform_initial_data(self, request):
        return {"occurred_at": timezone.localtime()}

    def save_form(self, request, form, change):
        if change:
            raise PermissionDenied
        return ConsentEvent()

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        event = services.consent_record(
            subject=data["subject"], purpose=data["purpose"], action=data["action"], channel=Channel.ADMIN,
            occurred_at=data["occurred_at"], policy_version=data.get("policy_version"), text_shown=data["text_shown"],
            reference=data["reference"], actor=request.user,
        )
        obj.pk, obj.purpose_id, obj.action = event.pk, event.purpose_id, event.action

    def save_related(self, request, form, formsets, change):
        pass


@admin.register(ConsentState)
class ConsentStateAdmin(LedgerPaging, SubjectSearchMixin, admin.ModelAdmin):
    """The ledger's present per identifier, merchant and purpose (what "may we?" reads)."""

    list_display = ("identifier", "merchant_id", "purpose", "consented", "consent_display", "restricted",
                    "restriction_display", "evidence")
    list_select_related = ("purpose",)
    list_filter = ("purpose", "consented", "restricted")
    search_fields = ("=identifier",)
    subject_fields = ("identifier",)
    ordering = ("-id",)
    actions = None

    @admin.display(description=_("keputusan terakhir (WIB)"), ordering="consent_at")
    def consent_display(self, obj):
        return wib(obj.consent_at)

    @admin.display(description=_("pembatasan sejak (WIB)"), ordering="restriction_at")
    def restriction_display(self, obj):
        return wib(obj.restriction_at)

    @admin.display(description=_("peristiwa bukti"))
    def evidence(self, obj):
        ids = [i for i in (obj.consent_event_id, obj.restriction_event_id) if i]
        return format_html_join(" ", '<a href="../consentevent/{}/change/">#{}</a>', ((i, i) for i in ids)) or "-"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
