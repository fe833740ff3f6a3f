"""Officers' admin for retention: rules, legal holds, purge schedules, erasure runs, churn.

Every change goes through retention.services (holds placed and lifted, churn recorded, a
failed purge retried); destructive actions ask for confirmation and check the permission.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from junoprivacy.admin_tools import ReadOnlyAdminMixin, confirm_action, is_confirmed
from junoprivacy.pagination import EstimatedCountPaginator

from . import services
from .exceptions import RetentionError
from .models import ChurnEvent, ErasureRun, LegalHold, PurgeSchedule, PurgeWarning, RetentionRule
from .selectors import purge_timeline


@admin.register(RetentionRule)
class RetentionRuleAdmin(SimpleHistoryAdmin):
    """Retention rules are data a lawyer corrects; the data map names them by `key`.

    They are seeded by a migration and referenced by key, so they are neither added nor
    deleted here, and the key never changes once set.
    """

    list_display = ("key", "title", "legal_basis", "period_display", "trigger", "action", "updated_at")
    list_filter = ("action", "trigger")
    search_fields = ("key", "title", "legal_basis")
    fields = (
        "key", "title", "legal_basis", "trigger", "period", "unit", "from_end_of_financial_year", "action",
        "warning_days", "notes",
        "updated_at",
    )

    @admin.display(description=RetentionRule._meta.get_field("period").verbose_name, ordering="period")
    def period_display(self, obj):
        return obj.period_display

    def get_readonly_fields(self, request, obj=None):
        return ("key", "updated_at") if obj is not None else ("updated_at",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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


class ChurnForm(forms.Form):
    merchant = forms.IntegerField(label=_("ID merchant"), min_value=1)
    churned_at = forms.DateTimeField(label=_("Berhenti pada"), required=False, help_text=_("Kosongkan untuk sekarang."))


def _delivery(warning: PurgeWarning) -> str:
    message = warning.message
    if message is None:
        return str(_("tanpa alamat, dicatat %(at)s") % {"at": timezone.localtime(warning.created_at).strftime("%Y-%m-%d %H:%M")})
    when = message.sent_at or message.created_at
    return f"{message.get_state_display()} {timezone.localtime(when):%Y-%m-%d %H:%M}"


class PurgeWarningInline(admin.TabularInline):
    """Each warning with its delivery: to whom (a keyed hash after the purge), when, outcome."""

    model = PurgeWarning
    fields = ("days", "created_at", "recipient", "delivery", "attempts", "last_error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("message")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("penerima"))
    def recipient(self, obj):
        return obj.message.to_email if obj.message else "-"

    @admin.display(description=_("hasil pengiriman"))
    def delivery(self, obj):
        return _delivery(obj)

    @admin.display(description=_("percobaan"))
    def attempts(self, obj):
        return obj.message.attempts if obj.message else 0

    @admin.display(description=_("galat terakhir"))
    def last_error(self, obj):
        return obj.message.last_error if obj.message else ""


@admin.register(PurgeSchedule)
class PurgeScheduleAdmin(admin.ModelAdmin):
    """Churned merchants and their purge: due date, warnings, state. Changes go through services."""

    list_display = ("merchant_id", "merchant_name", "state", "churned_at", "due_display", "warnings_display", "purged_at")
    list_select_related = ("merchant", "rule")
    inlines = (PurgeWarningInline,)
    list_filter = ("state", "due_at")
    search_fields = ("=merchant__id", "merchant__business_name")
    ordering = ("due_at",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    actions = ("dry_run", "reactivate")
    readonly_fields = ("merchant", "rule", "churned_at", "due_at", "not_before", "state", "purged_at", "updated_at")
    change_list_template = "admin/retention/purgeschedule/change_list.html"

    @admin.display(description=_("nama usaha"), ordering="merchant__business_name")
    def merchant_name(self, obj):
        return obj.merchant.business_name

    @admin.display(description=_("jatuh tempo"), ordering="due_at")
    def due_display(self, obj):
        """The rule's due date, and when the purge may really start (after its warnings): red when
        that moment has passed and the schedule still waits."""
        local = timezone.localtime(obj.due_at).strftime("%Y-%m-%d %H:%M")
        if obj.state != PurgeSchedule.State.SCHEDULED:
            return local
        not_before = purge_timeline(obj, now=timezone.now()).not_before
        if not_before is None:
            return format_html("{}<br><small>{}</small>", local, _("menunggu peringatan"))
        if not_before <= timezone.now():
            return format_html('<strong style="color:#ba2121">{}</strong>', local)
        if not_before > obj.due_at:
            return format_html("{}<br><small>{} {}</small>", local, _("paling cepat"),
                               timezone.localtime(not_before).strftime("%Y-%m-%d %H:%M"))
        return local

    @admin.display(description=_("dapat dihapus paling cepat"))
    def not_before(self, obj):
        when = purge_timeline(obj, now=timezone.now()).not_before
        if when is None:
            return _("menunggu peringatan 14 dan 3 hari terkirim")
        return timezone.localtime(when).strftime("%Y-%m-%d %H:%M")

    @admin.display(description=_("peringatan"))
    def warnings_display(self, obj):
        # Prefetched with their messages (get_queryset): no query per row.
        given = [w for w in obj.warnings.all() if w.created_at >= obj.churned_at]
        return format_html_join(mark_safe("<br>"), "H-{}: {}", ((w.days, _delivery(w)) for w in given)) or "-"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("warnings__message")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # read-only: churn, reactivation and dry runs go through services

    def has_record_churn_permission(self, request):
        return request.user.has_perm("retention.record_churn")

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_churn": request.user.has_perm("retention.record_churn")}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path("churn/", self.admin_site.admin_view(self.churn_view), name="retention_purgeschedule_churn"),
        ] + super().get_urls()

    def churn_view(self, request):
        if not request.user.has_perm("retention.record_churn"):
            raise PermissionDenied
        form = ChurnForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                schedule = services.merchant_churn(
                    merchant_id=form.cleaned_data["merchant"], churned_at=form.cleaned_data["churned_at"],
                    source=ChurnEvent.Source.ADMIN, actor=request.user,
                )
            except RetentionError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(
                    request,
                    _("Merchant %(id)s dicatat berhenti; penghapusan jatuh tempo %(due)s.")
                    % {"id": schedule.merchant_id, "due": timezone.localtime(schedule.due_at).strftime("%Y-%m-%d %H:%M")},
                    messages.SUCCESS,
                )
                return redirect("admin:retention_purgeschedule_changelist")
        context = {**self.admin_site.each_context(request), "title": _("Catat merchant berhenti"), "form": form,
                   "opts": self.model._meta}
        return TemplateResponse(request, "admin/retention/purgeschedule/churn.html", context)

    @admin.action(description=_("Uji coba penghapusan (hitung saja, tanpa mengubah data)"), permissions=["view"])
    def dry_run(self, request, queryset):
        for schedule in queryset:
            run = services.merchant_purge_dry_run(merchant_id=schedule.merchant_id, actor=request.user)
            self.message_user(
                request,
                format_html(
                    _('Merchant {}: <a href="{}">uji coba #{}</a>, {} baris akan dihapus atau dianonimkan.'),
                    schedule.merchant_id, reverse("admin:retention_erasurerun_change", args=[run.pk]), run.pk,
                    run.rows_total,
                ),
            )

    @admin.action(description=_("Merchant aktif kembali (batalkan penghapusan)"), permissions=["record_churn"])
    def reactivate(self, request, queryset):
        if not is_confirmed(request):
            return confirm_action(
                self, request, queryset, title=_("Batalkan penghapusan?"), action="reactivate",
                question=_("Merchant berikut dicatat aktif kembali dan penghapusannya dibatalkan."),
                objects=[f"{s.merchant_id} {s.merchant.business_name}" for s in queryset.select_related("merchant")],
            )
        for schedule in queryset:
            try:
                services.merchant_reactivate(merchant_id=schedule.merchant_id, source=ChurnEvent.Source.ADMIN, actor=request.user)
            except RetentionError as exc:
                self.message_user(request, f"{schedule.merchant_id}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, _("Merchant %(id)s aktif kembali.") % {"id": schedule.merchant_id})


class RunStateFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return ErasureRun.State.choices

    def queryset(self, request, queryset):
        return queryset.filter(state=self.value()) if self.value() else queryset


@admin.register(ErasureRun)
class ErasureRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The proof of every erasure: progress while it runs, counts when done, failures to retry."""

    list_display = ("id", "kind", "state_display", "merchant_ref", "rule", "dry_run", "progress", "started_at", "finished_at", "why")
    list_select_related = ("rule",)
    list_filter = (RunStateFilter, "kind", "dry_run")
    search_fields = ("=merchant_ref",)
    ordering = ("-created_at",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    actions = ("retry",)
    fields = (
        "kind", "state", "dry_run", "merchant_ref", "rule", "requested_by", "retry_of", "created_at", "started_at",
        "heartbeat_at", "finished_at", "attempts", "progress", "counts_table", "subject_hashes_display", "stop_reason", "error",
    )
    readonly_fields = fields
    change_form_template = "admin/retention/erasurerun/change_form.html"

    STATE_COLOURS = {"failed": "#ba2121", "stopped": "#b36b00", "running": "#205493", "completed": "#2e7d32"}

    @admin.display(description=_("status"), ordering="state")
    def state_display(self, obj):
        return format_html('<span style="color:{}">{}</span>', self.STATE_COLOURS.get(obj.state, "inherit"), obj.get_state_display())

    @admin.display(description=_("kemajuan"))
    def progress(self, obj):
        percent = obj.progress_percent
        return format_html(
            '<progress value="{}" max="100" title="{} / {}"></progress> {}% ({} / {})',
            percent, obj.rows_done, obj.rows_total, percent, obj.rows_done, obj.rows_total,
        )

    @admin.display(description=_("alasan / galat"))
    def why(self, obj):
        text = obj.error or obj.stop_reason
        return text if len(text) <= 80 else text[:77] + "..."

    @admin.display(description=_("jumlah per tabel"))
    def counts_table(self, obj):
        rows = [(t, a, n) for t, actions in sorted(obj.counts.items()) for a, n in sorted(actions.items())]
        if not rows:
            return "-"
        body = "".join(
            format_html("<tr><td>{}</td><td>{}</td><td style='text-align:right'>{}</td></tr>", t, a, n) for t, a, n in rows
        )
        return format_html("<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
                           _("tabel"), _("tindakan"), _("jumlah"), format_html(body))

    @admin.display(description=_("pseudonim pengenal"))
    def subject_hashes_display(self, obj):
        return json.dumps(obj.subject_hashes, indent=1) if obj.subject_hashes else "-"

    @admin.action(description=_("Ulangi penghapusan yang gagal"), permissions=["retry"])
    def retry(self, request, queryset):
        failed = queryset.filter(state=ErasureRun.State.FAILED, kind=ErasureRun.Kind.MERCHANT_PURGE)
        if not is_confirmed(request):
            return confirm_action(
                self, request, failed, title=_("Ulangi penghapusan?"), action="retry",
                question=_("Penghapusan merchant berikut diantrikan lagi dan dilanjutkan dari titik terakhir."),
                objects=[f"#{r.pk} merchant {r.merchant_ref}: {r.error}" for r in failed],
            )
        for run in failed:
            try:
                retry = services.purge_retry(run_id=run.pk, actor=request.user)
            except RetentionError as exc:
                self.message_user(request, f"#{run.pk}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, _("Penghapusan #%(old)s diulang sebagai #%(new)s.") % {"old": run.pk, "new": retry.pk})

    def has_retry_permission(self, request):
        return request.user.has_perm("retention.retry_erasurerun")


@admin.register(ChurnEvent)
class ChurnEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("merchant_id", "kind", "at", "source", "actor", "recorded_at")
    list_select_related = ("actor",)
    list_filter = ("kind", "source")
    search_fields = ("=merchant__id",)
    date_hierarchy = "recorded_at"
    paginator = EstimatedCountPaginator
    show_full_result_count = False
