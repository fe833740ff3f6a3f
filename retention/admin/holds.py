"""Legal holds: placed by an officer through the service, lifted by the DPO with a reason."""


from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin


from .. import services
from ..exceptions import RetentionError
from ..models import LegalHold


class ActiveHoldFilter(admin.SimpleListFilter):
    title = _("berlaku")
    parameter_name = "active"

    def lookups(self, request, model_admin):
        return (("yes", _("berlaku")), ("no", _("tidak berlaku")))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(LegalHold.active_q())
        if self.value() == "no":
            return queryset.exclude(LegalHold.active_q())
        return queryset


class HoldPlaceForm(forms.ModelForm):
    class Meta:
        model = LegalHold
        fields = ("merchant", "subject_email", "subject_phone", "reason", "detail", "ends_at")

    def clean(self):
        data = super().clean()
        merchant = data.get("merchant")
        try:
            data["normalised"] = services.hold_validate(
                reason=data.get("reason") or "", detail=data.get("detail") or "",
                merchant_id=merchant.pk if merchant else None, subject_email=data.get("subject_email") or "",
                subject_phone=data.get("subject_phone") or "", ends_at=data.get("ends_at"),
            )
        except RetentionError as exc:
            raise ValidationError(exc.message) from None
        return data

    def _post_clean(self):
        # The service validates and normalises; the model instance is not built from the form.
        pass


class HoldLiftForm(forms.Form):
    reason = forms.CharField(label=_("Alasan pencabutan"), widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(LegalHold)
class LegalHoldAdmin(SimpleHistoryAdmin):
    """Officers place holds here; lifting asks for a reason and the lift permission (DPO)."""

    form = HoldPlaceForm
    list_display = ("id", "reason", "covers", "short_detail", "placed_by", "placed_at", "ends_at", "is_active_display", "lifted_at")
    list_select_related = ("merchant", "placed_by", "lifted_by")
    list_filter = (ActiveHoldFilter, "reason", "placed_at")
    search_fields = ("=subject_email", "=subject_phone", "detail", "merchant__business_name")
    raw_id_fields = ("merchant",)
    date_hierarchy = "placed_at"
    change_form_template = "admin/retention/legalhold/change_form.html"

    @admin.display(description=_("mencakup"))
    def covers(self, obj):
        parts = []
        if obj.merchant_id:
            parts.append(f"{_('merchant')} {obj.merchant_id} ({obj.merchant.business_name})")
        parts += [v for v in (obj.subject_email, obj.subject_phone) if v]
        return "; ".join(parts)

    @admin.display(description=_("keterangan"))
    def short_detail(self, obj):
        return obj.detail if len(obj.detail) <= 60 else obj.detail[:57] + "..."

    @admin.display(description=_("berlaku"), boolean=True)
    def is_active_display(self, obj):
        return obj.is_active

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("merchant", "subject_email", "subject_phone", "reason", "detail", "ends_at", "placed_by", "placed_at",
                "lifted_by", "lifted_at", "lift_reason")

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj) or HoldPlaceForm.Meta.fields

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return request.user.has_perm("retention.place_legalhold")

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied
        hold = services.hold_place(actor=request.user, **form.cleaned_data["normalised"])
        obj.pk = hold.pk
        obj.placed_at = hold.placed_at

    def get_urls(self):
        return [
            path("<int:hold_id>/lift/", self.admin_site.admin_view(self.lift_view), name="retention_legalhold_lift"),
        ] + super().get_urls()

    def lift_view(self, request, hold_id):
        hold = get_object_or_404(LegalHold.objects.select_related("merchant"), pk=hold_id)
        if not request.user.has_perm("retention.lift_legalhold"):
            raise PermissionDenied
        form = HoldLiftForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.hold_lift(hold_id=hold.pk, actor=request.user, reason=form.cleaned_data["reason"])
            except RetentionError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, _("Penahanan dicabut."), messages.SUCCESS)
                return redirect("admin:retention_legalhold_change", hold.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Cabut penahanan hukum"),
            "hold": hold,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/retention/legalhold/lift.html", context)
