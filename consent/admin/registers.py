"""The register of recipients (kept by officers, with history) and of disclosures (read-only)."""

import re

from django import forms
from django.contrib import admin
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from junoprivacy.admin_tools import ReadOnlyAdminMixin
from junoprivacy.pagination import EstimatedCountPaginator
from retention.registry import Category

from ..models import Disclosure, Purpose, Recipient
from ..services import recipient_save
from .common import SubjectSearchMixin, categories_label, wib

COUNTRY = re.compile(r"^[A-Z]{2}$")


class RecipientForm(forms.ModelForm):
    categories = forms.MultipleChoiceField(
        label=_("kategori data yang diterima"), choices=Category.choices, widget=forms.CheckboxSelectMultiple,
    )
    purposes = forms.ModelMultipleChoiceField(
        label=_("tujuan"), queryset=Purpose.objects.order_by("number"), widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Recipient
        fields = ("name", "kind", "country", "categories", "purposes", "erasure_contact", "description", "active")

    def clean_country(self):
        country = (self.cleaned_data.get("country") or "").strip().upper()
        if not COUNTRY.match(country):
            raise forms.ValidationError(_("Tulis kode negara ISO 3166 dua huruf, mis. ID, SG, US."))
        return country


class AbroadFilter(admin.SimpleListFilter):
    title = _("di luar negeri")
    parameter_name = "abroad"

    def lookups(self, request, model_admin):
        return (("yes", _("ya")), ("no", _("tidak")))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(country="ID")
        if self.value() == "no":
            return queryset.filter(country="ID")
        return queryset


@admin.register(Recipient)
class RecipientAdmin(SimpleHistoryAdmin):
    """Who may receive personal data, for which purposes and categories. A recipient with
    disclosures is never deleted (the register is evidence): it is made inactive."""

    form = RecipientForm
    list_display = ("name", "kind", "country", "abroad_display", "categories_display", "purposes_display", "active",
                    "disclosure_count")
    list_filter = ("kind", "active", AbroadFilter)
    search_fields = ("name",)
    ordering = ("name",)
    actions = None

    class Media:
        css = {"all": ("admin/consent.css",)}

    def save_model(self, request, obj, form, change):
        recipient_save(recipient=obj, actor=request.user)

    def get_queryset(self, request):
        # A correlated count per recipient on the page (index disclosure_recipient_time), not a
        # GROUP BY over the whole register of disclosures.
        counted = (
            Disclosure.objects.filter(recipient=OuterRef("pk")).order_by().values("recipient")
            .annotate(n=Count("pk")).values("n")
        )
        return (
            super().get_queryset(request).annotate(disclosures_n=Coalesce(Subquery(counted), 0))
            .prefetch_related("purposes")
        )

    @admin.display(description=_("di luar negeri"), boolean=True)
    def abroad_display(self, obj):
        return obj.abroad

    @admin.display(description=_("kategori data"))
    def categories_display(self, obj):
        return categories_label(obj.categories)

    @admin.display(description=_("tujuan"))
    def purposes_display(self, obj):
        return ", ".join(str(p.number) for p in sorted(obj.purposes.all(), key=lambda p: p.number)) or "-"

    @admin.display(description=_("pengungkapan"), ordering="disclosures_n")
    def disclosure_count(self, obj):
        return obj.disclosures_n

    def has_delete_permission(self, request, obj=None):
        return False


class RefusedFilter(admin.SimpleListFilter):
    title = _("alasan penolakan")
    parameter_name = "refusal"

    def lookups(self, request, model_admin):
        return Disclosure.Refusal.choices

    def queryset(self, request, queryset):
        return queryset.filter(refusal=self.value()) if self.value() else queryset


@admin.register(Disclosure)
class DisclosureAdmin(SubjectSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every disclosure JUNOPOS reported, allowed or refused with its reason (written by
    consent.services.disclosure_record only)."""

    list_display = ("id", "occurred_display", "recipient", "purpose_number", "outcome", "refusal_display",
                    "subject_display", "categories_display", "transfer_abroad")
    list_select_related = ("recipient", "purpose")
    list_filter = ("outcome", RefusedFilter, "recipient", "purpose", "transfer_abroad")
    search_fields = ("=email",)  # shows the box; SubjectSearchMixin searches (exact, indexed)
    ordering = ("-occurred_at", "-id")
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = None
    fields = ("recipient", "purpose", "basis", "outcome", "refusal_display", "merchant_id", "email", "phone",
              "categories_display", "transfer_abroad", "occurred_display", "recorded_display", "client", "entered_by",
              "reference")
    readonly_fields = fields

    class Media:
        css = {"all": ("admin/consent.css",)}

    @admin.display(description=_("waktu (WIB)"), ordering="occurred_at")
    def occurred_display(self, obj):
        return wib(obj.occurred_at)

    @admin.display(description=_("dicatat (WIB)"), ordering="recorded_at")
    def recorded_display(self, obj):
        return wib(obj.recorded_at)

    @admin.display(description=_("tujuan"), ordering="purpose__number")
    def purpose_number(self, obj):
        return str(obj.purpose)

    @admin.display(description=_("alasan penolakan"))
    def refusal_display(self, obj):
        return obj.get_refusal_display() if obj.refusal else "-"

    @admin.display(description=_("subjek"))
    def subject_display(self, obj):
        parts = [v for v in (obj.email, obj.phone) if v]
        if obj.merchant_id:
            parts.append(f"merchant {obj.merchant_id}")
        return "; ".join(parts) or "-"

    @admin.display(description=_("kategori data"))
    def categories_display(self, obj):
        return categories_label(obj.categories)
